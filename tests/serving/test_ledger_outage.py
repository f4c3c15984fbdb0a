"""When the ledger cannot record, nobody gets a warning that was not recorded.

A real PostgreSQL ledger database is dropped under a running ``ews-serve`` process: the next
scoring call is answered 503 (the caller retries) and readiness turns false, instead of
answering warnings that monitoring, provisions and auditors would never see.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from serving.errors import LEDGER_UNAVAILABLE
from tests.integration.servers import create_database, drop_database
from tests.serving.conftest import API_KEYS, Served
from tests.serving.http_server import scoring_server


def test_a_ledger_outage_is_a_503_and_not_ready(served: Served, tmp_path: Path):
    name, url = create_database(prefix="ews_ledger_outage")
    body = json.loads(Path("serving/examples/score_request.json").read_text(encoding="utf-8"))
    headers = {"X-API-Key": API_KEYS[0]}
    try:
        with scoring_server(served.environment(EWS_LEDGER_URL=url), tmp_path) as server:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                assert client.post("/score", json=body, headers=headers).status_code == 200
                assert client.get("/readyz").status_code == 200
                drop_database(name)
                response = client.post("/score", json=body, headers=headers)
                assert response.status_code == 503, response.text
                # The caller is told what happened and what to do; the cause (with the
                # database's URL) goes to the log only.
                assert response.json() == {"error": LEDGER_UNAVAILABLE}
                assert client.get("/readyz").status_code == 503
            assert "warning ledger could not record" in server.log_tail(200)
    finally:
        drop_database(name)
