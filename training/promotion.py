"""Champion/challenger promotion in the MLflow registry (the IO edge of the promotion gates).

``champion`` is the alias the scoring service loads; a retraining run only ever sets
``challenger``. Promotion moves ``champion`` to the challenger's version only if it passes the
gates of ``training.gates`` against the current champion **on the same test window**: every run
logs its test window (model inputs and outcomes of held-out borrowers in the last matured
months, and a ``borrower_group`` number per borrower, never an id, so the calibration tests can
count a borrower's monthly rows as one cluster) as ``evidence/test_window.parquet``, and
promotion re-scores both models on the challenger's window. Should the champion not be able to
read that window (its input contract differs), discrimination is judged against the AUC the
champion's own run recorded, and the reasons say so.

Every decision, promoted or not, is recorded as tags on the challenger's model version and run
(``promotion.*``: decision, every gate's reason, the champion compared with, the gate policy,
the time), so an auditor can see why a model went live or did not. The alias is moved last: a
failure part-way leaves the champion where it was.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.io import first_line
from training.gates import GateDecision, GatePolicy, evaluate_gates
from training.metrics import BinaryMetrics, compute_binary_metrics
from training.pipeline import performing_outcomes
from training.run_evidence import BORROWER_GROUP
from training.segments import DEFAULT_SEGMENTS, metrics_by_segment, pilot_segment, segment_metrics
from training.tracking import CHALLENGER, CHAMPION, MODEL_NAME, TrackingError, open_registry

WINDOW_ARTIFACT = "evidence/test_window.parquet"


class PromotionError(ValueError):
    """Promotion cannot be judged (no challenger, no test window); the message says why."""


@dataclass(frozen=True)
class PromotionOutcome:
    """What promotion decided and on which versions."""

    model_name: str
    challenger_version: str
    champion_version: str | None  # the champion compared with (None: there was none)
    decision: GateDecision
    promoted: bool
    already_champion: bool = False


def window_outcomes(window: pd.DataFrame, top: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows judged (performing at the as-of month) and their outcome ``severity >= top``."""
    if "severity" not in window or "dpd_now" not in window:
        raise PromotionError("the test window lacks the severity or dpd_now column")
    return performing_outcomes(window, top)


def judge(
    window: pd.DataFrame,
    challenger_pd: np.ndarray,
    champion_pd: np.ndarray | None,
    top: int,
    policy: GatePolicy | None = None,
    champion_recorded: BinaryMetrics | None = None,
) -> GateDecision:
    """Gate decision for a challenger's 12-month PD on ``window`` (pure; see module docstring).

    ``champion_pd`` is the champion's PD on the same rows; ``champion_recorded`` the metrics of
    its own run, used only when it could not score this window.
    """
    performing, defaulted = window_outcomes(window, top)
    y = defaulted[performing]
    groups = window[BORROWER_GROUP].to_numpy()[performing] if BORROWER_GROUP in window else None
    challenger = compute_binary_metrics(y, challenger_pd[performing], groups=groups)
    champion = (
        compute_binary_metrics(y, champion_pd[performing], groups=groups)
        if champion_pd is not None
        else champion_recorded
    )
    judged = window[performing]
    scored = judged.assign(
        pilot=pilot_segment(judged["area"]), outcome=y.astype(int), pd_12m=challenger_pd[performing]
    )
    segments = metrics_by_segment(segment_metrics(scored, "outcome", "pd_12m", DEFAULT_SEGMENTS))
    decision = evaluate_gates(challenger, champion, segments, policy)
    notes = []
    if champion_pd is None and champion_recorded is not None:
        notes.append(
            "champion not re-scored on this window (another input contract or held-out share): "
            "compared with its own recorded test AUC"
        )
    if groups is None:
        notes.append(
            f"the test window has no {BORROWER_GROUP} column (a run of an older ews-train): "
            "the calibration tests take its rows as independent, which overstates the evidence "
            "when borrowers repeat across as-of months"
        )
    return GateDecision(decision.promote, (*notes, *decision.reasons)) if notes else decision


def _load_window(client: Any, run_id: str) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, WINDOW_ARTIFACT, tmp)
        except Exception as exc:
            raise PromotionError(
                f"cannot read {WINDOW_ARTIFACT} of run {run_id} ({first_line(exc)}); "
                "runs of older ews-train versions must be retrained"
            ) from exc
        return pd.read_parquet(path)


def _top_pd(model: Any, window: pd.DataFrame) -> np.ndarray:
    columns = list(model.estimator.feature_names_in_)
    return np.asarray(model.predict_cumulative(window[columns]))[:, -1]


