"""The ASGI pieces the service's own middlewares share: the callable types, a JSON refusal and
a JSON answer rewritten on its way out.

Some middlewares answer before the framework sees a request (401 without a key, 415 for a form
body), so they write the response themselves, in the framework's own error shape; others
complete or correct what the framework answers (``rewrite_json_answer``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def send_error(
    send: Send, status: int, message: str, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    """Answer ``{"error": message}`` with ``status``."""
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def rewrite_json_answer(
    app: Callable[..., Awaitable[None]],
    scope: Scope,
    receive: Receive,
    send: Send,
    wanted: Callable[[int], bool],
    rewrite: Callable[[int, Any], Any],
) -> None:
    """Run ``app``; a JSON answer whose status is ``wanted`` is held back whole, its decoded
    body replaced by ``rewrite(status, body)`` and sent with its length recomputed. Any other
    answer streams through untouched, and a body that is not JSON goes out as it came."""
    held: MutableMapping[str, Any] | None = None
    chunks: list[bytes] = []

    async def relay(message: MutableMapping[str, Any]) -> None:
        nonlocal held
        if message["type"] == "http.response.start":
            if wanted(int(message["status"])) and _is_json(message):
                held = message
                return
        elif message["type"] == "http.response.body" and held is not None:
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            with contextlib.suppress(ValueError):
                body = json.dumps(rewrite(int(held["status"]), json.loads(body))).encode()
            headers = [(k, v) for k, v in held.get("headers", []) if k != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**held, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await send(message)

    await app(scope, receive, relay)


def _is_json(start: MutableMapping[str, Any]) -> bool:
    return any(
        name == b"content-type" and value.split(b";")[0].strip().lower() == b"application/json"
        for name, value in start.get("headers", [])
    )
