"""Every error answer in one shape, ``{"error": "..."}``, saying what the caller can do.

BentoML 1.4 answers the service's own refusals (400 for a request that cannot be scored, 409 for
a request id already recorded) with a one-element JSON *array* around that object, and replaces
the message of every 5xx with "An unexpected error has occurred". Its own OpenAPI document (and
``serving.openapi``) describe an object, and a 503 from a ledger outage is the one 5xx a caller
must act on (retry later; nothing was recorded). ``ErrorBodyMiddleware`` corrects both on the
way out; the specific cause of a 503 stays in the server log, not in the answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from serving.asgi import Receive, Scope, Send, rewrite_json_answer

#: What a caller of a scoring endpoint is told when the warning ledger cannot take its request.
LEDGER_UNAVAILABLE = (
    "the warning ledger could not record this request, so nothing was answered or recorded; "
    "retry later (the server log says why)"
)
#: Endpoints that answer only once their warnings are committed to the ledger.
LEDGER_PATHS = frozenset({"/score", "/score_features"})


def error_body(status: int, body: Any, path: str) -> Any:
    """The body the caller gets: a lone ``[{"error": ...}]`` unwrapped to the object, and the
    ledger's 503 on a scoring endpoint worded for the caller; anything else unchanged."""
    if (
        isinstance(body, list)
        and len(body) == 1
        and isinstance(body[0], dict)
        and "error" in body[0]
    ):
        body = body[0]
    if status == 503 and path in LEDGER_PATHS:
        return {"error": LEDGER_UNAVAILABLE}
    return body


class ErrorBodyMiddleware:
    """Answer every JSON error as ``error_body`` shapes it (successful answers untouched)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        await rewrite_json_answer(
            self.app,
            scope,
            receive,
            send,
            wanted=lambda status: status >= 400,
            rewrite=lambda status, body: error_body(status, body, path),
        )
