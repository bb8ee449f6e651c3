"""The production entry point refuses to start without SECRET_KEY and PUBLIC_BASE_URL; the
embedded demo makes its own."""

import os
import subprocess
import sys

import pytest

from backend.config import ROOT, production_problems

pytestmark = pytest.mark.no_db


def _start_wsgi(tmp_path, **env):
    """Import wsgi.py as gunicorn does, in a clean process with only these settings."""
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "PUBLIC_BASE_URL", "DOORSTEP_DEMO")}
    base.update(DOORSTEP_INSTANCE=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path}/wsgi.sqlite3", **env)
    return subprocess.run(
        [sys.executable, "-c", "import wsgi; print('started', wsgi.app.config['PUBLIC_BASE_URL'])"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_without_its_settings_refuses_to_start(tmp_path):
    result = _start_wsgi(tmp_path)
    assert result.returncode == 1
    assert "Doorstep refuses to start in production" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr and "PUBLIC_BASE_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "secret_key").exists()  # nothing was generated in its place


def test_production_with_its_settings_starts(tmp_path):
    result = _start_wsgi(tmp_path, SECRET_KEY="k" * 64, PUBLIC_BASE_URL="https://doorstep.example")
    assert result.returncode == 0, result.stderr
    assert "started https://doorstep.example" in result.stdout


def test_the_embedded_demo_generates_what_it_needs(tmp_path):
    result = _start_wsgi(tmp_path, DOORSTEP_DEMO="1", PORT="5123")
    assert result.returncode == 0, result.stderr
    assert "started http://127.0.0.1:5123" in result.stdout
    assert (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("url", ["doorstep.example", "https://doorstep.example/app", "ftp://x", "https://"])
def test_public_base_url_must_be_an_origin(url):
    problems = production_problems({"SECRET_KEY": "k" * 64, "PUBLIC_BASE_URL": url})
    assert len(problems) == 1 and "PUBLIC_BASE_URL must be an origin" in problems[0]


def test_a_secret_alone_is_not_enough():
    assert production_problems({"SECRET_KEY": "k" * 64}) == [
        "PUBLIC_BASE_URL is not set (the https:// origin users reach, e.g. https://doorstep.your-bank.example)"
    ]
