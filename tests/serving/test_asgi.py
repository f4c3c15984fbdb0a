"""The service's own ASGI pieces: answers rewritten on the way out, error bodies in one shape."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from serving.asgi import rewrite_json_answer
from serving.errors import LEDGER_UNAVAILABLE, error_body


def _run(status: int, chunks: list[bytes], content_type: bytes = b"application/json") -> list:
    """What a client receives from an app answering ``chunks`` through the rewriter, which
    wraps every error body in {"seen": ...}."""
    sent: list[dict[str, Any]] = []

    async def app(scope, receive, send):
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", b"999")],
            }
        )
        for i, chunk in enumerate(chunks):
            await send(
                {"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1}
            )

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    asyncio.run(
        rewrite_json_answer(
            app,
            {"type": "http", "path": "/x"},
            receive,
            send,
            wanted=lambda s: s >= 400,
            rewrite=lambda s, body: {"seen": body, "status": s},
        )
    )
    return sent


def test_a_wanted_answer_is_rewritten_whole_with_its_length():
    sent = _run(400, [b'[{"error"', b': "bad"}]'])
    start, body = sent
    assert json.loads(body["body"]) == {"seen": [{"error": "bad"}], "status": 400}
    assert dict(start["headers"])[b"content-length"] == str(len(body["body"])).encode()
    assert [k for k, _ in start["headers"]].count(b"content-length") == 1


def test_other_answers_stream_through_untouched():
    sent = _run(200, [b'{"a": ', b"1}"])
    assert [m.get("body") for m in sent] == [None, b'{"a": ', b"1}"]
    assert dict(sent[0]["headers"])[b"content-length"] == b"999"
    not_json = _run(500, [b"oops"], content_type=b"text/plain")
    assert not_json[1]["body"] == b"oops"
    broken = _run(400, [b"{not json"])
    assert broken[1]["body"] == b"{not json"


def test_error_bodies_are_one_object_and_the_ledgers_503_is_worded_for_the_caller():
    assert error_body(400, [{"error": "bad"}], "/score") == {"error": "bad"}
    assert error_body(409, {"error": "again"}, "/score") == {"error": "again"}
    assert error_body(400, [{"error": "a"}, {"error": "b"}], "/score") == [
        {"error": "a"},
        {"error": "b"},
    ]
    generic = {"error": "An unexpected error has occurred, please check the server log."}
    assert error_body(503, generic, "/score_features") == {"error": LEDGER_UNAVAILABLE}
    assert error_body(503, generic, "/readyz") == generic
