"""When the ledger cannot record, nobody gets a warning that was not recorded.

A real PostgreSQL ledger database is dropped under a running service: the next scoring call is
answered 503 (the caller retries) and readiness turns false, instead of answering warnings that
monitoring, provisions and auditors would never see.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.servers import create_database, drop_database
from tests.serving.conftest import API_KEYS, Served, environment


def test_a_ledger_outage_is_a_503_and_not_ready(served: Served):
    from starlette.testclient import TestClient

    name, url = create_database(prefix="ews_ledger_outage")
    body = json.loads(Path("serving/examples/score_request.json").read_text(encoding="utf-8"))
    headers = {"X-API-Key": API_KEYS[0]}
    try:
        with environment(served.environment(EWS_LEDGER_URL=url)):
            from serving.service import WarningService

            with TestClient(WarningService.to_asgi()) as client:
                assert client.post("/score", json=body, headers=headers).status_code == 200
                assert client.get("/readyz").status_code == 200
                drop_database(name)
                response = client.post("/score", json=body, headers=headers)
                assert response.status_code == 503, response.text
                assert "scores" not in response.json()  # the framework hides 5xx details
                assert client.get("/readyz").status_code == 503
    finally:
        drop_database(name)
