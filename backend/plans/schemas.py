import marshmallow as ma
from marshmallow import validate

from ..common import PageArgs, UTCDateTime, page_schema
from .models import STATUSES


class InstallmentSchema(ma.Schema):
    seq = ma.fields.Integer()
    due_date = ma.fields.Date()
    amount = ma.fields.Decimal(as_string=True)
    paid_amount = ma.fields.Decimal(as_string=True)
    status = ma.fields.String()


class SignatureSchema(ma.Schema):
    id = ma.fields.Integer()
    blob_sha256 = ma.fields.String(allow_none=True)
    url = ma.fields.Function(lambda s: f"/api/blobs/{s.blob_sha256}" if s.blob_sha256 else None)
    terms_hash = ma.fields.String()
    matches_terms = ma.fields.Function(lambda s: s.plan is not None and s.terms_hash == s.plan.terms_hash)
    signer_name = ma.fields.String()
    refused = ma.fields.Boolean()
    refused_reason = ma.fields.String(allow_none=True)
    signed_at = UTCDateTime()


class PlanSchema(ma.Schema):
    id = ma.fields.Integer()
    case_id = ma.fields.Integer()
    visit_id = ma.fields.Integer(allow_none=True)
    kind = ma.fields.String()
    status = ma.fields.String()
    currency = ma.fields.String()
    total_amount = ma.fields.Decimal(as_string=True, metadata={"description": "payable after discount"})
    down_payment = ma.fields.Decimal(as_string=True)
    discount_pct = ma.fields.Decimal(as_string=True)
    term_months = ma.fields.Integer()
    terms = ma.fields.Dict()
    terms_hash = ma.fields.String()
    policy_version = ma.fields.String()
    policy_findings = ma.fields.List(ma.fields.Dict())
    created_by_id = ma.fields.Integer(allow_none=True)
    created_at = UTCDateTime()
    decided_by_id = ma.fields.Integer(allow_none=True)
    decided_at = UTCDateTime(allow_none=True)
    decision_reason = ma.fields.String(allow_none=True)
    superseded_by_id = ma.fields.Integer(allow_none=True)


class PlanDetailSchema(PlanSchema):
    installments = ma.fields.List(ma.fields.Nested(InstallmentSchema))
    signatures = ma.fields.List(ma.fields.Nested(SignatureSchema))


PlanPageSchema = page_schema(PlanSchema)


class PlanQuerySchema(PageArgs):
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    agent = ma.fields.Integer(metadata={"description": "agent id: plans that agent proposed"})
    case = ma.fields.Integer(metadata={"description": "case id"})


class ApproveSchema(ma.Schema):
    reason = ma.fields.String(load_default="", validate=validate.Length(max=2000))


class RejectSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))
