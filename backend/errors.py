"""One JSON error shape for every error: {"code", "message", "errors"} (and, when fields
are wrong, "field_codes": each field message as a stable code with its params)."""

import errno
import json
import math
import re
from typing import NoReturn

import marshmallow as ma
from flask import current_app
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api
from flask_smorest import abort as _abort
from flask_smorest.arguments import ArgumentsMixin
from sqlalchemy.exc import DataError
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import IntegerConverter

from .extensions import db

# the widest integer a database column can hold (SQLite and BIGINT); ids are INTEGER (32 bits)
INT64_MAX = 2**63 - 1
ID_MAX = 2**31 - 1

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


# The common field messages (marshmallow's own and this module's checks) → a stable code and
# the values it names, so a screen says them in its reader's language; any other message has
# the code "invalid" and keeps its English text (docs/consoles.md, server codes).
FIELD_MESSAGES = (
    (re.compile(r"^Missing data for required field\.$"), "required"),
    (re.compile(r"^Field may not be null\.$"), "required"),
    (re.compile(r"^Unknown field\.$"), "unknown_field"),
    (re.compile(r"^Longer than maximum length (?P<max>\d+)\.$"), "too_long"),
    (re.compile(r"^Shorter than minimum length (?P<min>\d+)\.$"), "too_short"),
    (re.compile(r"^Length must be between (?P<min>\d+) and (?P<max>\d+)\.$"), "length_between"),
    (re.compile(r"^Length must be (?P<equal>\d+)\.$"), "length_equal"),
    (re.compile(r"^Must be one of: (?P<choices>.*)\.$"), "one_of"),
    (re.compile(r"^Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\.$"), "between"),
    (re.compile(r"^Must be greater than or equal to (?P<min>\S+)\.$"), "at_least"),
    (re.compile(r"^Must be less than or equal to (?P<max>\S+)\.$"), "at_most"),
    (re.compile(r"^Must be greater than (?P<min>\S+)\.$"), "more_than"),
    (re.compile(r"^Must be less than (?P<max>\S+)\.$"), "less_than"),
    (
        re.compile(r"^Not a valid (?P<kind>integer|number|date|datetime|time|email address|URL|UUID|boolean|string|list|mapping type)\.$"),
        "not_a",
    ),
    (re.compile(r"^Number out of range \(at most (?P<max>\d+)\)\.$"), "at_most"),
    (re.compile(r"^Text with a NUL character or a lone surrogate\.$"), "bad_characters"),
    (re.compile(r"^String does not match expected pattern\.$"), "pattern"),
    (re.compile(r"^Special numeric values \(nan or infinity\) are not permitted\.$"), "not_finite"),
    # the CSV importers' row messages (cases/importing.py, payments/services.py)
    (re.compile(r"^unknown branch (?P<value>.+)$"), "unknown_branch"),
    (re.compile(r"^no case owner with that username$"), "unknown_owner"),
    (re.compile(r"^unknown account$"), "unknown_account"),
    (re.compile(r"^appears twice in this file$"), "duplicate_in_file"),
    (re.compile(r"^more values than columns$"), "extra_values"),
    (re.compile(r"^cannot exceed balance$"), "over_balance"),
    (re.compile(r"^give both lat and lon, or neither$"), "lat_lon_pair"),
    (re.compile(r"^which channel the contact used: (?P<choices>.*)$"), "contact_channel_needed"),
    (re.compile(r"^when the contact was made"), "contact_at_needed"),
    (re.compile(r"^a contact cannot be in the future$"), "in_future"),
    (re.compile(r"^the account is in (?P<currency>[A-Z]{3})$"), "other_currency"),
    (re.compile(r"^already imported"), "already_imported"),
    (re.compile(r"^no such receipt$"), "unknown_receipt"),
    (re.compile(r"^not cash \(taken by (?P<method>\w+)\)$"), "not_cash"),
    (re.compile(r"^already banked \(deposit (?P<id>\d+)\)$"), "already_banked"),
)
KINDS = {"mapping type": "object", "email address": "email", "datetime": "datetime", "URL": "url", "UUID": "uuid"}


