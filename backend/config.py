"""Settings, read from the environment; tests pass their own config class."""

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("DOORSTEP_INSTANCE", ROOT / "instance"))


def _bool(name: str, default: bool = False, environ=os.environ) -> bool:
    value = environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")  # generated into instance/ when absent
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE / 'doorstep.sqlite3'}")
    # errors and logs show statements without their values (debtors' data, token hashes)
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"hide_parameters": True}
    JSON_SORT_KEYS = False
    # an ops batch may carry signatures and photos (each ≤ ATTACHMENT_MAX_BYTES)
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024)))

    # OpenAPI (flask-smorest)
    API_TITLE = "Doorstep API"
    API_VERSION = "1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    # the browsable page is our own /api/docs (backend/apidocs), on npm's swagger-ui-dist
    API_SPEC_OPTIONS = {
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
            }
        },
        "security": [{"bearer": []}],
    }

    # Auth
    TOKEN_TTL_HOURS = int(os.environ.get("TOKEN_TTL_HOURS", "16"))
    # failed sign-ins per window: per (username, client address), per client address, and a
    # per-username ceiling over all addresses (ASVS 2.2.1: at most 100 an hour per account)
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS", "50"))
    LOGIN_FAILURE_WINDOW_S = int(os.environ.get("LOGIN_FAILURE_WINDOW_S", "900"))
    LOGIN_MAX_FAILURES_PER_USER = int(os.environ.get("LOGIN_MAX_FAILURES_PER_USER", "100"))
    LOGIN_USER_CEILING_WINDOW_S = int(os.environ.get("LOGIN_USER_CEILING_WINDOW_S", "3600"))

    # Geocoding: "none" (never reachable), "nominatim" (self-hosted URL)
    GEOCODER = os.environ.get("GEOCODER", "none")
    GEOCODER_URL = os.environ.get("GEOCODER_URL", "")
    GEOCODER_TIMEOUT_S = float(os.environ.get("GEOCODER_TIMEOUT_S", "5"))
    # seconds between two requests to the geocoder (Nominatim's usage policy: 1 per second)
    GEOCODER_MIN_DELAY_S = float(os.environ.get("GEOCODER_MIN_DELAY_S", "1"))
    DEFAULT_TIMEZONE = os.environ.get("DEFAULT_TIMEZONE", "Asia/Shanghai")

    # Street-map tiles for the agent's map and the dispatcher's board: OpenStreetMap's standard
    # tiles by default, shown with the attribution their licence requires. Tile requests tell
    # the tile server which streets are looked at; a bank may point this at its own tile server
    # (docs/deploy.md). Empty: the maps draw the stops without tiles.
    MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "© OpenStreetMap contributors")

    # Sync
    ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", str(512 * 1024)))

    # Routing: plans solved at once per process, engine processes per solve, road-table service
    ROUTING_WORKERS = int(os.environ.get("ROUTING_WORKERS", "1"))
    ROUTING_ENGINE_WORKERS = int(os.environ.get("ROUTING_ENGINE_WORKERS", "0")) or None
    ROUTING_OSRM_URL = os.environ.get("ROUTING_OSRM_URL", "")

    # The organisation named in the disclosure scripts (R6) and on agreements
    ORG_NAME = os.environ.get("ORG_NAME", "Doorstep Demo Bank 示范银行")
    ORG_COMPLAINT_PHONE = os.environ.get("ORG_COMPLAINT_PHONE", "400-000-0000")

    # The digital badge (R10, docs/presence.md): how long a badge link is valid, how far ahead of
    # the server a link's time may be, and the public page's limits per client address
    BADGE_TTL_S = int(os.environ.get("BADGE_TTL_S", "600"))
    BADGE_CLOCK_SKEW_S = int(os.environ.get("BADGE_CLOCK_SKEW_S", "120"))
    BADGE_RATE_LIMIT = int(os.environ.get("BADGE_RATE_LIMIT", "60"))
    BADGE_RATE_WINDOW_S = int(os.environ.get("BADGE_RATE_WINDOW_S", "300"))
    BADGE_ID_MAX_MISSES = int(os.environ.get("BADGE_ID_MAX_MISSES", "5"))
    # how long the link on a leave-behind card (R14) answers after the visit's day
    BADGE_CARD_DAYS = int(os.environ.get("BADGE_CARD_DAYS", "30"))

    # Push
    PUSH_MAX_ATTEMPTS = int(os.environ.get("PUSH_MAX_ATTEMPTS", "5"))
    PUSH_BACKOFF_S = float(os.environ.get("PUSH_BACKOFF_S", "2"))
    PUSH_BACKOFF_MAX_S = float(os.environ.get("PUSH_BACKOFF_MAX_S", "300"))
    PUSH_TIMEOUT_S = float(os.environ.get("PUSH_TIMEOUT_S", "10"))
    VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY", "")
    # signs evidence packs (R17, Ed25519 PEM); made once under instance/ when unset
    EVIDENCE_PRIVATE_KEY = os.environ.get("EVIDENCE_PRIVATE_KEY", "")
    VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT", "mailto:ops@doorstep.invalid")
    PUSH_ALLOW_INSECURE_ENDPOINTS = _bool("PUSH_ALLOW_INSECURE_ENDPOINTS")

    # Background jobs: "inprocess" threads (embedded) or "rq" on Redis (production)
    JOBS_BACKEND = os.environ.get("JOBS_BACKEND", "inprocess")
    REDIS_URL = os.environ.get("REDIS_URL", "")
    JOBS_QUEUE = os.environ.get("JOBS_QUEUE", "doorstep")
    JOBS_TIMEOUT_S = int(os.environ.get("JOBS_TIMEOUT_S", "900"))  # RQ kills a job running longer
    # embedded set-up: threads sending pushes (solves: ROUTING_WORKERS; backend.jobs.pool_size)
    JOBS_PUSH_THREADS = int(os.environ.get("JOBS_PUSH_THREADS", "4"))

    # Behind a reverse proxy that terminates TLS: trust its X-Forwarded-* headers
    PROXY_FIX = _bool("PROXY_FIX")

    DEMO = _bool("DOORSTEP_DEMO")
    # The origin users reach (https://doorstep.your-bank.example); required in production,
    # the embedded demo serves http://127.0.0.1:$PORT
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL") or (f"http://127.0.0.1:{os.environ.get('PORT', '5000')}" if DEMO else "")

    # The bank's own pay page for a case, shown to the debtor as a QR at the door; placeholders
    # {reference} (DS-<case id>), {amount} (what is overdue) and {currency}, each URL-encoded.
    # Empty: no payment link. e.g. https://pay.your-bank.example/repay?ref={reference}&amt={amount}
    PAYMENT_LINK_TEMPLATE = os.environ.get("PAYMENT_LINK_TEMPLATE", "")

    # Operations: JSON log lines at this level (backend/logs.py); /metrics answers only to
    # `Authorization: Bearer $METRICS_TOKEN` and is off (404) without it (backend/metrics.py)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")


