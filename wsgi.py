"""The production entry point (gunicorn wsgi:app, FLASK_APP=wsgi.py): refuses to start without
the settings production needs, unless DOORSTEP_DEMO=1 (the embedded demo)."""

from backend.config import require_production_settings

require_production_settings()

from backend import create_app  # noqa: E402  (nothing is built before the settings are checked)

app = create_app()
