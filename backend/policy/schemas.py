import marshmallow as ma
from marshmallow import validate

from ..common import UTCDateTime
from .models import SCRIPT_KINDS, SCRIPT_STATUSES
from .settings import JURISDICTIONS
from .strategies import LOCALES


class JurisdictionQuery(ma.Schema):
    jurisdiction = ma.fields.String(load_default="CN", validate=validate.OneOf(JURISDICTIONS))


class LocaleQuery(ma.Schema):
    locale = ma.fields.String(load_default="zh-CN", validate=validate.OneOf(LOCALES))


class SettingSchema(ma.Schema):
    jurisdiction = ma.fields.String()
    key = ma.fields.String()
    scope = ma.fields.String()
    rule = ma.fields.String()
    description = ma.fields.String()
    value = ma.fields.Raw(allow_none=True)
    default = ma.fields.Raw(allow_none=True)
    source = ma.fields.String(metadata={"description": "default | changed"})
    changed_by_id = ma.fields.Integer(allow_none=True)
    changed_at = UTCDateTime(allow_none=True)
    reason = ma.fields.String()


class SettingChangeSchema(ma.Schema):
    value = ma.fields.Raw(required=True, allow_none=False, metadata={"description": "shape per setting (see GET)"})
    reason = ma.fields.String(required=True, validate=validate.Length(min=3, max=500))


class SettingHistorySchema(ma.Schema):
    id = ma.fields.Integer()
    jurisdiction = ma.fields.String()
    key = ma.fields.String()
    value = ma.fields.Raw(allow_none=True)
    reason = ma.fields.String()
    changed_by_id = ma.fields.Integer(allow_none=True)
    changed_at = UTCDateTime()


class ScriptQuery(ma.Schema):
    key = ma.fields.String()
    kind = ma.fields.String(validate=validate.OneOf(SCRIPT_KINDS))
    locale = ma.fields.String(validate=validate.OneOf(LOCALES))
    status = ma.fields.String(validate=validate.OneOf(SCRIPT_STATUSES))


class ScriptVersionSchema(ma.Schema):
    id = ma.fields.Integer(allow_none=True, metadata={"description": "null for a built-in version 1"})
    key = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "script (spoken at the door) | letter (rendered to a PDF)"})
    strategy = ma.fields.String()
    locale = ma.fields.String()
    version = ma.fields.Integer()
    text = ma.fields.String()
    legal_wording = ma.fields.Boolean()
    status = ma.fields.String()
    source = ma.fields.String()
    note = ma.fields.String()
    created_by_id = ma.fields.Integer(allow_none=True)
    created_at = UTCDateTime(allow_none=True)
    decided_by_id = ma.fields.Integer(allow_none=True)
    decided_at = UTCDateTime(allow_none=True)
    problems = ma.fields.List(ma.fields.String(), metadata={"description": "R7 scan: why it could not be approved"})


class ScriptProposeSchema(ma.Schema):
    key = ma.fields.String(required=True, validate=validate.Regexp(r"^[a-z_]+\.[a-z_]+$", error="strategy.name, lower case"))
    kind = ma.fields.String(
        load_default="script",
        validate=validate.OneOf(SCRIPT_KINDS),
        metadata={"description": "letter: a letter template keyed letter.<name>"},
    )
    locale = ma.fields.String(required=True, validate=validate.OneOf(LOCALES))
    text = ma.fields.String(required=True, validate=validate.Length(min=5, max=2000))
    strategy = ma.fields.String()
    legal_wording = ma.fields.Boolean()
    note = ma.fields.String(load_default="", validate=validate.Length(max=500))


class ScriptDecisionSchema(ma.Schema):
    decision = ma.fields.String(required=True, validate=validate.OneOf(("approve", "reject", "retire")))
    note = ma.fields.String(load_default="", validate=validate.Length(max=500))


class ScriptSetSchema(ma.Schema):
    locale = ma.fields.String()
    strategies = ma.fields.List(ma.fields.Dict())


class RecommendationSchema(ma.Schema):
    placeholder = ma.fields.Boolean()
    locale = ma.fields.String()
    profile = ma.fields.Dict()
    strategies = ma.fields.List(ma.fields.Dict())


class EligibilityQuery(ma.Schema):
    date = ma.fields.Date(required=True)
    address_id = ma.fields.Integer()


class EligibilitySchema(ma.Schema):
    case_id = ma.fields.Integer()
    date = ma.fields.Date()
    allowed = ma.fields.Boolean()
    findings = ma.fields.List(ma.fields.Dict())
    windows = ma.fields.List(ma.fields.List(UTCDateTime()), metadata={"description": "[start, end] pairs in UTC"})


class PlanCheckSchema(ma.Schema):
    case_id = ma.fields.Integer(required=True)
    terms = ma.fields.Dict(required=True)
    as_of = ma.fields.Date()


class PlanCheckResultSchema(ma.Schema):
    status = ma.fields.String()
    findings = ma.fields.List(ma.fields.Dict())
    policy_version = ma.fields.String()
    approver_role = ma.fields.String()


class NoteReviewSchema(ma.Schema):
    text = ma.fields.String(required=True, validate=validate.Length(max=20000))


class NoteReviewResultSchema(ma.Schema):
    review_flag = ma.fields.String(allow_none=True)
    phrases = ma.fields.List(ma.fields.Dict())
