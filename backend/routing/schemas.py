import marshmallow as ma
from marshmallow import validate

from ..common import PageArgs, UTCDateTime, page_schema
from .models import STATUSES

SECONDS = validate.Range(min=0.5, max=600, error="between 0.5 and 600 seconds")


class RoutePlanCreateSchema(ma.Schema):
    date = ma.fields.Date(required=True, metadata={"description": "the day to plan (the branch's calendar)"})
    branch_id = ma.fields.Integer(load_default=None, allow_none=True)
    agent_ids = ma.fields.List(ma.fields.Integer(), load_default=None, allow_none=True, validate=validate.Length(min=1, max=1000))
    seconds = ma.fields.Float(load_default=10.0, validate=SECONDS, metadata={"description": "solver time budget"})


class RoutePlanQuerySchema(PageArgs):
    date = ma.fields.Date()
    branch_id = ma.fields.Integer()
    status = ma.fields.String(validate=validate.OneOf(STATUSES))


class MoveSchema(ma.Schema):
    visit_id = ma.fields.Integer(load_default=None, allow_none=True, metadata={"description": "an existing visit in the plan"})
    case_id = ma.fields.Integer(load_default=None, allow_none=True, metadata={"description": "or the case (for a visit not created yet)"})
    agent_id = ma.fields.Integer(required=True, allow_none=True, metadata={"description": "null: unassign"})
    position = ma.fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1),
        metadata={"description": "1-based stop position; omitted: where it adds least travel"},
    )
    pin = ma.fields.Boolean(load_default=None, allow_none=True, metadata={"description": "pin to the agent (true) or unpin (false)"})
    version = ma.fields.Integer(load_default=None, allow_none=True, metadata={"description": "the plan version you saw"})

    @ma.validates_schema
    def _one_visit(self, data, **kwargs):
        if (data.get("visit_id") is None) == (data.get("case_id") is None):
            raise ma.ValidationError("give exactly one of visit_id and case_id", "visit_id")


class ReplanSchema(ma.Schema):
    seconds = ma.fields.Float(load_default=10.0, validate=SECONDS)


class WindowSchema(ma.Schema):
    start = UTCDateTime()
    end = UTCDateTime()


class StopSchema(ma.Schema):
    ref = ma.fields.String(metadata={"description": "v<visit id> or c<case id> (visit made at publish)"})
    visit_id = ma.fields.Integer(allow_none=True)
    case_id = ma.fields.Integer()
    debtor = ma.fields.String()
    position = ma.fields.Integer()
    arrival = UTCDateTime(allow_none=True)
    start = UTCDateTime(allow_none=True)
    end = UTCDateTime(allow_none=True)
    window = ma.fields.Nested(WindowSchema, allow_none=True)
    priority = ma.fields.Integer()
    priority_factors = ma.fields.Dict(metadata={"description": "points each collectability factor earned"})
    skills = ma.fields.List(ma.fields.String())
    pinned = ma.fields.Boolean()
    fixed = ma.fields.Boolean(metadata={"description": "done or under way: stays where it is"})
    follow_up = ma.fields.Dict(allow_none=True, metadata={"description": "the return visit due today it fulfils: id, due_on, reason"})
    required_agents = ma.fields.Integer(metadata={"description": "R9: 2 for a two-person visit (served only by a crew)"})
    status = ma.fields.String()
    at_home = ma.fields.Float(
        allow_none=True, metadata={"description": "the chance of finding someone home at the start, from past outcomes (None: no estimate)"}
    )


class RouteSchema(ma.Schema):
    agent_id = ma.fields.Integer()
    agent_name = ma.fields.String()
    partner_id = ma.fields.Integer(allow_none=True, metadata={"description": "R9: the crew's second agent (the route is the lead's)"})
    partner_name = ma.fields.String(allow_none=True)
    shift_start = UTCDateTime()
    shift_end = UTCDateTime()
    back_at = UTCDateTime(allow_none=True)
    travel_s = ma.fields.Integer()
    km = ma.fields.Float()
    work_s = ma.fields.Integer(allow_none=True, metadata={"description": "working time of the planned stops: travel plus time at the door"})
    stops = ma.fields.List(ma.fields.Nested(StopSchema))
    violations = ma.fields.List(ma.fields.Dict())


