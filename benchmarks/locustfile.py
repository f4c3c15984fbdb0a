"""Locust user of the scoring service: POST /score with pre-built bodies, record every answer.

Run it in its own process (``import locust`` hangs where dask has run, docs/stack.md, pitfalls):

    EWS_LOAD_BODIES=bodies.jsonl EWS_LOAD_API_KEY=... EWS_LOAD_RESULTS=acked.tsv \\
        locust -f benchmarks/locustfile.py --headless --host http://127.0.0.1:3000 \\
        -u 30 -r 10 -t 60s --stop-timeout 60 --csv load --only-summary

``EWS_LOAD_BODIES`` is a JSON-lines file of ``/score`` request bodies (one a line, e.g. written
by ``benchmarks/load_serving.write_bodies``); the users take them in turn, round robin.
``EWS_LOAD_API_KEY`` is sent as ``X-API-Key``. For every 200 the user appends
``request_id<TAB>number_of_scores`` to ``EWS_LOAD_RESULTS`` (one line, flushed), so the warning
ledger can be reconciled with what callers were told afterwards. Anything but a 200 carrying a
request id and a list of scores is a failure. If ``EWS_LOAD_SUMMARY`` is set, the final totals
(requests, failures, req/s, median and p99 ms, errors) are written there as JSON at exit. Only
the standard library, gevent and locust are imported.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import IO, Any

import gevent
from locust import FastHttpUser, between, events, task

BODIES_VARIABLE = "EWS_LOAD_BODIES"
API_KEY_VARIABLE = "EWS_LOAD_API_KEY"
RESULTS_VARIABLE = "EWS_LOAD_RESULTS"
SUMMARY_VARIABLE = "EWS_LOAD_SUMMARY"
#: Seconds to wait on quitting: locust's CSV writer rewrites the stats once a second and
#: nothing writes them at exit, so without a last pass the CSV misses the final second.
_CSV_CATCH_UP_S = 2.5


def _required(variable: str) -> str:
    value = os.environ.get(variable, "")
    if not value:
        raise SystemExit(f"locustfile: set {variable} (see benchmarks/locustfile.py)")
    return value


def _bodies(path: Path) -> list[str]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    bodies = [line for line in lines if line]
    if not bodies:
        raise SystemExit(f"locustfile: {path} holds no request bodies")
    return bodies


_BODIES = _bodies(Path(_required(BODIES_VARIABLE)))
_NEXT_BODY = itertools.cycle(_BODIES)  # gevent: one greenlet runs at a time, no lock needed
_HEADERS = {"X-API-Key": _required(API_KEY_VARIABLE), "Content-Type": "application/json"}
_RESULTS_PATH = Path(_required(RESULTS_VARIABLE))
_results: IO[str] | None = None


@events.test_start.add_listener
def _open_results(**_: Any) -> None:
    global _results
    _results = _RESULTS_PATH.open("a", encoding="utf-8")


@events.test_stop.add_listener
def _close_results(**_: Any) -> None:
    global _results
    if _results is not None:
        _results.close()
        _results = None


@events.quitting.add_listener
def _final_figures(environment: Any, **_: Any) -> None:
    """Let the CSV writer catch up, and write the final totals as JSON if asked to."""
    gevent.sleep(_CSV_CATCH_UP_S)
    path = os.environ.get(SUMMARY_VARIABLE)
    if not path:
        return
    total = environment.stats.total
    figures = {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "rps": total.total_rps,
        "median_ms": total.median_response_time if total.num_requests else 0,
        "p99_ms": total.get_response_time_percentile(0.99) if total.num_requests else 0,
        "seconds": (total.last_request_timestamp or 0) - total.start_time,
        "errors": [
            f"{e.method} {e.name}: {e.error} x{e.occurrences}"
            for e in environment.stats.errors.values()
        ],
    }
    Path(path).write_text(json.dumps(figures), encoding="utf-8")


def _acknowledge(request_id: str, scores: int) -> None:
    global _results
    if _results is None:  # a user running before test_start fired: open lazily
        _results = _RESULTS_PATH.open("a", encoding="utf-8")
    _results.write(f"{request_id}\t{scores}\n")
    _results.flush()


class ScoringUser(FastHttpUser):
    """A post-loan manager's system asking for warnings on a few borrowers at a time."""

    wait_time = between(0.1, 0.5)
    network_timeout = 120.0  # the service's own request timeout
    connection_timeout = 30.0

    @task
    def score(self) -> None:
        body = next(_NEXT_BODY)
        with self.client.post(
            "/score", data=body, headers=_HEADERS, name="/score", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:300]}")
                return
            try:
                answer = json.loads(response.content or b"")
                request_id = answer["request_id"]
                scores = answer["scores"]
            except (ValueError, KeyError, TypeError) as exc:
                response.failure(f"200 without a request id and scores: {exc!r}")
                return
            if not isinstance(request_id, str) or not request_id or not isinstance(scores, list):
                response.failure("200 with a malformed request id or scores")
                return
            _acknowledge(request_id, len(scores))
            response.success()
