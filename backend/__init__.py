"""Doorstep: field-visit companion for collections teams."""

import secrets
from pathlib import Path

from flask import Flask, send_from_directory

from .config import INSTANCE, ROOT, Config
from .db import configure_engine_options, tune_engine
from .errors import abort, api
from .extensions import db, migrate
from .filemodes import restrict_file_modes

PWA_DIR = ROOT / "pwa"

# Every domain's blueprint, in one explicit list.
DOMAINS = (
    "auth",
    "org",
    "cases",
    "visits",
    "plans",
    "sync",
    "routing",
    "policy",
    "payments",
    "escalations",
    "push",
    "presence",
    "consoles",
)


def create_app(config: type = Config) -> Flask:
    from . import logs, metrics
    from .health.routes import blp as health_blp

    app = Flask(__name__, instance_path=str(INSTANCE), static_folder=None)
    app.config.from_object(config)
    restrict_file_modes(app.config["SQLALCHEMY_DATABASE_URI"])
    logs.configure_logging(app.config["LOG_LEVEL"])
    _ensure_secret_key(app)

    configure_engine_options(app)
    db.init_app(app)
    tune_engine(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    api.init_app(app)

    from importlib import import_module

    for name in DOMAINS:
        module = import_module(f".{name}.routes", __name__)
        api.register_blueprint(module.blp)
    app.register_blueprint(health_blp)  # probes and metrics: for the platform, not in the API document
    _import_models()
    logs.init_app(app)
    metrics.init_app(app)

    from .cli import register_cli

    register_cli(app)
    _register_api_docs(app)
    _register_pwa(app)
    _register_security_headers(app)
    return app


def _import_models() -> None:
    """Every model module, so metadata (and Alembic) sees all tables."""
    from importlib import import_module

    for name in DOMAINS + ("geo",):
        import_module(f".{name}.models", __name__)


def _ensure_secret_key(app: Flask) -> None:
    """A secret made on first start and kept under instance/, never in the repo."""
    if app.config.get("SECRET_KEY"):
        return
    path = Path(app.instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    app.config["SECRET_KEY"] = path.read_text().strip()


def _register_api_docs(app: Flask) -> None:
    docs = Path(__file__).parent / "apidocs"

    @app.get("/api/docs")
    def api_docs():
        return send_from_directory(docs, "docs.html", max_age=0)

    @app.get("/api/docs/docs.js")
    def api_docs_js():
        return send_from_directory(docs, "docs.js", max_age=0)


def _register_security_headers(app: Flask) -> None:
    import functools
    from urllib.parse import urlsplit

    from flask import request

    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]  # Flask's documented way

    @functools.lru_cache(maxsize=4)
    def content_policy(tile_url: str) -> str:
        # map tiles are images, and fetched by the page and the service worker (the day's area
        # is kept for offline use): the tile server's origin, whichever MAP_TILE_URL names
        tiles = urlsplit(tile_url)
        tile_origin = f" {tiles.scheme}://{tiles.netloc.replace('{s}', '*')}" if tiles.netloc else ""
        return (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: blob:{tile_origin}; connect-src 'self'{tile_origin}; worker-src 'self'; "
            "manifest-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
        )

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", content_policy(app.config.get("MAP_TILE_URL", "")))
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.path.startswith("/api/"):
            headers.setdefault("Cache-Control", "no-store")
        return headers and response


def _register_pwa(app: Flask) -> None:
    @app.get("/")
    def pwa_index():
        return send_from_directory(PWA_DIR, "index.html", max_age=0)

    @app.get("/<path:filename>")
    def pwa_file(filename: str):
        if filename.startswith("api/"):
            abort(404, "No such API endpoint.")
        response = send_from_directory(PWA_DIR, filename, max_age=0)
        if filename == "sw.js":
            response.headers["Service-Worker-Allowed"] = "/"
            response.headers["Cache-Control"] = "no-cache"
        return response
