"""Files that hold personal data are readable by the service's own user only (0600)."""
import os
import stat

import pytest
from sqlalchemy import text

from backend import create_app
from backend.config import TestConfig


@pytest.fixture
def loose_umask():
    """The usual login umask (022): files would be world-readable unless the app restricts them."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.no_db
@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing-0644"])
def test_the_sqlite_database_and_its_wal_and_shm_are_0600(tmp_path, loose_umask, existing):
    database = tmp_path / "instance" / "doorstep.sqlite3"
    if existing:  # made by an older version, before the modes were enforced
        database.parent.mkdir()
        database.touch(mode=0o644)
        os.chmod(database, 0o644)

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{database}"

    app = create_app(Config)
    app.instance_path = str(tmp_path / "instance")
    with app.app_context():
        from backend.extensions import db

        with db.engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        files = {p.name: _mode(p) for p in database.parent.iterdir()}
        db.engine.dispose()
    assert {"doorstep.sqlite3", "doorstep.sqlite3-wal", "doorstep.sqlite3-shm"} <= set(files)
    assert files == {name: 0o600 for name in files}
    if not existing:  # a folder made for the database is private too (an existing one is left as it is)
        assert _mode(database.parent) == 0o700


@pytest.mark.no_db
def test_files_the_process_creates_later_are_private(tmp_path, loose_umask):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'db.sqlite3'}"

    create_app(Config)
    log = tmp_path / "doorstep.log"
    log.write_text("a line that may name a debtor\n")
    assert _mode(log) == 0o600
