"""Sync wire formats: the ops envelope, each op type's payload, the feed and the owner queue."""

import re
import uuid

import marshmallow as ma
from marshmallow import validate

from ..common import PageArgs, UTCDateTime, page_schema
from ..payments.models import COLLECTION_METHODS
from ..plans.models import KINDS
from ..presence.services import PHOTO_KINDS
from ..visits.models import OUTCOMES

MAX_OPS_PER_BATCH = 500
ESCALATION_KINDS = ("dispute", "complaint", "legal", "other")
MET = ("debtor", "third_party", "nobody")


# --- envelope ---------------------------------------------------------------------


def _op_id(value) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


class OpsEnvelopeSchema(ma.Schema):
    """Only what keeps ops addressable is checked here; each op's content is checked on its own."""

    device_id = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    # each op's content (text with NUL, numbers no column holds …) is checked on its own, so a bad
    # op is rejected and kept while the rest of the batch is applied (backend.sync.ops._start)
    ops = ma.fields.List(
        ma.fields.Dict(),
        required=True,
        validate=validate.Length(max=MAX_OPS_PER_BATCH),
        metadata={"checked_by_handler": True},
    )

    @ma.validates("ops")
    def _ids(self, ops, **kwargs):
        # an op without a usable id cannot be stored idempotently: the whole request is refused
        errors = {}
        for index, op in enumerate(ops):
            if _op_id(op.get("id")) is None:
                errors[index] = {"id": ["required: the op's UUID (its idempotency key)"]}
        if errors:
            raise ma.ValidationError(errors)


class OpSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    type = ma.fields.String(required=True)
    at = UTCDateTime(required=True, metadata={"description": "device time the agent did it (display only)"})
    payload = ma.fields.Dict(required=True)


class OpResultSchema(ma.Schema):
    id = ma.fields.String()
    status = ma.fields.String(metadata={"description": "applied | duplicate | conflict | rejected"})
    detail = ma.fields.Raw(allow_none=True)
    code = ma.fields.String(metadata={"description": "machine-readable reason for a conflict or rejection"})
    params = ma.fields.Dict(metadata={"description": "the values the reason names, for the reader's own language (with `code`)"})
    errors = ma.fields.Dict()
    server = ma.fields.Dict()
    first = ma.fields.Dict(metadata={"description": "for a duplicate: the op's first answer"})


class OpsResponseSchema(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(OpResultSchema))
    cursor = ma.fields.Integer(metadata={"description": "head of your delta feed; GET /changes when it is past yours"})


# --- op payloads --------------------------------------------------------------------


class _Payload(ma.Schema):
    class Meta:
        # a field the server does not know would be kept only in the raw op record, applied
        # nowhere: the op is rejected with a per-field error instead, so nothing is silently lost
        unknown = ma.RAISE


class CheckinPayload(_Payload):
    visit_id = ma.fields.Integer(required=True, strict=True)
    version = ma.fields.Integer(strict=True, metadata={"description": "the visit version the device last saw"})
    lat = ma.fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lon = ma.fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    accuracy_m = ma.fields.Float(required=True, validate=validate.Range(min=0))
    reason_far = ma.fields.String(validate=validate.Length(max=500), allow_none=True)


class CheckoutPayload(_Payload):
    visit_id = ma.fields.Integer(required=True, strict=True)
    version = ma.fields.Integer(strict=True)
    lat = ma.fields.Float(validate=validate.Range(min=-90, max=90), allow_none=True)
    lon = ma.fields.Float(validate=validate.Range(min=-180, max=180), allow_none=True)


