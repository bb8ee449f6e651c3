import marshmallow as ma
from flask import g
from marshmallow import validate

from ..auth.models import User
from ..common import PageArgs, UTCDateTime, page_schema
from ..extensions import db
from .models import BUCKETS, FLAGS, STAGES


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
    phone = ma.fields.String()
    language = ma.fields.String()
    addresses = ma.fields.List(ma.fields.Nested(AddressSchema))


class AccountSchema(ma.Schema):
    account_number = ma.fields.Method("_number")
    card_masked = ma.fields.String()
    currency = ma.fields.String()
    balance = ma.fields.Decimal(as_string=True)
    overdue_amount = ma.fields.Decimal(as_string=True)
    days_past_due = ma.fields.Integer()
    bucket = ma.fields.String()

    def _number(self, account):
        # agents get the masked card only (R15: data minimised on devices)
        return None if g.user.role == "agent" else account.account_number


class FlagSchema(ma.Schema):
    id = ma.fields.Integer()
    flag = ma.fields.String()
    reason = ma.fields.String()
    set_by_id = ma.fields.Integer(allow_none=True)
    set_at = UTCDateTime()
    expires_at = UTCDateTime(allow_none=True)
    cleared_at = UTCDateTime(allow_none=True)


class CaseSchema(ma.Schema):
    id = ma.fields.Integer()
    stage = ma.fields.String()
    version = ma.fields.Integer()
    branch_id = ma.fields.Integer(allow_none=True)
    owner_id = ma.fields.Integer(allow_none=True)
    account = ma.fields.Nested(AccountSchema)
    debtor = ma.fields.Nested(DebtorSchema)
    flags = ma.fields.Method("_flags")
    last_contact_at = UTCDateTime(allow_none=True)
    broken_promises = ma.fields.Integer()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()

    def _flags(self, case):
        return FlagSchema(many=True).dump(case.active_flags())


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


class FlagCreateSchema(ma.Schema):
    flag = ma.fields.String(required=True, validate=validate.OneOf(FLAGS))
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=1000))
    expires_at = UTCDateTime(load_default=None, allow_none=True)


class FlagClearSchema(ma.Schema):
    reason = ma.fields.String(load_default="cleared", validate=validate.Length(max=1000))


class TimelineEventSchema(ma.Schema):
    id = ma.fields.Integer()
    seq = ma.fields.Integer()
    kind = ma.fields.String()
    at = UTCDateTime()
    actor_id = ma.fields.Integer(allow_none=True)
    actor = ma.fields.Method("_actor", dump_only=True, metadata={"description": "the actor's display name; null for the system"})
    data = ma.fields.Dict()
    data_sha256 = ma.fields.String()
    redacted_at = UTCDateTime(allow_none=True, metadata={"description": "set when R8 retention blanked the data"})
    prev_hash = ma.fields.String()
    hash = ma.fields.String()

    def _actor(self, event):
        user = db.session.get(User, event.actor_id) if event.actor_id is not None else None
        return (user.display_name or user.username) if user is not None else None


class ChainSchema(ma.Schema):
    verified = ma.fields.Boolean()
    events = ma.fields.Integer()
    redacted = ma.fields.Integer(metadata={"description": "events whose data R8 retention blanked (checked by digest)"})
    first_broken = ma.fields.Dict(allow_none=True)
    head = ma.fields.String()


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


class ImportReportSchema(ma.Schema):
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    unchanged = ma.fields.Integer()
    rejected = ma.fields.Integer()
    needs_geocode = ma.fields.Integer()
    rows = ma.fields.List(ma.fields.Nested(ImportRowSchema))


class ImportFileSchema(ma.Schema):
    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
