"""Retraining on a Dask cluster: the same graded model, its trees grown by ``lightgbm.dask``.

Single responsibility: the ``training.pipeline.Compute`` of a cluster. Snapshots are built
partition by partition on the workers (``features.partitioned``, the one snapshot builder);
each threshold's trees are grown data-parallel by ``DaskLGBMClassifier`` over row partitions
spread across the workers, with exactly the hyperparameters, monotone constraints and seed
the single-machine ``GradedWarningClassifier`` uses, and brought back with ``to_local()``.
The result *is* a ``GradedWarningClassifier`` (plain ``LGBMClassifier`` per threshold), so
calibration, grade policy, reason codes, MLflow logging, the registry and the scoring service
treat it exactly as one trained on one machine.

Data-parallel trees are not bit-identical to one machine's: each worker bins and histograms
its own rows, and LightGBM merges them. The test-window AUC stays within a documented
tolerance of the single-machine model's (``docs/scale-out.md``; tested).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from features.cluster import partition_mapper, worker_count
from features.partitioned import default_partitions
from models.graded import GradedWarningClassifier
from training.pipeline import Compute, TreeFitter


def fit_graded_on_dask(
    estimator: GradedWarningClassifier,
    X: pd.DataFrame,
    y: np.ndarray,
    client: Any,
    n_partitions: int | None = None,
) -> GradedWarningClassifier:
    """Fit ``estimator`` (unfitted) with every threshold's trees grown on the cluster.

    Sets the same fitted attributes ``GradedWarningClassifier.fit`` sets (features, the
    categories seen, classes) and puts one local ``LGBMClassifier`` per threshold in
    ``estimators_``.
    """
    import dask.dataframe as dd
    from lightgbm.dask import DaskLGBMClassifier

    if y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    X = estimator._prepare(X, reset=True).reset_index(drop=True)
    codes = estimator._fit_classes(X, y)
    columns = list(X.columns)
    workers = max(1, worker_count(client))
    parts = n_partitions or workers
    rows = dd.from_pandas(X, npartitions=parts, sort=True)
    rows = client.persist(rows)
    estimators = []
    for k in range(1, estimator.classes_.size):
        target = dd.from_pandas(
            pd.Series((codes >= k).astype(np.int64), name="target"), npartitions=parts, sort=True
        )
        params = estimator._booster(columns).get_params()
        params.pop("n_jobs", None)  # a worker uses its own threads
        trees = DaskLGBMClassifier(client=client, **params).fit(rows, target)
        estimators.append(trees.to_local())
    estimator.estimators_ = estimators
    return estimator


def on_cluster(client: Any, n_borrowers: int) -> Compute:
    """The ``Compute`` of a retraining on ``client``'s cluster."""
    workers = max(1, worker_count(client))
    fit_trees: TreeFitter = functools.partial(fit_graded_on_dask, client=client)
    return Compute(
        fit_trees=fit_trees,
        snapshot_mapper=partition_mapper(client, "snapshots by partition"),
        snapshot_partitions=default_partitions(n_borrowers, workers),
    )
