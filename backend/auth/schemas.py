import marshmallow as ma
from marshmallow import validate

from ..common import UTCDateTime
from .models import ROLES
from .passwords import password_problems


class LoginSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))
    device_id = ma.fields.String(load_default="", validate=validate.Length(max=64))


class UserSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    username = ma.fields.String()
    display_name = ma.fields.String()
    role = ma.fields.String()
    locale = ma.fields.String()
    active = ma.fields.Boolean()
    agent_id = ma.fields.Method("_agent_id", dump_only=True)

    def _agent_id(self, user):
        return user.agent.id if user.agent else None


class TokenResponseSchema(ma.Schema):
    token = ma.fields.String()
    expires_at = UTCDateTime()
    user = ma.fields.Nested(UserSchema)


class DeviceTokenSchema(ma.Schema):
    id = ma.fields.Integer()
    device_id = ma.fields.String()
    created_at = UTCDateTime()
    last_used_at = UTCDateTime(allow_none=True)
    expires_at = UTCDateTime()
    revoked_at = UTCDateTime(allow_none=True)
    revoked_reason = ma.fields.String(allow_none=True)


class UserCreateSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{2,64}$"))
    password = ma.fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=256))
    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))
    display_name = ma.fields.String(load_default="", validate=validate.Length(max=120))
    locale = ma.fields.String(load_default="zh-CN", validate=validate.OneOf(["zh-CN", "en"]))

    @ma.validates_schema
    def _strong_enough(self, data, **kwargs):
        if "password" in data and "username" in data:
            problems = password_problems(data["password"], data["username"])
            if problems:
                raise ma.ValidationError(problems, field_name="password")


class UserUpdateSchema(ma.Schema):
    display_name = ma.fields.String(validate=validate.Length(max=120))
    locale = ma.fields.String(validate=validate.OneOf(["zh-CN", "en"]))
    active = ma.fields.Boolean()
    password = ma.fields.String(load_only=True, validate=validate.Length(min=8, max=256))
    role = ma.fields.String(validate=validate.OneOf(ROLES))
