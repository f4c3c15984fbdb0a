"""Only JSON is scored, and only JSON that says one thing (an ASGI middleware).

BentoML parses a request body by what the body looks like, not by its ``Content-Type``: a JSON
text posted as ``text/plain``, ``application/xml``, ``application/octet-stream`` or with no
type at all was scored, and a form type (``multipart/form-data``,
``application/x-www-form-urlencoded``) went to Starlette's form parser, whose failure the
framework answered with 500. Every POST whose media type is not ``application/json`` is
answered 415 before any parsing.

A JSON object that repeats a key (two ``as_of``) is valid JSON whose meaning depends on the
parser: Python keeps the last value, other systems the first, so the bank's system and this
service could read different requests from the same bytes. Such a body is answered 400,
naming the key and where it repeats (keys are field names, never record values). A body that is
not JSON at all is left to the framework, which names the parse error.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from serving.asgi import Receive, Scope, Send, send_error

#: The media type every POST must carry (parameters such as ``charset`` are allowed).
JSON_TYPE = "application/json"


class DuplicateKeyError(ValueError):
    """A JSON object names one key twice; the message names the key."""


def media_type(scope: Scope) -> str:
    """The request's media type, lower case, without parameters ("" if none)."""
    for name, value in scope.get("headers") or []:
        if name == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            shown = key if len(key) <= 40 and key.isprintable() else "a key"
            raise DuplicateKeyError(f"the JSON body names {shown!r} more than once in one object")
        seen.add(key)
    return dict(pairs)


def duplicate_key_problem(body: bytes) -> str | None:
    """What repeats in ``body``, or None (also for a body that is not JSON: the framework
    reports that itself)."""
    try:
        json.loads(body, object_pairs_hook=_unique_keys)
    except DuplicateKeyError as exc:
        return str(exc)
    except ValueError:  # not JSON (or not UTF-8): the framework's parser names it
        return None
    return None


class JsonBodyMiddleware:
    """415 for a POST that is not ``application/json``; 400 for JSON that repeats a key."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        kind = media_type(scope)
        if kind != JSON_TYPE:
            sent = f"Content-Type {kind}" if kind else "a body without a Content-Type"
            await send_error(send, 415, f"{sent} is not accepted: send {JSON_TYPE}")
            return
        messages, body = await _read_body(receive)
        problem = duplicate_key_problem(body)
        if problem is not None:
            await send_error(send, 400, problem)
            return
        await self.app(scope, _replay(messages, receive), send)


async def _read_body(receive: Receive) -> tuple[list[Any], bytes]:
    """Every message of the request body, and the body itself."""
    messages, chunks = [], []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":  # a disconnect: hand it on as it came
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks)


def _replay(messages: list[Any], receive: Receive) -> Receive:
    """A ``receive`` that gives the read messages again, then whatever follows."""
    pending = list(messages)

    async def replay() -> Any:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
