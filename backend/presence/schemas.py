import marshmallow as ma
from marshmallow import validate

from ..common import UTCDateTime
from .services import REQUEST_KINDS

TOKEN = ma.fields.String(
    required=True, validate=validate.Length(min=1, max=200), metadata={"description": "the badge link's token (the part after #)"}
)


class BadgeCheckSchema(ma.Schema):
    token = TOKEN


class BadgeIdentifySchema(BadgeCheckSchema):
    id_last4 = ma.fields.String(required=True, validate=validate.Regexp(r"^\d{4}$", error="four digits"))


class BadgeRequestSchema(BadgeIdentifySchema):
    kind = ma.fields.String(required=True, validate=validate.OneOf(REQUEST_KINDS))
    reason = ma.fields.String(load_default="", validate=validate.Length(max=500))


class BadgeViewSchema(ma.Schema):
    kind = ma.fields.String(metadata={"description": "live (the badge at the door) | card (the leave-behind card, R14)"})
    status = ma.fields.String(metadata={"description": "valid | expired | revoked"})
    made_at = ma.fields.String()
    valid_until = ma.fields.String()
    agent = ma.fields.Dict()
    organisation = ma.fields.Dict()
    language = ma.fields.String()


class BadgeConfirmedSchema(ma.Schema):
    confirmed_at = ma.fields.String()
    already = ma.fields.Boolean(metadata={"description": "confirmed before (a second scan)"})
    disclosure = ma.fields.String(metadata={"description": "R6 in the debtor's language"})


class BadgeRequestResultSchema(ma.Schema):
    kind = ma.fields.String()
    flag = ma.fields.String()
    ticket_id = ma.fields.Integer()


class PhotoSchema(ma.Schema):
    id = ma.fields.Integer()
    visit_id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": "door | building"})
    sha256 = ma.fields.String(
        attribute="blob_sha256",
        allow_none=True,
        metadata={"description": "the JPEG at GET /api/blobs/{sha256}; null once retention purged it"},
    )
    width = ma.fields.Integer()
    height = ma.fields.Integer()
    taken_at = UTCDateTime()
    received_at = UTCDateTime()


class PhotoUploadSchema(ma.Schema):
    photo = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary", "description": "PNG or JPEG"})


class PortraitSchema(ma.Schema):
    agent_id = ma.fields.Integer()
    blob_sha256 = ma.fields.String()
    content_type = ma.fields.String()
    width = ma.fields.Integer()
    height = ma.fields.Integer()
    uploaded_at = UTCDateTime()
