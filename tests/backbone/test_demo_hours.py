"""The demo at any hour: `flask demo today --any-hour` (DEMO_ANY_HOUR=1) widens the demo's
visiting hours, only in the embedded demo; the demo says its day, timezone and hours; a
production start refuses DEMO_ANY_HOUR."""
from datetime import datetime
from zoneinfo import ZoneInfo

from backend.config import production_problems


def test_demo_hours_are_said_and_widened_only_in_the_demo(app, db):
    from backend.demo import ANY_HOUR, demo_hours_summary
    from backend.policy.settings import effective_settings

    night = datetime(2026, 3, 4, 23, 30, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Wednesday
    said = demo_hours_summary(now=night)
    assert said.startswith("demo day 2026-03-04 in Asia/Shanghai (now 23:30 there); visiting hours 09:00–20:00")
    assert "DEMO_ANY_HOUR=1" in said
    assert "refused" not in demo_hours_summary(now=night.replace(hour=10))

    runner = app.test_cli_runner()
    refused = runner.invoke(args=["demo", "today", "--any-hour", "--date", "2026-03-04"])
    assert refused.exit_code != 0 and "embedded demo only" in refused.output
    app.config["DEMO"] = True
    try:
        result = runner.invoke(args=["demo", "today", "--date", "2026-03-04"], env={"DEMO_ANY_HOUR": "1"})
    finally:
        app.config["DEMO"] = False
    assert result.exit_code == 0, result.output
    assert "visiting hours 00:00–23:59" in result.output
    from flask import g

    g.pop("_policy_settings", None)
    assert effective_settings("CN")["visiting_hours"] == ANY_HOUR


def test_production_refuses_demo_any_hour():
    production = {"SECRET_KEY": "x" * 64, "PUBLIC_BASE_URL": "https://doorstep.bank.example"}
    assert production_problems(production) == []
    assert any("DEMO_ANY_HOUR" in p for p in production_problems(dict(production, DEMO_ANY_HOUR="1")))
    assert production_problems({"DOORSTEP_DEMO": "1", "DEMO_ANY_HOUR": "1"}) == []
