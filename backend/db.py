"""The one database seam: everything that differs between SQLite and PostgreSQL lives here.

- engine tuning (`tune_engine`, from create_app): SQLite's pragmas, psycopg's prepared
  statements, and read-only requests ending with COMMIT;
- the write transaction: `begin_write` (SQLite: BEGIN IMMEDIATE) and `write_lock` (SQLite: one
  sync writer at a time through a file lock);
- row-order locks: `lock_feed` (the change feed's ids become visible in order), `lock_case` and
  `lock_case_of_visit` (one sync op per case), `lock_case_row` (a case's timeline appends queue);
- `upsert_insert`: the dialect's INSERT that knows ON CONFLICT;
- `take_next`: the next number of a gapless counter row, locked until the transaction ends.

No other module of backend/ asks which database it is on (tests/backbone/test_house.py).
"""

import fcntl
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import bindparam, column, event, select, table, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

from .extensions import db

# advisory-lock key spaces (PostgreSQL): any constants, distinct from each other
FEED_LOCK = 0x5EED  # one key: the order of the change feed
CASE_LOCK_SPACE = 0x5C  # (space, case id): one sync op at a time per case

_FEED_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_CASE_LOCK = text("SELECT pg_advisory_xact_lock(:space, :case_id)")
# the same for a visit op, in the round trip that finds the visit's case (no row: no such visit)
_LOCK_CASE_OF_VISIT = text("SELECT pg_advisory_xact_lock(:space, case_id) FROM visits WHERE id = :visit_id")
_CASES = table("cases", column("id"))
_LOCK_CASE_ROW = select(_CASES.c.id).where(_CASES.c.id == bindparam("case_id")).with_for_update(key_share=True)


def is_postgresql(session=None) -> bool:
    return (session or db.session).get_bind().dialect.name == "postgresql"


def is_sqlite(session=None) -> bool:
    return (session or db.session).get_bind().dialect.name == "sqlite"


# --- engine tuning ------------------------------------------------------------------------


def configure_engine_options(app: Flask) -> None:
    """Before the engine exists. psycopg prepares a statement on its second use on a connection
    (the default is the sixth): the sync path runs the same few statements for every op. The
    prepared statements outlive the request because a read-only request ends with COMMIT."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg"):
        return
    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    options["connect_args"] = {"prepare_threshold": 1, **options.get("connect_args", {})}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def tune_engine(app: Flask) -> None:
    """After db.init_app: SQLite's pragmas, and read-only request transactions ending with COMMIT."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _tune_sqlite(app, engine)
    _end_read_transactions(app, engine)


def _tune_sqlite(app: Flask, engine) -> None:
    """The embedded database serves several gunicorn threads and workers: WAL lets readers
    run beside the writer, and a busy timeout waits for the lock instead of failing."""
    in_memory = app.config["SQLALCHEMY_DATABASE_URI"] in ("sqlite://", "sqlite:///:memory:")

    @event.listens_for(engine, "connect")
    def _pragmas(connection, _record):
        cursor = connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 15000")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA cache_size = -65536")
            cursor.execute("PRAGMA mmap_size = 1073741824")
        cursor.close()


_WROTE = "doorstep_wrote"


