"""Exactly-once against a real server process (gunicorn, its own database) with faults:
random batches, replays reordered across batches, a second device, lost responses, and the
server SIGKILLed mid-batch and restarted. The big run is bench/sync_faults.py."""
import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _harness():
    spec = importlib.util.spec_from_file_location("sync_faults", ROOT / "bench" / "sync_faults.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _databases():
    url = os.environ.get("TEST_DATABASE_URL", "")
    return ["sqlite"] + (["postgresql"] if url.startswith("postgresql") else [])


@pytest.mark.no_db
@pytest.mark.parametrize("backend", _databases())
def test_each_op_takes_effect_exactly_once_through_kills_replays_and_lost_responses(backend):
    harness = _harness()
    report = harness.run(
        n_agents=5, visits_per_agent=5, kills=3, kill_interval=(0.05, 0.3), seed_value=11,
        database_url=os.environ["TEST_DATABASE_URL"] if backend == "postgresql" else None,
        concurrency=5, replay_rate=0.35, lost_rate=0.15, timeout_s=120, log=lambda *a: None,
    )
    assert report["client_errors"] == []
    # the same batch from six devices at one instant: each op applied by exactly one of them
    race = report["race"]
    assert len(race) == 6 and all(len(statuses) == len(race[0]) for statuses in race), race
    for position in range(len(race[0])):
        column = sorted(statuses[position] for statuses in race)
        assert column == ["applied"] + ["duplicate"] * 5 or column == ["duplicate"] * 5 + ["rejected"], race
    assert report["kills"] == 3, report  # the server really died mid-run, three times
    assert report["lost_responses"] > 0 and report["duplicates"] > 0, report
    assert report["answered"] == report["ops"] == report["records"], report
    assert report["lost"] == 0 and report["duplicated"] == 0, report
    assert report["n_wrong_status"] == 0 and report["wrong_status"] == [], report
    assert report["rejected_as_expected"] > 0  # malformed ops were refused, and kept
    assert report["visits_not_in_final_state"] == 0 and report["broken_timelines"] == 0
    assert report["unexpected_records"] == 0