def _record(client: Any, version: Any, tags: dict[str, str]) -> None:
    for key, value in tags.items():
        client.set_model_version_tag(version.name, version.version, key, value)
        client.set_tag(version.run_id, key, value)


def _aliased(client: Any, model_name: str) -> dict[str, str]:
    """Alias -> version of the registered model; only a missing model means "no aliases"."""
    try:
        registered = client.search_registered_models(filter_string=f"name = '{model_name}'")
    except Exception as exc:
        raise TrackingError(f"cannot read the registry: {first_line(exc)}") from exc
    if not registered:
        return {}
    return {alias: str(version) for alias, version in registered[0].aliases.items()}


def _load(model_name: str, version: str) -> Any:
    import mlflow.sklearn

    try:
        return mlflow.sklearn.load_model(f"models:/{model_name}/{version}")
    except Exception as exc:
        raise PromotionError(
            f"cannot load {model_name} version {version}: {first_line(exc)}"
        ) from exc


def promote_challenger(
    tracking_uri: str,
    model_name: str = MODEL_NAME,
    policy: GatePolicy | None = None,
    expected_version: str | None = None,
) -> PromotionOutcome:
    """Judge the registered challenger against the champion and move the alias if it passes.

    ``expected_version`` (``fit --promote``): the version just registered; if another run has
    moved ``challenger`` since, nothing is judged.
    """
    policy = policy or GatePolicy()
    client = open_registry(tracking_uri)
    aliases = _aliased(client, model_name)
    if CHALLENGER not in aliases:
        raise PromotionError(
            f"no version of {model_name} carries the alias '{CHALLENGER}': run ews-train fit first"
        )
    challenger_version, champion_version = aliases[CHALLENGER], aliases.get(CHAMPION)
    if expected_version is not None and challenger_version != str(expected_version):
        raise PromotionError(
            f"'{CHALLENGER}' now points at version {challenger_version}, not {expected_version}: "
            "another run registered meanwhile; judge it with ews-train promote"
        )
    if champion_version == challenger_version:
        decision = GateDecision(True, (f"version {challenger_version} is already champion",))
        return PromotionOutcome(
            model_name, challenger_version, champion_version, decision, False, True
        )

    challenger = client.get_model_version(model_name, challenger_version)
    window = _load_window(client, challenger.run_id)
    model = _load(model_name, challenger_version)
    top = int(model.classes_[-1])
    champion_pd, recorded = None, None
    if champion_version is not None:
        champion = client.get_model_version(model_name, champion_version)
        if _same_held_out_borrowers(client, champion.run_id, challenger.run_id):
            try:
                champion_pd = _top_pd(_load(model_name, champion_version), window)
            except (AttributeError, KeyError, ValueError):  # another input contract
                champion_pd = None
        if champion_pd is None:
            recorded = _recorded_metrics(client, champion.run_id)
            if recorded is None:
                raise PromotionError(
                    f"champion version {champion_version} can neither score the challenger's "
                    "test window nor show its own recorded metrics; nothing was changed"
                )
    decision = judge(window, _top_pd(model, window), champion_pd, top, policy, recorded)

    tags = {
        "promotion.reasons": "\n".join(decision.reasons),
        "promotion.compared_with": champion_version or "none",
        "promotion.gate_policy": json.dumps(policy.model_dump(), sort_keys=True),
        "promotion.decided_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if not decision.promote:
        _record(client, challenger, {**tags, "promotion.decision": "rejected"})
    else:
        # The audit trail says "promoted" only once the alias has moved.
        _record(client, challenger, {**tags, "promotion.decision": "approved, moving alias"})
        client.set_registered_model_alias(model_name, CHAMPION, challenger_version)
        _record(client, challenger, {"promotion.decision": "promoted"})
        if champion_version is not None:
            client.set_model_version_tag(
                model_name, champion_version, "promotion.superseded_by", challenger_version
            )
    return PromotionOutcome(
        model_name, challenger_version, champion_version, decision, decision.promote
    )


def _same_held_out_borrowers(client: Any, champion_run: str, challenger_run: str) -> bool:
    """Whether both runs held out the same borrowers (same share): only then is the
    challenger's test window unseen by the champion too."""
    share = "test_borrower_share"
    params = [client.get_run(run).data.params.get(share) for run in (champion_run, challenger_run)]
    return params[0] is not None and params[0] == params[1]


def _recorded_metrics(client: Any, run_id: str) -> BinaryMetrics | None:
    """The champion's own test metrics of its highest severity, from its run's evidence."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = Path(client.download_artifacts(run_id, "evidence/metrics.json", tmp))
        except Exception:
            return None
        metrics = json.loads(path.read_text())["metrics"]
    return BinaryMetrics(**metrics[max(metrics, key=lambda k: int(k[1:]))])
