"""Small shared helpers: time, canonical JSON, hashing, field types."""

import hashlib
import json
from datetime import UTC, datetime

import marshmallow as ma

from .extensions import db


def utcnow() -> datetime:
    """Naive UTC: the one way times are stored (SQLite keeps no offsets)."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_utc_naive(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def iso_z(value: datetime | None) -> str | None:
    """A stored naive-UTC time as ISO 8601 with an explicit Z (None stays None)."""
    return value.isoformat() + "Z" if value is not None else None


def canonical_json(value) -> str:
    """Deterministic JSON (sorted keys, no spaces) for hashing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


class UTCDateTime(ma.fields.DateTime):
    """Dumps stored naive-UTC datetimes with an explicit Z; loads any offset to naive UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        return to_utc_naive(parsed)


class PageArgs(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=500))


def page_schema(item_schema: type[ma.Schema], name: str | None = None) -> type[ma.Schema]:
    """The envelope paginate() returns, around one item schema (named <Item>PageSchema)."""
    name = name or item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return type(
        name,
        (ma.Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "page": ma.fields.Integer(),
            "per_page": ma.fields.Integer(),
            "total": ma.fields.Integer(),
        },
    )


def paginate(select_stmt, page: int, per_page: int):
    result = db.paginate(select_stmt, page=page, per_page=per_page, error_out=False)
    return {
        "items": result.items,
        "page": page,
        "per_page": per_page,
        "total": result.total,
    }
