"""Files holding personal data are the service user's alone: mode 0600, folders 0700.

The process umask becomes 077 when the app is made, so everything it creates afterwards
(log files, exports, key files) starts private. The SQLite database is also created — or, when
an older version made it, changed — to 0600 before the first connection: SQLite gives its
-wal and -shm files the mode of the database file itself.
"""

import os
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE_UMASK = 0o077


def restrict_file_modes(database_uri: str) -> None:
    os.umask(PRIVATE_UMASK)
    path = _sqlite_file(database_uri)
    if path is None:
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-journal"):
        companion = path.with_name(name)
        if companion.exists():
            companion.chmod(0o600)


def _sqlite_file(database_uri: str) -> Path | None:
    url = make_url(database_uri)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    if url.database.startswith("file:"):  # a URI filename names its own options; leave it to SQLite
        return None
    return Path(url.database).resolve()
