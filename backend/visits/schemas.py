import marshmallow as ma
from marshmallow import validate
from sqlalchemy import inspect

from ..common import PageArgs, UTCDateTime, page_schema
from ..presence.score import presence_of
from .models import OUTCOMES, STATUSES
from .services import required_agents_by_visit, required_agents_of


class OutcomeSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    met = ma.fields.String()
    disclosure_at = UTCDateTime(allow_none=True)
    data = ma.fields.Dict()
    recorded_at = UTCDateTime()
    received_at = UTCDateTime()
    compliance_flags = ma.fields.List(ma.fields.Dict())
    reviewed_at = UTCDateTime(allow_none=True)


class VisitSchema(ma.Schema):
    id = ma.fields.Integer()
    case_id = ma.fields.Integer()
    agent_id = ma.fields.Integer(allow_none=True)
    partner_id = ma.fields.Integer(allow_none=True, metadata={"description": "R9: the second agent of a two-person visit"})
    partner_name = ma.fields.Function(lambda v: (v.partner.user.display_name or v.partner.user.username) if v.partner else None)
    required_agents = ma.fields.Method(
        "_required_agents", metadata={"description": "R9: 2 when the jurisdiction or the case's risk asks for two agents"}
    )
    address_id = ma.fields.Integer()
    date = ma.fields.Date()
    status = ma.fields.String()
    window = ma.fields.Method("_window")
    timezone = ma.fields.Method("_tz")
    service_s = ma.fields.Integer()
    priority = ma.fields.Integer()
    pinned = ma.fields.Boolean()
    route_plan_id = ma.fields.Integer(allow_none=True)
    route_position = ma.fields.Integer(allow_none=True)
    planned_arrival = UTCDateTime(allow_none=True)
    version = ma.fields.Integer()
    debtor_name = ma.fields.Function(lambda v: v.case.account.debtor.name)
    address = ma.fields.Function(lambda v: {"line": v.address.line, "city": v.address.city, "lat": v.address.lat, "lon": v.address.lon})
    overdue_amount = ma.fields.Function(lambda v: str(v.case.account.overdue_amount))
    checkin_at = UTCDateTime(allow_none=True)
    checkin_distance_m = ma.fields.Float(allow_none=True)
    checkin_flag = ma.fields.String(allow_none=True)
    partner_checkin_at = UTCDateTime(allow_none=True)
    partner_checkin_distance_m = ma.fields.Float(allow_none=True)
    checkout_at = UTCDateTime(allow_none=True)
    cancelled_reason = ma.fields.String(allow_none=True)
    outcome = ma.fields.Nested(OutcomeSchema, allow_none=True)

    def _required_agents(self, visit):
        # counted with the rest of its page (VisitPageSchema), else on its own
        return inspect(visit).info.pop(_REQUIRED_AGENTS, None) or required_agents_of(visit)

    def _window(self, visit):
        field = UTCDateTime()
        return {"start": field._serialize(visit.window_start, None, None), "end": field._serialize(visit.window_end, None, None)}

    def _tz(self, visit):
        return visit.address.timezone or (visit.case.branch.timezone if visit.case.branch else None)


# where a page's count waits for its visit's dump (taken when read, so never a stale one)
_REQUIRED_AGENTS = "required_agents"


class VisitPageSchema(page_schema(VisitSchema)):  # type: ignore[misc]
    @ma.pre_dump
    def _count_required_agents(self, page, **kwargs):
        """R9 for the whole page at once: its cases' outcomes in one query, not one per visit."""
        need = required_agents_by_visit(page["items"])
        for visit in page["items"]:
            inspect(visit).info[_REQUIRED_AGENTS] = need[visit.id]
        return page


class VisitDetailSchema(VisitSchema):
    presence = ma.fields.Method(
        "_presence", metadata={"description": "score 0–100, reasons [{code, detail}], debtor_confirmed_at (docs/presence.md)"}
    )

    def _presence(self, visit):
        return presence_of(visit)


class VisitQuerySchema(PageArgs):
    date = ma.fields.Date()
    agent_id = ma.fields.Integer()
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    case_id = ma.fields.Integer()


class VisitCreateSchema(ma.Schema):
    case_id = ma.fields.Integer(required=True)
    date = ma.fields.Date(required=True)
    agent_id = ma.fields.Integer(load_default=None, allow_none=True)
    address_id = ma.fields.Integer(load_default=None, allow_none=True)
    service_s = ma.fields.Integer(load_default=1800, validate=validate.Range(min=300, max=4 * 3600))
    priority = ma.fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=100))
    pinned = ma.fields.Boolean(load_default=False)
    publish = ma.fields.Boolean(load_default=False, metadata={"description": "publish to the agent at once"})


class VisitCancelSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class VisitAssignSchema(ma.Schema):
    agent_id = ma.fields.Integer(required=True, allow_none=True)
    version = ma.fields.Integer(required=True)


OUTCOME_CODES = sorted(OUTCOMES)
