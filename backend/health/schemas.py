"""Health shapes: a report of checks; when not ready it also carries the one error shape."""

import marshmallow as ma


class LivenessSchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "ok"})


class CheckSchema(ma.Schema):
    ok = ma.fields.Boolean(required=True)
    error = ma.fields.String()
    revision = ma.fields.List(ma.fields.String())
    head = ma.fields.List(ma.fields.String())
    workers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), metadata={"description": "per queue: workers listening"})


class ReadinessSchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "ready"})
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(CheckSchema))
    code = ma.fields.String()
    message = ma.fields.String()
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))