class OutcomePayload(_Payload):
    visit_id = ma.fields.Integer(required=True, strict=True)
    version = ma.fields.Integer(strict=True)
    code = ma.fields.String(required=True, validate=validate.OneOf(sorted(OUTCOMES)))
    met = ma.fields.String(required=True, validate=validate.OneOf(MET))
    disclosure_at = UTCDateTime(allow_none=True, load_default=None)
    # R6 "time and GPS": where the disclosure was acknowledged, when the device had a fix
    disclosure_lat = ma.fields.Float(validate=validate.Range(min=-90, max=90), allow_none=True)
    disclosure_lon = ma.fields.Float(validate=validate.Range(min=-180, max=180), allow_none=True)
    # "agreed to come back on …": becomes an open follow-up of kind visit, due that day
    follow_up_date = ma.fields.Date()
    follow_up_note = ma.fields.String(validate=validate.Length(min=1, max=500))
    amount = ma.fields.Decimal(validate=validate.Range(min=0, min_inclusive=False), as_string=True)
    due_date = ma.fields.Date()
    plan_id = ma.fields.Integer(strict=True)
    plan_ref = ma.fields.String(validate=validate.Length(max=36))
    reason = ma.fields.String(validate=validate.Length(min=1, max=2000))
    # what was used at the door (what works): a playbook strategy and an approved script's key,
    # checked against the playbook and the scripts by the visits service
    strategy = ma.fields.String(validate=validate.Length(min=1, max=40), metadata={"description": "key of the strategy used"})
    script = ma.fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "key of the approved script used"})

    @ma.validates_schema
    def _code_fields(self, data, **kwargs):
        spec = OUTCOMES.get(data.get("code"))
        if spec is None:
            return
        errors: dict = {}
        for name in spec["requires"]:
            if name == "plan_id":
                if data.get("plan_id") is None and not data.get("plan_ref"):
                    errors["plan_ref"] = [f"{data['code']} needs plan_ref (or plan_id) of the agreed plan"]
            elif data.get(name) in (None, ""):
                errors[name] = [f"required for the {data['code']} outcome"]
        met = data.get("met")
        if data.get("follow_up_note") and not data.get("follow_up_date"):
            errors["follow_up_date"] = ["the day agreed to come back (the note goes with it)"]
        if data.get("follow_up_date") and met not in ("debtor", "third_party"):
            errors["follow_up_date"] = ["a return visit is agreed with someone met at the door"]
        if (data.get("disclosure_lat") is None) != (data.get("disclosure_lon") is None):
            errors["disclosure_lon" if data.get("disclosure_lon") is None else "disclosure_lat"] = ["latitude and longitude go together"]
        # R5: a debt outcome needs the debtor met; a third party gets no debt conversation
        if spec["contact"] == "rpc" and met != "debtor":
            errors["met"] = [f"{data['code']} needs the debtor met in person (right-party contact)"]
        if spec["contact"] == "third_party" and met != "third_party":
            errors["met"] = ["third_party_only means a third party was met"]
        if spec["contact"] == "none" and met == "debtor":
            errors["met"] = [f"{data['code']} means the debtor was not met"]
        if errors:
            raise ma.ValidationError(errors)


class InstallmentTerms(ma.Schema):
    seq = ma.fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    due_date = ma.fields.Date(required=True)
    amount = ma.fields.Decimal(required=True, validate=validate.Range(min=0, min_inclusive=False))


class PlanTerms(ma.Schema):
    """The canonical terms; their SHA-256 (canonical JSON) is what the debtor signs."""

    case_id = ma.fields.Integer(required=True, strict=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf(KINDS))
    currency = ma.fields.String(required=True, validate=validate.Length(equal=3))
    total = ma.fields.Decimal(required=True, validate=validate.Range(min=0, min_inclusive=False))
    discount_pct = ma.fields.Decimal(required=True, validate=validate.Range(min=0, max=100))
    payable = ma.fields.Decimal(required=True, validate=validate.Range(min=0, min_inclusive=False))
    down_payment = ma.fields.Decimal(required=True, validate=validate.Range(min=0))
    schedule = ma.fields.List(ma.fields.Nested(InstallmentTerms), required=True, validate=validate.Length(min=1, max=120))


class PlanProposePayload(_Payload):
    case_id = ma.fields.Integer(required=True, strict=True)
    visit_id = ma.fields.Integer(required=True, strict=True, metadata={"description": "the visit it was recorded under: its authority"})
    plan_ref = ma.fields.String(required=True, validate=validate.Length(min=8, max=36))
    terms = ma.fields.Nested(PlanTerms, required=True)
    terms_hash = ma.fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$", error="64 lower-case hex digits"))

    @ma.validates_schema
    def _same_case(self, data, **kwargs):
        if data.get("terms") and data.get("case_id") and data["terms"]["case_id"] != data["case_id"]:
            raise ma.ValidationError({"terms.case_id": ["must equal the op's case_id"]})


class SignaturePayload(_Payload):
    case_id = ma.fields.Integer(required=True, strict=True)
    visit_id = ma.fields.Integer(required=True, strict=True, metadata={"description": "the visit it was recorded under: its authority"})
    plan_ref = ma.fields.String(validate=validate.Length(max=36))
    plan_id = ma.fields.Integer(strict=True)
    terms_hash = ma.fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$", error="64 lower-case hex digits"))
    refused = ma.fields.Boolean(load_default=False)
    reason = ma.fields.String(validate=validate.Length(min=1, max=2000))
    png_base64 = ma.fields.String()
    png_sha256 = ma.fields.String(validate=validate.Regexp(r"^[0-9a-f]{64}$", error="64 lower-case hex digits"))
    strokes = ma.fields.List(ma.fields.Raw(), load_default=list)
    signer_name = ma.fields.String(load_default="", validate=validate.Length(max=120))

    @ma.validates_schema
    def _shape(self, data, **kwargs):
        errors = {}
        if data.get("plan_id") is None and not data.get("plan_ref"):
            errors["plan_ref"] = ["plan_ref (or plan_id) of the plan signed"]
        if data.get("refused"):
            if not data.get("reason"):
                errors["reason"] = ["why the debtor refused to sign"]
        else:
            for name in ("png_base64", "png_sha256"):
                if not data.get(name):
                    errors[name] = ["required unless refused"]
        if errors:
            raise ma.ValidationError(errors)


