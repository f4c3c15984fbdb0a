"""What the framework's OpenAPI document leaves out of this service, added to it.

BentoML 1.4 writes ``/docs.json`` from the service's API signatures and has no hook for the rest
of the contract, so clients generated from it (and fuzzers reading it) would not know that:

* every path but the probes and the document needs the ``X-API-Key`` header (401 without it);
* a POST takes JSON only (415 for a form body, ``serving.media``), and the scoring endpoints'
  bodies are required;
* ``/score`` and ``/score_features`` answer 409 to a ``request_id`` the ledger already holds and
  503 when the ledger cannot record them (in both cases nothing of the call was recorded);
* ``GET /model`` exists (a mounted app the framework does not describe).

``complete_document`` adds these to the framework's document; ``OpenApiMiddleware`` applies it
to the ``/docs.json`` response, so the document stays the framework's own in everything else.
Every error answer is ``{"error": ...}`` (``serving.errors`` makes the framework's so too).
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any

from serving.asgi import Receive, Scope, Send, rewrite_json_answer
from serving.auth import API_KEY_HEADER, OPEN_PATHS
from serving.errors import LEDGER_PATHS, LEDGER_UNAVAILABLE

DOCUMENT_PATH = "/docs.json"
SCHEME = "ApiKey"
_ERROR_REF = "#/components/schemas/InvalidArgument"  # the framework's {"error": ...} shape


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _ERROR_REF}}},
    }


_MODEL_OPERATION: dict[str, Any] = {
    "summary": "The served model",
    "description": (
        "Model name and version, registry run, training window, metrics, the feature list "
        "(the contract of /score_features), the grade policy and where the model was loaded "
        "from (the registry's champion or the bundled copy)."
    ),
    "operationId": "red_credit_ews__model",
    "tags": ["Service APIs"],
    "responses": {
        "200": {
            "description": "Successful Response",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
}


def complete_document(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of the framework's OpenAPI ``document`` with the API key scheme, the 401, 409,
    415 and 503 answers, required request bodies and ``GET /model``."""
    out = copy.deepcopy(document)
    components = out.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SCHEME] = {
        "type": "apiKey",
        "in": "header",
        "name": API_KEY_HEADER,
        "description": "One of the keys configured in EWS_API_KEYS or the settings file.",
    }
    paths = out.setdefault("paths", {})
    paths.setdefault("/model", {"get": copy.deepcopy(_MODEL_OPERATION)})
    for path, operations in paths.items():
        if path in OPEN_PATHS:
            continue
        for method, operation in operations.items():
            operation["security"] = [{SCHEME: []}]
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", _error("Missing or invalid API key (X-API-Key)"))
            if method == "post":
                responses.setdefault("415", _error("A form body: send application/json"))
            if path in LEDGER_PATHS:
                if "requestBody" in operation:  # a scoring call without a body is refused
                    operation["requestBody"]["required"] = True
                responses.setdefault(
                    "409",
                    _error(
                        "The request_id sent is already recorded in the warning ledger (a "
                        "retry); this call was not recorded"
                    ),
                )
                responses.setdefault("503", _error(LEDGER_UNAVAILABLE))
    return out


class OpenApiMiddleware:
    """Serve ``/docs.json`` completed by ``complete_document`` (other requests untouched)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != DOCUMENT_PATH:
            await self.app(scope, receive, send)
            return
        await rewrite_json_answer(
            self.app,
            scope,
            receive,
            send,
            wanted=lambda status: status == 200,
            rewrite=lambda _, document: complete_document(document),
        )
