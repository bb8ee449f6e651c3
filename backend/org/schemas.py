import marshmallow as ma
from marshmallow import validate

from ..auth.schemas import UserSchema


class BranchSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    lat = ma.fields.Float()
    lon = ma.fields.Float()
    timezone = ma.fields.String()
    jurisdiction = ma.fields.String()
    # the route planner's settings (docs/routing.md); what each may be: BranchUpdateSchema
    circuity = ma.fields.Float()
    speed_kmh = ma.fields.Float()
    balance_by = ma.fields.String(allow_none=True)
    balance_max_loss = ma.fields.Float()
    travel_cost = ma.fields.Float(allow_none=True)
    at_home_model = ma.fields.Boolean()


BALANCE_BY = ("stops", "duration")


class BranchUpdateSchema(ma.Schema):
    """The admin's change to a branch's route-planner settings: only the fields sent change."""

    circuity = ma.fields.Float(validate=validate.Range(min=1.0, max=3.0), metadata={"description": "road km per straight-line km"})
    speed_kmh = ma.fields.Float(validate=validate.Range(min=5, max=120), metadata={"description": "average driving speed"})
    balance_by = ma.fields.String(
        allow_none=True,
        validate=validate.OneOf(BALANCE_BY),
        metadata={"description": "balance work between agents by stops or duration; null: off"},
    )
    balance_max_loss = ma.fields.Float(
        validate=validate.Range(min=0, max=0.2), metadata={"description": "share of the best priority balancing may give up"}
    )
    travel_cost = ma.fields.Float(
        allow_none=True,
        validate=validate.Range(min=0, max=10000),
        metadata={"description": "priority points one hour of driving costs; null: travel only breaks ties"},
    )
    # only JSON true or false (not "yes" or "1")
    at_home_model = ma.fields.Boolean(truthy={True}, falsy={False}, metadata={"description": "plan for the chance of finding someone home"})


class AgentSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    user = ma.fields.Nested(UserSchema, dump_only=True)
    branch_id = ma.fields.Integer()
    shift_start_s = ma.fields.Integer(validate=validate.Range(min=0, max=86400))
    shift_end_s = ma.fields.Integer(validate=validate.Range(min=0, max=86400))
    daily_cap = ma.fields.Integer(validate=validate.Range(min=0, max=60))
    skills = ma.fields.List(ma.fields.String(validate=validate.Length(max=32)))
    start_lat = ma.fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    start_lon = ma.fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    active = ma.fields.Boolean()
    badge_no = ma.fields.String(allow_none=True, validate=validate.Length(max=32))


class AgentCreateSchema(AgentSchema):
    user_id = ma.fields.Integer(required=True)
    branch_id = ma.fields.Integer(required=True)


class AgentUpdateSchema(AgentSchema):
    class Meta:
        partial = True


class AgentQuerySchema(ma.Schema):
    branch_id = ma.fields.Integer()


class RevokeSchema(ma.Schema):
    reason = ma.fields.String(load_default="revoked by admin", validate=validate.Length(max=120))
    device_id = ma.fields.String(load_default=None, allow_none=True)


class RevokeResultSchema(ma.Schema):
    revoked = ma.fields.Integer()
