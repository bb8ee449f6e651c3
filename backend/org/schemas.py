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
