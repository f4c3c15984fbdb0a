"""The BentoML scoring service that post-loan managers call (the HTTP edge of ``serving``).

``POST /score`` takes borrowers' raw recent history and an ``as_of`` date; ``POST
/score_features`` takes precomputed snapshot rows; both answer per open loan with the 12-month
PD, P(S>=k), grade, reasons and actions in the asked language, an IFRS 9 stage hint, and the
model and policy versions. Every scored loan is committed to the warning ledger before the
answer leaves: if the ledger cannot take it, the caller gets 503 and nothing is half-written.
A client that names its request (``request_id``) can retry safely: a name the ledger already
holds gets 409 and nothing is scored or recorded twice.
``GET /model`` describes the served version; ``/livez`` and ``/readyz`` are the framework's
probes (ready once the model is loaded and the ledger answers); ``/docs.json`` is the
framework's OpenAPI document, completed with the API key scheme and the answers the framework
does not describe (``serving.openapi``). Every error answer is ``{"error": ...}``
(``serving.errors``).

Run it with ``ews-serve start``, which checks the model and the ledger first and listens on
127.0.0.1 unless told otherwise. (``bentoml serve serving.service:WarningService`` skips those
checks and listens on every interface by default: pass ``--host 127.0.0.1`` if you use it.)
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from http import HTTPStatus
from typing import Any

from serving.registry import configure_environment
from serving.settings import get_serving_settings

configure_environment(get_serving_settings())  # BentoML reads its home when first imported

import bentoml  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from serving.answers import ledger_records, loan_scores  # noqa: E402
from serving.auth import ApiKeyMiddleware  # noqa: E402
from serving.bundle import ScoringBundle  # noqa: E402
from serving.errors import ErrorBodyMiddleware  # noqa: E402
from serving.ledger import DuplicateBatchError, LedgerError  # noqa: E402
from serving.media import JsonBodyMiddleware  # noqa: E402
from serving.openapi import OpenApiMiddleware  # noqa: E402
from serving.schemas import (  # noqa: E402
    NotScored,
    ScoreFeaturesRequest,
    ScoreRequest,
    ScoreResponse,
    history_notes,
)
from serving.scoring import (  # noqa: E402
    RequestError,
    ScoredLoans,
    feature_frame,
    score_snapshots,
    snapshots_from_history,
)
from serving.stores import prepare_service  # noqa: E402

logger = logging.getLogger("ews.serving")
# Only GET /model: FastAPI's own documentation pages would shadow the framework's /docs.json.
info_app = FastAPI(title="Model information", docs_url=None, redoc_url=None, openapi_url=None)


@bentoml.service(
    name="red_credit_ews",
    workers=1,
    traffic={"timeout": 120},
    logging={"access": {"enabled": True, "request_content_length": True}},
)
@bentoml.asgi_app(info_app, path="/")
class WarningService:
    """Scores loans with the registry's champion and records every warning in the ledger."""

    def __init__(self) -> None:
        self.bundle: ScoringBundle
        self.bundle, self.ledger = prepare_service(get_serving_settings())
        logger.info(
            "serving %s version %s (%s); ledger %s",
            self.bundle.info.model_name,
            self.bundle.info.model_version,
            self.bundle.source,
            self.ledger,
        )

    def __is_ready__(self) -> bool:
        try:
            self.ledger.check()
        except LedgerError:
            return False
        return True

    def _refuse_if_recorded(self, request_id: str | None) -> None:
        """409 before any work if the client's ``request_id`` is already in the ledger: a
        retry of a request that was recorded (its answer may have been lost on the way)."""
        if request_id is None:
            return
        try:
            held = self.ledger.count(request_id=request_id)
        except LedgerError as exc:
            raise _ledger_unavailable(exc) from None
        if held:
            raise _already_recorded(request_id)

    def _answer(
        self,
        scored: ScoredLoans,
        source: str,
        language: str,
        as_of: Sequence[date],
        notes: Sequence[list[str]],
        not_scored: list[NotScored],
        client_request_id: str | None,
    ) -> ScoreResponse:
        request_id = client_request_id or uuid.uuid4().hex
        records = ledger_records(
            scored, self.bundle, request_id, source, datetime.now(UTC), as_of, notes
        )
        try:
            self.ledger.record(records)
        except DuplicateBatchError:  # the same request_id sent twice at once: one is recorded
            raise _already_recorded(request_id) from None
        except LedgerError as exc:
            raise _ledger_unavailable(exc) from None
        return ScoreResponse(
            request_id=request_id,
            model_name=self.bundle.info.model_name,
            model_version=self.bundle.info.model_version,
            policy_version=self.bundle.policy.version,
            language=language,
            scores=loan_scores(scored, self.bundle, language, as_of, notes),
            not_scored=not_scored,
        )

    @bentoml.api(route="/score")
    def score(self, request: ScoreRequest, /) -> ScoreResponse:
        """Score every loan of the borrowers open at ``as_of`` from their raw recent history."""
        self._refuse_if_recorded(request.request_id)
        try:
            snapshots = snapshots_from_history(self.bundle, request.borrowers, request.as_of)
            scored = score_snapshots(self.bundle, snapshots)
        except RequestError as exc:
            raise bentoml.exceptions.InvalidArgument(str(exc)) from None
        notes_of = {h.borrower.borrower_id: history_notes(h) for h in request.borrowers}
        borrowers = scored.keys["borrower_id"].astype(str).tolist()
        scored_ids = set(borrowers)
        not_scored = [
            NotScored(borrower_id=b, reason=f"no loan open at the end of {request.as_of:%Y-%m}")
            for b in notes_of
            if b not in scored_ids
        ]
        return self._answer(
            scored,
            "score",
            request.language,
            [request.as_of] * len(scored),
            [notes_of[b] for b in borrowers],
            not_scored,
            request.request_id,
        )

    @bentoml.api(route="/score_features")
    def score_features(self, request: ScoreFeaturesRequest, /) -> ScoreResponse:
        """Score precomputed snapshot rows (the model's feature contract, see ``GET /model``)."""
        self._refuse_if_recorded(request.request_id)
        try:
            frame, notes = feature_frame(self.bundle, request.rows)
            scored = score_snapshots(self.bundle, frame)
        except RequestError as exc:
            raise bentoml.exceptions.InvalidArgument(str(exc)) from None
        as_of = [row.as_of for row in request.rows]
        return self._answer(
            scored, "score_features", request.language, as_of, notes, [], request.request_id
        )

    @bentoml.api(route="/ping")
    def ping(self) -> dict[str, str]:
        """A trivial endpoint: the framework's own cost, for benchmarks."""
        return {"status": "ok"}

    @info_app.get("/model")
    def model(self) -> dict[str, Any]:
        """The served version: registry facts, training window, metrics, features, policy."""
        home = str(get_serving_settings().home)  # the server's own folders stay inside it
        return {
            **self.bundle.info.model_dump(),
            "source": self.bundle.source.replace(home, "$EWS_HOME"),
            "policy": self.bundle.policy.model_dump(mode="json"),
        }


def _ledger_unavailable(exc: LedgerError) -> bentoml.exceptions.ServiceUnavailable:
    """503; the cause goes to the server log only (``serving.errors`` words the answer)."""
    return bentoml.exceptions.ServiceUnavailable(
        f"the warning ledger could not record this request; nothing was answered: {exc}"
    )


def _already_recorded(request_id: str) -> bentoml.exceptions.BentoMLException:
    """409: the ledger holds this request_id (ids are shared by every caller of the ledger)."""
    return bentoml.exceptions.BentoMLException(
        f"request_id {request_id!r} is already recorded in the warning ledger, so this call "
        "was not recorded; its warnings are in the ledger. Send a new request_id to score "
        "anew",
        error_code=HTTPStatus.CONFLICT,
    )


WarningService.add_asgi_middleware(ApiKeyMiddleware)  # type: ignore[attr-defined]
WarningService.add_asgi_middleware(JsonBodyMiddleware)  # type: ignore[attr-defined]
WarningService.add_asgi_middleware(OpenApiMiddleware)  # type: ignore[attr-defined]
WarningService.add_asgi_middleware(ErrorBodyMiddleware)  # type: ignore[attr-defined]