def message_code(message: str) -> dict:
    """One field message → {"code", "params"} (the code "invalid" for a message of its own)."""
    for pattern, code in FIELD_MESSAGES:
        match = pattern.match(message)
        if match:
            params = match.groupdict()
            if "kind" in params:
                params["kind"] = KINDS.get(params["kind"], params["kind"])
            if "choices" in params:
                params["choices"] = params["choices"].split(", ")
            return {"code": code, "params": params}
    return {"code": "invalid", "params": {}}


def field_codes(errors) -> dict:
    """{field: [message, …]} → {field: [{"code", "params", "message"}, …]}; nested fields
    ("terms": {"schedule": […]}) are named by their dotted path."""
    out: dict[str, list[dict]] = {}

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) and not all(isinstance(item, str) for item in value):
            for n, item in enumerate(value):
                walk(item, path if isinstance(item, str) else f"{path}.{n}")
        else:
            for message in value if isinstance(value, list) else [value]:
                out.setdefault(path or "_schema", []).append({**message_code(str(message)), "message": str(message)})

    walk(errors or {}, "")
    return out


def with_field_codes(entry: dict) -> dict:
    """An import report's row: its `errors`, if any, also as `field_codes`."""
    if entry.get("errors"):
        entry["field_codes"] = field_codes(entry["errors"])
    return entry


def error_body(status: int, message: str | None = None, errors=None, code: str | None = None):
    """The one shape; with field errors, `field_codes` names each message by a code."""
    body = {
        "code": code or CODES.get(status, "error"),
        "message": message or "",
        "errors": errors or {},
    }
    if errors:
        body["field_codes"] = field_codes(errors)
    return body


def abort(status: int, message: str, errors=None, code: str | None = None, **extra) -> NoReturn:
    """Stop the request with the one error shape."""
    _abort(status, message=message, errors=errors or {}, error_code=code, extra=extra)
    raise AssertionError("flask_smorest.abort raises")  # (for the type checker: it never returns)


def _is_id(key: str) -> bool:
    return key in ("id", "page", "agent", "case") or key.endswith(("_id", "_ids"))


def _storable(text: str) -> bool:
    """PostgreSQL text holds no NUL, and no database holds half a UTF-16 pair."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _walk_free(value, path: str, limit: int, found: dict, *, deep: bool = False) -> None:
    """Free-form content (a Dict or Raw field: plan terms, a sync op's payload): every number
    and text in it, ids by their key's name. `deep` names the place inside (`payload.text`),
    else the field."""
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not -limit <= value <= limit:
        found.setdefault(path, []).append(f"Number out of range (at most {limit}).")
    elif isinstance(value, float) and not math.isfinite(value):  # 1e400 parses as infinity
        found.setdefault(path, []).append("Number out of range (not finite).")
    elif isinstance(value, str) and not _storable(value):
        found.setdefault(path, []).append("Text with a NUL character or a lone surrogate.")
    elif isinstance(value, dict):
        for key, inner in value.items():
            if not _storable(str(key)):
                found.setdefault(path, []).append("A key with a NUL character or a lone surrogate.")
            inner_path = f"{path}.{_printable(str(key))}" if deep else path
            _walk_free(inner, inner_path, ID_MAX if _is_id(str(key)) else limit, found, deep=deep)
    elif isinstance(value, (list, tuple)):
        for index, inner in enumerate(value):
            _walk_free(inner, f"{path}.{index}" if deep else path, limit, found, deep=deep)


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def unstorable_values(value, path: str) -> dict:
    """Per place, what no database column can hold in free-form content (a sync op checks its
    own payload with this, so one bad op is rejected and kept, not the whole batch refused)."""
    found: dict = {}
    _walk_free(value, path, INT64_MAX, found, deep=True)
    return found


def storable_copy(value):
    """The same content with what no column can hold made visible text: NUL as `\\x00`, a lone
    surrogate as `\\udxxx`, a number past 64 bits as its digits — kept for the case owner to read."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, int):
        return value if -INT64_MAX <= value <= INT64_MAX else str(value)
    if isinstance(value, str):
        return value if _storable(value) else _printable(value)
    if isinstance(value, dict):
        return {storable_copy(str(key)): storable_copy(inner) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable_copy(inner) for inner in value]
    return value


def _check_value(field: ma.fields.Field, value, path: str, found: dict) -> None:
    if value is None or field.metadata.get("checked_by_handler"):
        return
    if isinstance(field, ma.fields.Integer) and not isinstance(value, bool):
        limit = ID_MAX if _is_id(path.rsplit(".", 1)[-1]) else INT64_MAX
        if not -limit <= value <= limit:
            found.setdefault(path, []).append(f"Number out of range (at most {limit}).")
    elif isinstance(field, ma.fields.String) and isinstance(value, str) and not _storable(value):
        found.setdefault(path, []).append("Text with a NUL character or a lone surrogate.")
    elif isinstance(field, ma.fields.List) and isinstance(value, (list, tuple)):
        for item in value:
            _check_value(field.inner, item, path, found)
    elif isinstance(field, ma.fields.Nested) and value:
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, dict):
                _check_schema(field.schema, item, f"{path}.", found)
    elif isinstance(field, (ma.fields.Dict, ma.fields.Raw)):
        _walk_free(value, path, ID_MAX if _is_id(path.rsplit(".", 1)[-1]) else INT64_MAX, found)
    # (a field marked `checked_by_handler` — a sync batch's ops — is checked op by op instead)