class NotePayload(_Payload):
    case_id = ma.fields.Integer(required=True, strict=True)
    visit_id = ma.fields.Integer(required=True, strict=True, metadata={"description": "the visit it was recorded under: its authority"})
    text = ma.fields.String(required=True, validate=validate.Length(min=1, max=5000))


class PhotoPayload(_Payload):
    """A photo of the door or the building (never of people), resized and re-encoded on the
    device (no EXIF), with its SHA-256."""

    visit_id = ma.fields.Integer(required=True, strict=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf(PHOTO_KINDS))
    jpeg_base64 = ma.fields.String(required=True, validate=validate.Length(min=1))
    sha256 = ma.fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$", error="64 lower-case hex digits"))


class EscalatePayload(_Payload):
    case_id = ma.fields.Integer(required=True, strict=True)
    visit_id = ma.fields.Integer(required=True, strict=True, metadata={"description": "the visit it was recorded under: its authority"})
    kind = ma.fields.String(required=True, validate=validate.OneOf(ESCALATION_KINDS))
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))


class MoneyString(ma.fields.Decimal):
    """An amount as a string with exactly two decimals ("150.00"), as plan terms write it: a
    float or "150.5" is refused rather than rounded."""

    def __init__(self, **kwargs):
        super().__init__(places=2, as_string=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not MONEY.match(value):
            raise ma.ValidationError('a string with two decimals, like "150.00"')
        return super()._deserialize(value, attr, data, **kwargs)


MONEY = re.compile(r"^(0|[1-9][0-9]{0,11})\.[0-9]{2}$")


class PaymentRecordPayload(_Payload):
    """Money taken at the door; the server answers with the collection and its receipt number."""

    case_id = ma.fields.Integer(required=True, strict=True)
    visit_id = ma.fields.Integer(required=True, strict=True, metadata={"description": "the visit it was recorded under: its authority"})
    amount = MoneyString(required=True, validate=validate.Range(min=0, min_inclusive=False, error="more than 0.00"))
    currency = ma.fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$", error="three capital letters, like CNY"))
    method = ma.fields.String(required=True, validate=validate.OneOf(COLLECTION_METHODS))
    reference = ma.fields.String(validate=validate.Length(min=1, max=64), allow_none=True)


# --- packet, feed, queue -------------------------------------------------------------


class PacketArgs(ma.Schema):
    date = ma.fields.Date(metadata={"description": "the day (default: today in the agent's branch timezone, never the phone's)"})
    purged = ma.fields.Integer(
        validate=validate.Range(min=0, max=1_000_000),
        metadata={"description": "R15: records the device deleted since its last report (journal items, visits, drafts)"},
    )
    purged_at = UTCDateTime(metadata={"description": "R15: when the device last deleted them"})


class ChangesArgs(ma.Schema):
    since = ma.fields.Integer(required=True, validate=validate.Range(min=0))
    limit = ma.fields.Integer(load_default=500, validate=validate.Range(min=1, max=2000))


class PacketSchema(ma.Schema):
    date = ma.fields.Date()
    agent = ma.fields.Dict()
    server_time = UTCDateTime()
    cursor = ma.fields.Integer()
    visits = ma.fields.List(ma.fields.Dict())
    rules = ma.fields.Dict()
    strategies = ma.fields.Dict()
    organisation = ma.fields.Dict()
    settings = ma.fields.Dict(
        metadata={
            "description": "map_tile_url: tiles for the day's map ('' = draw without tiles); "
            "map_tile_attribution: the credit to show with them; badge_ttl_s: how long a badge link is valid"
        }
    )


class ChangesSchema(ma.Schema):
    cursor = ma.fields.Integer()
    more = ma.fields.Boolean(metadata={"description": "true: call again with since=cursor"})
    changes = ma.fields.List(ma.fields.Dict())


class ExceptionQuerySchema(PageArgs):
    status = ma.fields.String(validate=validate.OneOf(("conflict", "rejected")))
    reviewed = ma.fields.Boolean()
    case_id = ma.fields.Integer()
    agent_id = ma.fields.Integer()
    owner_id = ma.fields.Integer(metadata={"description": "cases owned by this user"})
    type = ma.fields.String()


class ExceptionSchema(ma.Schema):
    op = ma.fields.Dict()
    status = ma.fields.String()
    reason = ma.fields.Raw(allow_none=True)
    errors = ma.fields.Dict()
    case = ma.fields.Dict(allow_none=True)
    device_id = ma.fields.String()
    agent = ma.fields.Dict(allow_none=True)
    received_at = UTCDateTime()
    reviewed_at = UTCDateTime(allow_none=True)
    reviewed_by_id = ma.fields.Integer(allow_none=True)
    review_note = ma.fields.String(allow_none=True)


ExceptionPageSchema = page_schema(ExceptionSchema)


class ReviewSchema(ma.Schema):
    note = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))
