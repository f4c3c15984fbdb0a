"""API-key check for the scoring endpoints (an ASGI middleware).

Keys come from the serving settings (``EWS_API_KEYS`` or the settings file) and are sent in the
``X-API-Key`` header. Probes (``/livez``, ``/readyz``, ``/healthz``, ``/metrics``), the OpenAPI
document (``/docs.json``) and the framework's page that shows it (``/``) stay open so
orchestrators and clients can find the service; every other path needs a valid key. Keys are
compared in constant time and never logged; with no keys configured and authentication not
switched off explicitly, every protected call gets 401.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable

from serving.asgi import Receive, Scope, Send, send_error
from serving.settings import get_serving_settings

#: Paths anyone may call.
OPEN_PATHS = frozenset({"/", "/livez", "/readyz", "/healthz", "/metrics", "/docs.json"})
API_KEY_HEADER = "X-API-Key"
HEADER = API_KEY_HEADER.lower().encode()  # as ASGI gives header names


def key_accepted(given: str | None, keys: frozenset[str]) -> bool:
    """Whether ``given`` is one of ``keys`` (every key compared, in constant time)."""
    if not given:
        return False
    # Digests of equal length: the comparison reveals neither a key nor its length.
    digest = hashlib.sha256(given.encode()).digest()
    found = False
    for key in keys:
        found |= hmac.compare_digest(digest, hashlib.sha256(key.encode()).digest())
    return found


class ApiKeyMiddleware:
    """Answer 401 to a protected path without a valid ``X-API-Key``."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # the service has none: closed, never unchecked
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http" or self._open(scope["path"]):
            await self.app(scope, receive, send)
            return
        settings = get_serving_settings()
        if settings.auth_disabled:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw = headers.get(HEADER)
        given = raw.decode("latin-1") if raw is not None else None
        if key_accepted(given, settings.key_values()):
            await self.app(scope, receive, send)
            return
        await send_error(
            send,
            401,
            "missing or invalid API key (send it in X-API-Key)",
            ((b"www-authenticate", b'ApiKey header="X-API-Key"'),),
        )

    @staticmethod
    def _open(path: str) -> bool:
        return path in OPEN_PATHS or path.startswith("/static_content")
