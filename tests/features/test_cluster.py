"""``map_partitions`` on a real LocalCluster: results in partition order, failures named by
the first failing partition in that order, whichever partition ended first."""

from __future__ import annotations

import time

import pytest

from features.cluster import dask_client, map_partitions, shared


def _square_or_fail(partition: int, failing: tuple[int, ...], slow: int) -> int:
    if partition == slow:  # ends last, so a later partition's failure is seen first
        time.sleep(1.5)
    if partition in failing:
        raise ValueError(f"partition {partition} failed")
    return partition * partition


def test_results_in_partition_order_and_the_first_failure_in_that_order():
    with dask_client("local") as client:
        assert map_partitions(
            client, _square_or_fail, [3, 0, 2, 1], (), 3, description="squares"
        ) == [9, 0, 4, 1]
        with pytest.raises(ValueError, match="partition 1 failed"):
            map_partitions(client, _square_or_fail, [0, 1, 2, 3], (1, 3), 1, description="x")
        # the workers keep nothing of either run (releases reach the scheduler in batches)
        deadline = time.monotonic() + 10
        while client.run_on_scheduler(_tasks) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not client.run_on_scheduler(_tasks)


def _tasks(dask_scheduler) -> list[str]:
    return list(dask_scheduler.tasks)


def _origination_of(partition: int, origination: dict[str, float]) -> float:
    return origination[f"L{partition:07d}"]


def test_a_mapping_argument_goes_to_the_workers_as_one_piece():
    """A dict of a month's loans (origination PDs) is one scattered object, not one per loan
    (which at a million loans overwhelmed the scheduler), and the tasks see it whole."""
    origination = {f"L{i:07d}": i / 1000 for i in range(5000)}
    with dask_client("local") as client:
        (piece,) = shared(client, [origination])
        assert piece.key in client.run_on_scheduler(_tasks)
        assert len(client.run_on_scheduler(_tasks)) == 1
        assert piece.result() == origination
        del piece
        assert map_partitions(
            client, _origination_of, [7, 4999], origination, description="lookup"
        ) == [0.007, 4.999]
