import marshmallow as ma
from marshmallow import validate

from ..auth.models import User
from ..common import PageArgs, UTCDateTime, page_schema
from ..extensions import db
from .models import BUCKETS, CONTACT_CHANNELS, FLAGS, STAGES


class AddressSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    line = ma.fields.String()
    city = ma.fields.String()
    postal_code = ma.fields.String()
    country = ma.fields.String()
    lat = ma.fields.Float(allow_none=True)
    lon = ma.fields.Float(allow_none=True)
    geocode_status = ma.fields.String()
    timezone = ma.fields.String()


class DebtorSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    phone = ma.fields.String(allow_none=True, metadata={"description": "null for agents (R15)"})
    language = ma.fields.String()
    addresses = ma.fields.List(ma.fields.Nested(AddressSchema))


class AccountSchema(ma.Schema):
    """Dumps cases.projection.project_account: what the viewer may see of the account."""

    account_number = ma.fields.String(allow_none=True, metadata={"description": "null for agents (R15)"})
    card_masked = ma.fields.String()
    currency = ma.fields.String()
    balance = ma.fields.Decimal(as_string=True)
    overdue_amount = ma.fields.Decimal(as_string=True)
    days_past_due = ma.fields.Integer()
    bucket = ma.fields.String()


class FlagSchema(ma.Schema):
    id = ma.fields.Integer()
    flag = ma.fields.String()
    reason = ma.fields.String()
    set_by_id = ma.fields.Integer(allow_none=True)
    set_at = UTCDateTime()
    expires_at = UTCDateTime(allow_none=True)
    cleared_at = UTCDateTime(allow_none=True)


class CaseSchema(ma.Schema):
    """Dumps cases.projection.project_case: the case as its viewer may see it."""

    id = ma.fields.Integer()
    stage = ma.fields.String()
    version = ma.fields.Integer()
    branch_id = ma.fields.Integer(allow_none=True)
    owner_id = ma.fields.Integer(allow_none=True)
    account = ma.fields.Nested(AccountSchema)
    debtor = ma.fields.Nested(DebtorSchema)
    flags = ma.fields.List(ma.fields.Nested(FlagSchema), metadata={"description": "the active flags"})
    last_contact_at = UTCDateTime(allow_none=True)
    broken_promises = ma.fields.Integer()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()


CasePageSchema = page_schema(CaseSchema)


class CaseQuerySchema(PageArgs):
    stage = ma.fields.String(validate=validate.OneOf(STAGES))
    bucket = ma.fields.String(validate=validate.OneOf(BUCKETS))
    branch_id = ma.fields.Integer()
    owner_id = ma.fields.Integer()
    flag = ma.fields.String(validate=validate.OneOf(FLAGS))
    q = ma.fields.String(validate=validate.Length(max=32), metadata={"description": "part of the account number or of the debtor's name"})


class CaseUpdateSchema(ma.Schema):
    stage = ma.fields.String(validate=validate.OneOf(STAGES))
    owner_id = ma.fields.Integer(allow_none=True)
    branch_id = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String(load_default="", validate=validate.Length(max=500))
    version = ma.fields.Integer(required=True, metadata={"description": "the version you edited (optimistic lock)"})
    skip = ma.fields.Boolean(
        load_default=False, metadata={"description": "move forward past a rung whose work is not on the record (needs a reason; audited)"}
    )

    @ma.validates_schema
    def _skip_has_reason(self, data, **kwargs):
        if data.get("skip") and not data.get("reason", "").strip():
            raise ma.ValidationError({"reason": ["why the case skips a rung of the ladder"]})


class ContactCreateSchema(ma.Schema):
    channel = ma.fields.String(required=True, validate=validate.OneOf(CONTACT_CHANNELS))
    at = UTCDateTime(load_default=None, allow_none=True, metadata={"description": "when it was made (default: now)"})
    result = ma.fields.String(
        load_default="", validate=validate.Length(max=64), metadata={"description": "e.g. no_answer, spoke_to_debtor, sent, returned"}
    )
    note = ma.fields.String(load_default="", validate=validate.Length(max=2000))


class FlagCreateSchema(ma.Schema):
    flag = ma.fields.String(required=True, validate=validate.OneOf(FLAGS))
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=1000))
    expires_at = UTCDateTime(load_default=None, allow_none=True)


class FlagClearSchema(ma.Schema):
    reason = ma.fields.String(load_default="cleared", validate=validate.Length(max=1000))


class TimelineEventSchema(ma.Schema):
    """Dumps cases.projection.project_event (a recorded event itself, for a new one the office made)."""

    id = ma.fields.Integer()
    seq = ma.fields.Integer()
    kind = ma.fields.String()
    at = UTCDateTime()
    actor_id = ma.fields.Integer(allow_none=True)
    actor = ma.fields.Method("_actor", dump_only=True, metadata={"description": "the actor's display name; null for the system"})
    data = ma.fields.Dict()
    data_sha256 = ma.fields.String(allow_none=True, metadata={"description": "null for agents: no chain material"})
    redacted_at = UTCDateTime(allow_none=True, metadata={"description": "set when R8 retention blanked the data"})
    prev_hash = ma.fields.String(allow_none=True)
    hash = ma.fields.String(allow_none=True)

    def _actor(self, event):
        actor_id = event["actor_id"] if isinstance(event, dict) else event.actor_id
        user = db.session.get(User, actor_id) if actor_id is not None else None
        return (user.display_name or user.username) if user is not None else None


class ChainSchema(ma.Schema):
    verified = ma.fields.Boolean()
    events = ma.fields.Integer()
    redacted = ma.fields.Integer(metadata={"description": "events whose data R8 retention blanked (checked by digest)"})
    first_broken = ma.fields.Dict(allow_none=True)
    head = ma.fields.String(allow_none=True)


class TimelineSchema(ma.Schema):
    case_id = ma.fields.Integer()
    chain = ma.fields.Nested(ChainSchema)
    events = ma.fields.List(ma.fields.Nested(TimelineEventSchema))


class ImportRowSchema(ma.Schema):
    row = ma.fields.Integer()
    account_number = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"description": "created | updated | unchanged | rejected"})
    case_id = ma.fields.Integer(allow_none=True)
    geocode_status = ma.fields.String(allow_none=True)
    errors = ma.fields.Dict()
    field_codes = ma.fields.Dict(metadata={"description": "each error as {code, params, message} (docs/consoles.md, server codes)"})


class ImportReportSchema(ma.Schema):
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    unchanged = ma.fields.Integer()
    rejected = ma.fields.Integer()
    needs_geocode = ma.fields.Integer()
    rows = ma.fields.List(ma.fields.Nested(ImportRowSchema))
    import_id = ma.fields.Integer(metadata={"description": "the import's record: GET /api/cases/imports/<id>"})


class ImportRunSchema(ma.Schema):
    """An import as it runs (or ran): its chunks commit one by one."""

    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": "cases | payments"})
    status = ma.fields.String(metadata={"description": "running | done | failed | resumed (a later import finished its work)"})
    total_rows = ma.fields.Integer()
    processed_rows = ma.fields.Integer(metadata={"description": "rows applied and committed so far"})
    counts = ma.fields.Dict(metadata={"description": "rows per outcome so far"})
    rejected_rows = ma.fields.List(ma.fields.Dict(), metadata={"description": "when done: the rejected rows with their errors"})
    error = ma.fields.String(allow_none=True)
    file_sha256 = ma.fields.String()
    started_at = UTCDateTime()
    updated_at = UTCDateTime()
    finished_at = UTCDateTime(allow_none=True)


class ImportFileSchema(ma.Schema):
    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
