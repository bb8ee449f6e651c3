"""The hash locks agree with the pins they are made from (`make lock` after editing requirements*.txt)."""

import re

import pytest

from backend.config import ROOT

pytestmark = pytest.mark.no_db
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)")


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        if line.startswith("-r "):
            pins.update(_pins(line[3:].strip()))
        elif match := PIN.match(line):
            pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return pins


def _locked(name: str) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of each requirement in a pip-compile lock."""
    locked: dict[str, tuple[str, int]] = {}
    current = None
    for line in (ROOT / name).read_text().splitlines():
        if match := PIN.match(line):
            current = re.sub(r"[-_.]+", "-", match[1]).lower()
            locked[current] = (match[2].rstrip(" \\"), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = locked[current]
            locked[current] = (version, hashes + 1)
    return locked


@pytest.mark.parametrize("source", ["requirements.txt", "requirements-dev.txt", "requirements-bench.txt"])
def test_each_lock_holds_every_pin_of_its_source_with_hashes(source):
    locked = _locked(source.replace(".txt", ".lock"))
    stale = {
        name: (version, locked.get(name, ("missing", 0))[0])
        for name, version in _pins(source).items()
        if locked.get(name, ("missing", 0))[0] != version
    }
    assert not stale, f"pin → lock differs (run make lock): {stale}"
    assert all(hashes > 0 for _, hashes in locked.values())


def test_bench_only_engines_stay_out_of_the_app_and_test_installs():
    assert "ortools" not in _locked("requirements.lock")
    assert "ortools" not in _locked("requirements-dev.lock")
    assert "ortools" in _locked("requirements-bench.lock")