def _end_read_transactions(app: Flask, engine) -> None:
    """A request whose transaction only read ends it with COMMIT, not the ROLLBACK of the
    session's removal: psycopg forgets every prepared statement of the connection on a rollback,
    so every request would plan all its statements again. A transaction that wrote anything, or
    a request that failed, is still rolled back."""

    @event.listens_for(engine, "begin")
    def _clean(conn):
        conn.info.pop(_WROTE, None)

    @event.listens_for(engine, "before_cursor_execute")
    def _note_write(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip()[:6].upper() != "SELECT":
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
        except DBAPIError as error:  # nothing was written: the removal's rollback ends it instead
            app.logger.info("read-only transaction not committed: %s", error)


# --- the write transaction ------------------------------------------------------------------


def begin_write() -> None:
    """Start a write transaction. SQLite: take the write lock up front (BEGIN IMMEDIATE), so two
    workers never deadlock upgrading read locks."""
    if db.session().in_transaction():  # (committing an idle session would begin and end an empty one)
        db.session.commit()
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def write_lock():
    """SQLite has one writer: queue sync writers on a file lock (woken at once by the kernel)
    instead of SQLite's busy handler, which sleeps up to 100 ms between tries and leaves the
    database idle under load. PostgreSQL needs no such thing (row locks).

    Yields whether the holder is now the only sync writer (a file lock was taken)."""
    url = db.engine.url
    path = url.database if url.get_backend_name() == "sqlite" else None
    if not path or path == ":memory:":
        yield False
        return
    with open(f"{path}.sync-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- order locks --------------------------------------------------------------------------


def lock_feed(session=None) -> None:
    """Take the feed's order lock for this transaction. PostgreSQL hands out ids at insert but
    transactions commit in any order, so a reader could see id 101 before 100 commits and skip
    100 for ever: writers of the feed take one transaction-scoped lock, and ids become visible
    in order. (SQLite has one writer at a time anyway.)"""
    session = session or db.session()
    if is_postgresql(session):
        session.execute(_FEED_LOCK, {"key": FEED_LOCK})


def lock_case(case_id: int) -> None:
    """One sync op at a time per case, taken before the op reads or writes anything of it.

    Row locks alone deadlock here: every insert that references the visit (outcome, note, plan)
    takes a FOR KEY SHARE lock on it, and a visit op asks for the visit FOR UPDATE — two ops on
    one case (a replay racing its original, two devices) would each hold the first and wait for
    the second. (The timeline append's case lock is FOR NO KEY UPDATE, which such inserts do not
    block.) A transaction-scoped advisory lock on the case id queues them instead; office edits
    do not take it, so no new cycle. SQLite needs none: its sync writers queue on the file lock.
    """
    if is_postgresql():
        db.session.connection().execute(_CASE_LOCK, {"space": CASE_LOCK_SPACE, "case_id": case_id})


def lock_case_of_visit(visit_id: int) -> None:
    """lock_case for the case of a visit, in the one round trip that finds it."""
    if is_postgresql():
        db.session.connection().execute(_LOCK_CASE_OF_VISIT, {"space": CASE_LOCK_SPACE, "visit_id": visit_id})


def lock_case_row(case_id: int) -> None:
    """Queue the case's timeline appends behind each other (PostgreSQL; SQLite has one writer).

    FOR NO KEY UPDATE: appends to one case wait for each other, but not for the KEY SHARE locks
    that rows pointing at the case take (a note, an outcome inserted just before the append);
    FOR UPDATE would conflict with those, and two such writers would deadlock."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        connection.execute(_LOCK_CASE_ROW, {"case_id": case_id})


# --- upsert -------------------------------------------------------------------------------


def upsert_insert(session=None):
    """The dialect's INSERT that knows ON CONFLICT (PostgreSQL's, else SQLite's): `insert(table)`."""
    return postgresql_insert if is_postgresql(session) else sqlite_insert


_IGNORING: dict = {}


def insert_ignoring_conflict(model, *, key: tuple[str, ...]):
    """INSERT … ON CONFLICT (key) DO NOTHING, built once per dialect (a statement object keeps
    its compiled form in the cache)."""
    cache_key = (model, key, db.session.get_bind().dialect.name)
    stmt = _IGNORING.get(cache_key)
    if stmt is None:
        stmt = _IGNORING[cache_key] = upsert_insert()(model).on_conflict_do_nothing(index_elements=list(key))
    return stmt


# --- gapless sequences ----------------------------------------------------------------------


def take_next(model, *, key: str, key_value, counter: str = "last") -> int:
    """The next number of a gapless sequence kept as a counter row per key (a branch's receipts).

    The row is created if missing (ON CONFLICT DO NOTHING: two first takers do not collide),
    then incremented with UPDATE … RETURNING. The UPDATE holds the row's lock until this
    transaction ends (PostgreSQL; SQLite's write transaction is BEGIN IMMEDIATE, one writer), so
    a second taker waits and reads the committed value; a rolled-back transaction gives its
    number back. A database sequence would not: it never returns a number it handed out."""
    table = model.__table__
    db.session.execute(insert_ignoring_conflict(model, key=(key,)), {key: key_value, counter: 0})
    column_ = table.c[counter]
    stmt = table.update().where(table.c[key] == key_value).values({counter: column_ + 1}).returning(column_)
    return db.session.execute(stmt).scalar_one()