PRODUCTION_REQUIRED = {
    "SECRET_KEY": "48+ random bytes shared by every web and worker process, e.g. from your secret store",
    "PUBLIC_BASE_URL": "the https:// origin users reach, e.g. https://doorstep.your-bank.example",
}


def production_problems(environ=os.environ) -> list[str]:
    """What a production start lacks: the embedded demo (DOORSTEP_DEMO=1) generates its secret
    and serves on loopback, production must be told both."""
    if _bool("DOORSTEP_DEMO", environ=environ):
        return []
    problems = [f"{name} is not set ({what})" for name, what in PRODUCTION_REQUIRED.items() if not environ.get(name)]
    if _bool("DEMO_ANY_HOUR", environ=environ):
        problems.append("DEMO_ANY_HOUR is set (it widens the demo's visiting hours: the embedded demo only)")
    url = environ.get("PUBLIC_BASE_URL")
    if url and not re.fullmatch(r"https?://[^/\s]+/?", url):
        problems.append(f"PUBLIC_BASE_URL must be an origin like https://doorstep.your-bank.example, not {url!r}")
    link = environ.get("PAYMENT_LINK_TEMPLATE")
    if link and not (link.startswith("https://") and "{reference}" in link):
        problems.append(f"PAYMENT_LINK_TEMPLATE must be an https:// address with a {{reference}} placeholder, not {link!r}")
    return problems


def require_production_settings(environ=os.environ) -> None:
    """Stop a production process before it serves anything without the settings it needs."""
    problems = production_problems(environ)
    if problems:
        raise SystemExit(
            "Doorstep refuses to start in production: "
            + "; ".join(problems)
            + ". (For the embedded demo set DOORSTEP_DEMO=1, as `make run` does; docs/deploy.md lists the settings.)"
        )


class TestConfig(Config):
    TESTING = True
    # tests never reach the internet: the map tests point this at a local tile stub
    MAP_TILE_URL = ""
    SECRET_KEY = "test-secret-not-for-production"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    LOGIN_MAX_FAILURES = 5
    # cheap hashes keep the suite fast; production uses argon2-cffi's defaults
    ARGON2_PARAMS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
    PUSH_ALLOW_INSECURE_ENDPOINTS = True
    PUBLIC_BASE_URL = "http://localhost"
