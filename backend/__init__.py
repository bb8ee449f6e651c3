"""Doorstep: field-visit companion for collections teams."""
import secrets
from pathlib import Path

from flask import Flask, send_from_directory

from .config import INSTANCE, ROOT, Config
from .extensions import api, db, migrate

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
    "consoles",
)


def create_app(config: type = Config) -> Flask:
    app = Flask(__name__, instance_path=str(INSTANCE), static_folder=None)
    app.config.from_object(config)
    _ensure_secret_key(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    api.init_app(app)

    from importlib import import_module

    for name in DOMAINS:
        module = import_module(f".{name}.routes", __name__)
        api.register_blueprint(module.blp)
    _import_models()

    from .cli import register_cli

    register_cli(app)
    _register_pwa(app)
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


def _register_pwa(app: Flask) -> None:
    @app.get("/")
    def pwa_index():
        return send_from_directory(PWA_DIR, "index.html", max_age=0)

    @app.get("/<path:filename>")
    def pwa_file(filename: str):
        if filename.startswith("api/"):
            from .errors import abort

            abort(404, "No such API endpoint.")
        response = send_from_directory(PWA_DIR, filename, max_age=0)
        if filename == "sw.js":
            response.headers["Service-Worker-Allowed"] = "/"
            response.headers["Cache-Control"] = "no-cache"
        return response
