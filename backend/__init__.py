"""Doorstep: field-visit companion for collections teams."""
import secrets
from pathlib import Path

from flask import Flask, send_from_directory

from .config import INSTANCE, ROOT, Config
from .extensions import api, db, migrate
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
    "consoles",
)


def create_app(config: type = Config) -> Flask:
    app = Flask(__name__, instance_path=str(INSTANCE), static_folder=None)
    app.config.from_object(config)
    restrict_file_modes(app.config["SQLALCHEMY_DATABASE_URI"])
    _ensure_secret_key(app)

    _tune_postgresql(app)
    db.init_app(app)
    _tune_sqlite(app)
    _end_read_transactions(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    api.init_app(app)

    from importlib import import_module

    for name in DOMAINS:
        module = import_module(f".{name}.routes", __name__)
        api.register_blueprint(module.blp)
    _import_models()

    from .cli import register_cli

    register_cli(app)
    _register_api_docs(app)
    _register_pwa(app)
    _register_security_headers(app)
    return app


def _tune_sqlite(app: Flask) -> None:
    """The embedded database serves several gunicorn threads and workers: WAL lets readers
    run beside the writer, and a busy timeout waits for the lock instead of failing."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _pragmas(connection, _record):
        cursor = connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 15000")
        if app.config["SQLALCHEMY_DATABASE_URI"] not in ("sqlite://", "sqlite:///:memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA cache_size = -65536")
            cursor.execute("PRAGMA mmap_size = 1073741824")
        cursor.close()


def _tune_postgresql(app: Flask) -> None:
    """psycopg prepares a statement on its second use on a connection (the default is the sixth):
    the sync path runs the same few statements for every op. The prepared statements outlive
    the request because a read-only request ends with COMMIT (_end_read_transactions)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg"):
        return
    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    options["connect_args"] = {"prepare_threshold": 1, **options.get("connect_args", {})}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


_WROTE = "doorstep_wrote"


def _end_read_transactions(app: Flask) -> None:
    """A request whose transaction only read ends it with COMMIT, not the ROLLBACK of the
    session's removal: psycopg forgets every prepared statement of the connection on a rollback,
    so every request would plan all its statements again. A transaction that wrote anything, or
    a request that failed, is still rolled back."""
    from sqlalchemy import event
    from sqlalchemy.exc import DBAPIError

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "begin")
    def _clean(conn):
        conn.info.pop(_WROTE, None)

    @event.listens_for(engine, "before_cursor_execute")
    def _note_write(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip()[:6].upper() == "SELECT":
            conn.info[_WROTE] = True

    @app.teardown_appcontext  # runs before Flask-SQLAlchemy's (teardowns run in reverse order)
    def end_read_transaction(exc):
        if exc is not None or not db.session.registry.has():
            return
        session = db.session()
        if not session.in_transaction() or session.new or session.dirty or session.deleted:
            return
        if session.connection().info.get(_WROTE):
            return
        try:
            session.commit()
        except DBAPIError as exc:  # nothing was written: the removal's rollback ends it instead
            app.logger.info("read-only transaction not committed: %s", exc)


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
    from urllib.parse import urlsplit

    from flask import request

    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    # map tiles are images, and fetched by the service worker to keep the day's area offline
    tiles = urlsplit(app.config.get("MAP_TILE_URL", "").replace("{s}", "a"))
    tile_origin = f" {tiles.scheme}://{tiles.netloc.replace('a.', '*.', 1)}" if tiles.netloc else ""
    policy = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: blob:{tile_origin}; connect-src 'self'{tile_origin}; worker-src 'self'; "
        "manifest-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
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
            from .errors import abort

            abort(404, "No such API endpoint.")
        response = send_from_directory(PWA_DIR, filename, max_age=0)
        if filename == "sw.js":
            response.headers["Service-Worker-Allowed"] = "/"
            response.headers["Cache-Control"] = "no-cache"
        return response
