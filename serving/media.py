"""Refusing form bodies: every scoring endpoint takes JSON (an ASGI middleware).

BentoML hands a form ``Content-Type`` (``multipart/form-data``,
``application/x-www-form-urlencoded``) to Starlette's form parser inside its endpoint handler,
and a form that does not parse (a multipart without a boundary, or whose body is not multipart)
raises there; the framework answers such a client mistake with 500. Requests posting a form get
415 naming the media type to send instead, before any parsing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from serving.asgi import Receive, Scope, Send, send_error

#: Media types BentoML would parse as a form.
FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


def media_type(scope: Scope) -> str:
    """The request's media type, lower case, without parameters ("" if none)."""
    for name, value in scope.get("headers") or []:
        if name == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


class JsonBodyMiddleware:
    """Answer 415 to a POST whose body is a form."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        kind = media_type(scope)
        if kind not in FORM_TYPES:
            await self.app(scope, receive, send)
            return
        await send_error(send, 415, f"Content-Type {kind} is not accepted: send application/json")