class UnassignedSchema(StopSchema):
    reason = ma.fields.String(metadata={"description": "why, in English"})
    code = ma.fields.String(metadata={"description": "why, as a stable code (docs/routing.md)"})
    params = ma.fields.Dict(metadata={"description": "the values the code's sentence names"})

    class Meta:
        exclude = ("position", "arrival", "start", "end", "window", "fixed", "status", "at_home")


class ExcludedSchema(ma.Schema):
    case_id = ma.fields.Integer()
    visit_id = ma.fields.Integer(allow_none=True)
    reasons = ma.fields.List(ma.fields.Dict(), metadata={"description": "[{rule, code, params, message}] — every rule that excludes it"})


class RoutePlanSummarySchema(ma.Schema):
    id = ma.fields.Integer()
    date = ma.fields.Date()
    branch_id = ma.fields.Integer(allow_none=True)
    status = ma.fields.String()
    percent = ma.fields.Integer(metadata={"description": "while solving: share of the time budget used"})
    seconds = ma.fields.Float()
    version = ma.fields.Integer()
    replan_of_id = ma.fields.Integer(allow_none=True)
    created_at = UTCDateTime()
    created_by_id = ma.fields.Integer(allow_none=True)
    published_at = UTCDateTime(allow_none=True)
    error = ma.fields.String(allow_none=True)
    stats = ma.fields.Dict()


class FollowUpDueSchema(ma.Schema):
    follow_up_id = ma.fields.Integer()
    case_id = ma.fields.Integer()
    due_on = ma.fields.String()
    reason = ma.fields.String()
    status = ma.fields.String(metadata={"description": "planned | unassigned | excluded"})
    agent_id = ma.fields.Integer(metadata={"description": "planned: the agent"})
    start = UTCDateTime(metadata={"description": "planned: when the visit starts"})
    why = ma.fields.List(ma.fields.String(), metadata={"description": "unassigned or excluded: why, in English"})
    reasons = ma.fields.List(ma.fields.Dict(), metadata={"description": "unassigned or excluded: [{code, params, message}]"})


class RoutePlanSchema(RoutePlanSummarySchema):
    timezone = ma.fields.String(allow_none=True, metadata={"description": "the plan's reference timezone"})
    routes = ma.fields.List(ma.fields.Nested(RouteSchema))
    unassigned = ma.fields.List(ma.fields.Nested(UnassignedSchema))
    excluded = ma.fields.List(ma.fields.Nested(ExcludedSchema))
    follow_ups = ma.fields.List(ma.fields.Nested(FollowUpDueSchema), metadata={"description": "every follow-up due: planned or why not"})
    violations = ma.fields.List(
        ma.fields.Dict(), metadata={"description": "[{agent, visit?, rule, code, params, message}]; publishing is refused while any"}
    )


RoutePlanPageSchema = page_schema(RoutePlanSummarySchema, "RoutePlanPageSchema")


class MoveResultSchema(ma.Schema):
    ref = ma.fields.String()
    visit_id = ma.fields.Integer(allow_none=True)
    case_id = ma.fields.Integer()
    from_agent_id = ma.fields.Integer(allow_none=True)
    to_agent_id = ma.fields.Integer(allow_none=True)
    position = ma.fields.Integer(allow_none=True)
    pinned = ma.fields.Boolean()
    violations = ma.fields.List(ma.fields.Dict(), metadata={"description": "what this move breaks (also on the plan)"})


class MovedPlanSchema(RoutePlanSchema):
    move = ma.fields.Nested(MoveResultSchema)