def _check_schema(schema: ma.Schema, data: dict, prefix: str, found: dict) -> None:
    for name, field in schema.fields.items():
        key = field.attribute or name
        if key in data:
            _check_value(field, data[key], f"{prefix}{name}", found)


# --- request bodies: nesting ---------------------------------------------------------

# deeper than any shape the API takes (a sync op's payload is a few levels), far below the
# recursion that would crash the parser
JSON_MAX_DEPTH = 64


class NestedTooDeeply(json.JSONDecodeError):
    pass


def _too_deep(value) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        if depth > JSON_MAX_DEPTH:
            return True
        stack.extend((inner, depth + 1) for inner in item if isinstance(inner, (dict, list)))
    return False


def loads_bounded(text: str | bytes):
    """json.loads with a nesting limit: too deep is a decoding error (a 400), never a RecursionError."""
    message = f"JSON nested more than {JSON_MAX_DEPTH} levels deep."
    try:
        value = json.loads(text)
    except RecursionError:
        raise NestedTooDeeply(message, "(body)", 0) from None  # (webargs takes an empty doc for "no body")
    if _too_deep(value):
        raise NestedTooDeeply(message, "(body)", 0)
    return value


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON (request.get_json) with the nesting limit."""

    def loads(self, s, **kwargs):
        return loads_bounded(s)


class BoundedParser(FlaskParser):
    """webargs' parser, refusing what the database cannot hold or compare, anywhere in the
    arguments (free-form content included — docs/sync.md relies on it for a batch's ops):
    integers past a 32-bit INTEGER (ids, pages) or 64 bits (anything else), text with NUL or
    lone surrogates — a 422 per field instead of a driver's error (a 500, or a 503 resent forever)."""

    def _raw_load_json(self, req):
        """webargs' loader with the nesting limit (webargs parses the body itself, not through Flask)."""
        if not is_json_request(req):
            return missing
        try:
            return loads_bounded(req.get_data(cache=True))
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError(f"Bytes decoding error: {exc.reason}", "", exc.start) from exc

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        reason = error.msg if isinstance(error, NestedTooDeeply) else "Invalid JSON body."
        _abort(400, exc=error, messages={"json": [reason]})

    def _process_location_data(self, location_data, schema, req, location, unknown, validators):
        data = super()._process_location_data(location_data, schema, req, location, unknown, validators)
        found: dict = {}
        if isinstance(data, dict):
            _check_schema(schema, data, "", found)
        if found:
            raise ma.ValidationError(found)
        return data


# every domain's flask_smorest.Blueprint parses @blp.arguments with this one parser
ArgumentsMixin.ARGUMENTS_PARSER = BoundedParser()


class IdConverter(IntegerConverter):
    """`<int:...>` in URLs: an id larger than an INTEGER column matches no route (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)


class DoorstepApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def init_app(self, app, *args, **kwargs):
        # before any blueprint's rules are bound: every <int:...> becomes a bounded id
        app.url_map.converters["int"] = IdConverter
        app.json = BoundedJSONProvider(app)  # request.get_json with the nesting limit
        super().init_app(app, *args, **kwargs)
        self.register_converter(IdConverter, _id_param_schema)

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
        body = error_body(error.code or 500, message, errors, data.get("error_code"))
        body.update(data.get("extra") or {})
        headers = data.get("headers") or {}
        if error.code == 401:
            headers.setdefault("WWW-Authenticate", "Bearer")
        if error.code == 503:  # every 503 says when to try again, in the body and the header
            body.setdefault("retry_after", RETRY_AFTER_BUSY_S)
            headers.setdefault("Retry-After", str(body["retry_after"]))
        return body, error.code, headers

    def handle_unexpected(self, error: Exception):
        if isinstance(error, HTTPException):
            return self.handle_http_exception(error)
        # a failed flush leaves the session unusable: the teardown that ends the request's
        # transaction would raise outside every handler (the server's own HTML 500)
        _rollback_quietly()
        if _value_out_of_range(error):
            # a number that passed validation but not the column (e.g. a count into a 32-bit column)
            current_app.logger.warning("out of range for its column: %s", error)
            return error_body(422, "A number in the request is out of range.", code="out_of_range"), 422
        outage = storage_outage(error)
        if outage is not None:
            message, retry_after = outage
            current_app.logger.warning("storage unavailable: %s", error)
            return self.handle_http_exception(ServiceUnavailable(description=message, retry_after=retry_after))
        current_app.logger.exception("unhandled error")
        return self.handle_http_exception(InternalServerError("Something went wrong on the server."))


# the API extension (flask-smorest), bound in create_app beside extensions.db
api = DoorstepApi()


# --- storage outages: 503 with retry_after ----------------------------------------------

RETRY_AFTER_BUSY_S = 2  # a write lock held by another request: gone in moments
RETRY_AFTER_DOWN_S = 30  # read-only, full or unreachable storage: an operator has to act

_SQLITE_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
_SQLITE_DOWN = ("SQLITE_READONLY", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_PROTOCOL", "SQLITE_NOLFS")
# PostgreSQL SQLSTATEs: 40001 serialization, 40P01 deadlock, 55P03 lock not available;
# 08 connection, 53 insufficient resources (disk full, out of memory, too many connections),
# 57P0x shutdown / cannot connect now, 25006 read-only transaction (a standby)
_PG_BUSY = ("40001", "40P01", "55P03")
_PG_DOWN = ("08", "53", "57P0", "25006")
_OS_DOWN = {errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EIO}


class ServiceUnavailable(HTTPException):
    code = 503

    def __init__(self, description=None, response=None, retry_after: int = RETRY_AFTER_BUSY_S):
        super().__init__(description=description, response=response)
        self.data = {"extra": {"retry_after": retry_after}, "headers": {"Retry-After": str(retry_after)}}


def storage_outage(error: BaseException) -> tuple[str, int] | None:
    """(message, seconds to wait) when `error` says the database or the server's files cannot be
    written right now — not a bug in the request or the code — else None."""
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    busy = ("The database is busy; try again in a moment.", RETRY_AFTER_BUSY_S)
    down = ("The server cannot write its data right now; try again later.", RETRY_AFTER_DOWN_S)
    if isinstance(error, PoolTimeout):
        return busy
    if isinstance(error, DBAPIError):
        orig = error.orig
        name = getattr(orig, "sqlite_errorname", None)
        if name is not None:
            if name.startswith(_SQLITE_BUSY):
                return busy
            return down if name.startswith(_SQLITE_DOWN) else None
        state = getattr(orig, "sqlstate", None)
        if state:
            if state.startswith(_PG_BUSY):
                return busy
            return down if state.startswith(_PG_DOWN) else None
        if error.connection_invalidated or type(orig).__module__.startswith("psycopg"):
            return down  # PostgreSQL could not be reached at all (no SQLSTATE)
        return None
    if isinstance(error, OSError) and error.errno in _OS_DOWN:
        return down
    return None


def _rollback_quietly() -> None:
    from sqlalchemy.exc import DBAPIError

    try:
        db.session.rollback()
    except DBAPIError as exc:  # the connection is gone as well: the session's removal discards it
        current_app.logger.info("rollback after a storage outage failed: %s", exc)


def _id_param_schema(converter: IdConverter) -> dict:
    return {"type": "integer", "minimum": 0, "maximum": converter.max}


def _value_out_of_range(error: Exception) -> bool:
    if isinstance(error, OverflowError):  # SQLite: larger than 64 bits
        return True
    return isinstance(error, DataError) and type(error.orig).__name__ == "NumericValueOutOfRange"
