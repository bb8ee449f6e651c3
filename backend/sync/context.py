"""What every op carries through the apply path: its context, and how it is kept but not applied."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import inspect
from sqlalchemy.orm.util import identity_key

from ..cases.models import Case
from ..extensions import db
from ..visits.models import Visit
from .models import SyncOp


class OpProblem(Exception):
    """The op is kept but not applied: `conflict` (the world moved on) or `rejected` (bad content).
    `code` and `params` let each reader show it in their own language; `detail` is the English."""

    def __init__(
        self,
        status: str,
        detail: str,
        errors: dict | None = None,
        server: dict | None = None,
        code: str | None = None,
        params: dict | None = None,
    ):
        super().__init__(detail)
        self.status, self.detail, self.errors, self.server, self.code = status, detail, errors or {}, server or {}, code
        self.params = params or {}


@dataclass
class OpContext:
    # plain ids, not ORM rows: every op commits, and expired rows would reload on each access
    user_id: int
    agent_id: int | None
    device_id: str
    op_id: str
    type: str
    device_at: datetime | None
    raw: dict
    payload: dict = field(default_factory=dict)
    invalid: dict = field(default_factory=dict)  # per-field messages found by _parse
    parse_failure: Exception | None = None
    record: SyncOp | None = None
    case: Case | None = None
    visit: Visit | None = None
    # the case may get the conflict/rejection on its timeline: the agent held it
    case_related: bool = False
    # SQLite: the batch's earlier ops loaded the visit and case graph, and no one else has
    # written since (_forget_reads_if_others_wrote): use them as loaded
    keep_reads: bool = False
    unstorable: dict = field(default_factory=dict)  # per field: content no column can hold


def loaded(ctx: "OpContext", cls, ident: int):
    """The row as this batch already loaded it (ctx.keep_reads), else None: read it afresh."""
    if not ctx.keep_reads:
        return None
    obj = db.session.identity_map.get(identity_key(cls, ident))
    return obj if obj is not None and not inspect(obj).expired else None
