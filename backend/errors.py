"""One JSON error shape for every error: {"code", "message", "errors"}."""
from flask import current_app
from flask_smorest import Api, abort as _abort
from werkzeug.exceptions import HTTPException, InternalServerError
import marshmallow as ma

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}


class ErrorSchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "machine-readable error code"})
    message = ma.fields.String()
    errors = ma.fields.Dict(metadata={"description": "per-field messages"})


def _flatten(messages):
    """webargs nests messages by location ({"json": {...}}); callers want fields."""
    if not isinstance(messages, dict):
        return {"_schema": messages if isinstance(messages, list) else [str(messages)]}
    locations = {"json", "query", "form", "files", "headers", "view_args", "path"}
    if messages and set(messages) <= locations:
        flat: dict = {}
        for inner in messages.values():
            if isinstance(inner, dict):
                flat.update(inner)
            else:
                flat.setdefault("_schema", []).extend(inner if isinstance(inner, list) else [inner])
        return flat
    return messages


def error_body(status: int, message: str | None = None, errors=None, code: str | None = None):
    body = {
        "code": code or CODES.get(status, "error"),
        "message": message or "",
        "errors": errors or {},
    }
    return body


def abort(status: int, message: str, errors=None, code: str | None = None, **extra):
    """Stop the request with the one error shape."""
    _abort(status, message=message, errors=errors or {}, error_code=code, extra=extra)


class DoorstepApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        super()._register_error_handlers()
        self._app.register_error_handler(Exception, self.handle_unexpected)

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        errors = data.get("errors")
        if errors is None and "messages" in data:
            errors = data["messages"]
        errors = _flatten(errors) if errors else {}
        message = data.get("message") or error.description or error.name
        if error.code == 422 and not data.get("message"):
            message = "The request has invalid fields."
        body = error_body(error.code, message, errors, data.get("error_code"))
        body.update(data.get("extra") or {})
        headers = data.get("headers") or {}
        if error.code == 401:
            headers.setdefault("WWW-Authenticate", "Bearer")
        return body, error.code, headers

    def handle_unexpected(self, error: Exception):
        if isinstance(error, HTTPException):
            return self.handle_http_exception(error)
        current_app.logger.exception("unhandled error")
        return self.handle_http_exception(InternalServerError("Something went wrong on the server."))
