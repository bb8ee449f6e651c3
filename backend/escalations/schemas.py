import marshmallow as ma
from marshmallow import validate

from ..common import PageArgs, UTCDateTime, page_schema
from .models import KINDS, QUEUES, STATUSES


class TicketCreateSchema(ma.Schema):
    case_id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf(tuple(KINDS)))
    reason = ma.fields.String(required=True, validate=validate.Length(min=3, max=2000))


class TicketQuerySchema(PageArgs):
    queue = ma.fields.String(validate=validate.OneOf(QUEUES))
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    case_id = ma.fields.Integer()
    overdue = ma.fields.Boolean(metadata={"description": "only tickets past (true) or within (false) their SLA"})


class TicketSchema(ma.Schema):
    id = ma.fields.Integer()
    case_id = ma.fields.Integer()
    queue = ma.fields.String()
    kind = ma.fields.String()
    reason = ma.fields.String()
    status = ma.fields.String()
    source = ma.fields.String()
    sla_due_at = UTCDateTime()
    overdue = ma.fields.Boolean()
    raised_by_id = ma.fields.Integer(allow_none=True)
    raised_at = UTCDateTime()
    claimed_by_id = ma.fields.Integer(allow_none=True)
    claimed_at = UTCDateTime(allow_none=True)
    resolved_by_id = ma.fields.Integer(allow_none=True)
    resolved_at = UTCDateTime(allow_none=True)
    resolution = ma.fields.String(allow_none=True)
    flag_cleared = ma.fields.Boolean()


TicketPageSchema = page_schema(TicketSchema)


class TicketResolveSchema(ma.Schema):
    resolution = ma.fields.String(required=True, validate=validate.Length(min=3, max=2000))
    clear_flag = ma.fields.Boolean(load_default=True, metadata={"description": "lift the escalated flag (when no other ticket is open)"})
