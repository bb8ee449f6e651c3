"""Case import from CSV (docs/import.md): validated per row, keyed on account number,
idempotent, nothing dropped — every row is reported created, updated, unchanged or rejected.

Rows are applied in chunks of CHUNK_ROWS, each in its own short transaction that also records
the progress on the import's ImportRun: a large file never holds the database's write lock for
long (SQLite has one writer), and one cut off part-way keeps what it applied — importing the
same file again finishes it (applied rows come back unchanged)."""

import csv
import io
from contextlib import contextmanager
from decimal import Decimal

import marshmallow as ma
from marshmallow import validate
from sqlalchemy import exists, select
from sqlalchemy.exc import DBAPIError

from ..auth.models import User
from ..common import UTCDateTime, sha256_hex, utcnow
from ..errors import abort, with_field_codes
from ..extensions import db
from ..geo.services import queue_geocoding, timezone_at
from ..org.models import Branch
from .models import CONTACT_CHANNELS, STAGES, Account, Address, Case, Debtor, ImportRun, TimelineEvent
from .services import append_event, record_contact

REQUIRED_COLUMNS = ("account_number", "debtor_name", "address_line", "balance", "overdue_amount", "days_past_due")
MAX_BYTES = 20 * 1024 * 1024
CHUNK_ROWS = 200  # rows per transaction: a fraction of a second of write lock


class ImportRow(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    account_number = ma.fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9-]{4,32}$"))
    card_number = ma.fields.String(load_default="", validate=validate.Regexp(r"^[0-9 *-]{0,23}$"))
    debtor_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    phone = ma.fields.String(load_default="", validate=validate.Length(max=40))
    id_last4 = ma.fields.String(load_default="", validate=validate.Regexp(r"^[0-9Xx]{0,4}$"))
    language = ma.fields.String(load_default="zh-CN", validate=validate.OneOf(["zh-CN", "en"]))
    address_line = ma.fields.String(required=True, validate=validate.Length(min=1, max=255))
    city = ma.fields.String(load_default="", validate=validate.Length(max=80))
    postal_code = ma.fields.String(load_default="", validate=validate.Length(max=16))
    country = ma.fields.String(load_default="CN", validate=validate.Regexp(r"^[A-Z]{2}$"))
    lat = ma.fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=-90, max=90))
    lon = ma.fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=-180, max=180))
    currency = ma.fields.String(load_default="CNY", validate=validate.Regexp(r"^[A-Z]{3}$"))
    balance = ma.fields.Decimal(required=True, places=2, validate=validate.Range(min=0))
    overdue_amount = ma.fields.Decimal(required=True, places=2, validate=validate.Range(min=0))
    days_past_due = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=10000))
    stage = ma.fields.String(load_default="field", validate=validate.OneOf(STAGES))
    branch_code = ma.fields.String(load_default="")
    owner_username = ma.fields.String(load_default="")
    # a contact attempt of the early rungs (the ladder's work), recorded as the case event
    contact_channel = ma.fields.String(load_default=None, validate=validate.OneOf(CONTACT_CHANNELS))
    contact_at = UTCDateTime(load_default=None)
    contact_result = ma.fields.String(load_default="", validate=validate.Length(max=64))
    contact_note = ma.fields.String(load_default="", validate=validate.Length(max=2000))

    @ma.pre_load
    def _blank_is_missing(self, data, **kwargs):
        return {k: v.strip() for k, v in data.items() if k and v is not None and v.strip() != ""}

    @ma.validates_schema
    def _coordinates_pair(self, data, **kwargs):
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise ma.ValidationError("give both lat and lon, or neither", "lat")
        if data.get("overdue_amount", 0) > data.get("balance", 0):
            raise ma.ValidationError("cannot exceed balance", "overdue_amount")

    @ma.validates_schema
    def _contact_complete(self, data, **kwargs):
        if data.get("contact_channel") is None:
            if data.get("contact_at") or data.get("contact_result") or data.get("contact_note"):
                raise ma.ValidationError("which channel the contact used: " + ", ".join(CONTACT_CHANNELS), "contact_channel")
            return
        if data.get("contact_at") is None:
            raise ma.ValidationError("when the contact was made (ISO 8601 with offset)", "contact_at")
        if data["contact_at"] > utcnow():
            raise ma.ValidationError("a contact cannot be in the future", "contact_at")


def mask_card(number: str) -> str:
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"**** **** **** {digits[-4:]}" if len(digits) >= 4 else "****"


def parse_csv(raw: bytes) -> list[dict]:
    """Decode and split the upload; anything that is not a usable CSV is a 422."""
    if not raw:
        abort(422, "The file is empty.", errors={"file": ["empty file"]})
    if len(raw) > MAX_BYTES:
        abort(413, "The file is larger than 20 MB; split it.", errors={"file": ["too large"]})
    if b"\x00" in raw[:4096]:
        abort(422, "This is not a CSV text file.", errors={"file": ["binary content"]})
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        abort(422, "The file is not UTF-8 encoded; save it as CSV UTF-8.", errors={"file": ["not UTF-8"]})
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            abort(
                422,
                "The file lacks required columns: " + ", ".join(missing) + ".",
                errors={"columns": [f"missing {c}" for c in missing]},
            )
        reader.fieldnames = header
        return [dict(row) for row in reader]
    except csv.Error as exc:
        abort(422, f"The file is not valid CSV: {exc}.", errors={"file": [str(exc)]})


# --- import runs: chunked transactions with progress (cases and payments) ------------------


def start_import_run(*, kind: str, raw: bytes, total_rows: int, actor_id: int | None, counts: dict) -> ImportRun:
    run = ImportRun(kind=kind, actor_id=actor_id, file_sha256=sha256_hex(raw), total_rows=total_rows, counts=dict(counts))
    db.session.add(run)
    db.session.commit()
    return run


def record_progress(run: ImportRun, *, processed_rows: int, counts: dict) -> None:
    """Part of the chunk's transaction: the rows and the progress saying so commit together."""
    run.processed_rows = processed_rows
    run.counts = dict(counts)
    run.updated_at = utcnow()


def finish_import_run(run: ImportRun, *, rejected_rows: list) -> None:
    run.status = "done"
    run.rejected_rows = rejected_rows
    run.pending_case_ids = []
    run.updated_at = run.finished_at = utcnow()


@contextmanager
def failing_marks(run: ImportRun):
    """An error part-way marks the run failed (its applied chunks stay) and goes on up."""
    try:
        yield
    except BaseException as exc:
        db.session.rollback()
        run.status = "failed"
        run.error = f"{type(exc).__name__}: {exc}"[:255]
        run.updated_at = utcnow()
        try:
            db.session.commit()
        except DBAPIError:  # the database itself failed: the run stays "running", its updated_at stale
            db.session.rollback()
        raise


def chunks(rows: list, size: int):
    """(row number, row) in lists of `size`; row 1 is the header."""
    numbered = list(enumerate(rows, start=2))
    for start in range(0, len(numbered), size):
        yield numbered[start : start + size]


def get_import_run(*, kind: str, import_id: int) -> ImportRun:
    run = db.session.get(ImportRun, import_id)
    if run is None or run.kind != kind:
        abort(404, "No such import.")
    return run


# --- cases -------------------------------------------------------------------------------------


def import_cases(*, raw: bytes, actor_id: int | None) -> dict:
    rows = parse_csv(raw)
    schema = ImportRow()
    report = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0, "needs_geocode": 0, "rows": []}
    counts = {k: v for k, v in report.items() if k != "rows"}
    run = start_import_run(kind="cases", raw=raw, total_rows=len(rows), actor_id=actor_id, counts=counts)
    seen: set[str] = set()
    with failing_marks(run):
        for chunk in chunks(rows, CHUNK_ROWS):
            branches = {b.code: b for b in db.session.scalars(select(Branch))}
            to_geocode = 0
            for number, row in chunk:
                entry = _import_case_row(number, row, schema, branches, seen, actor_id)
                report[entry["status"]] += 1
                if entry.get("geocode_status") == "needs_geocode":
                    to_geocode += 1
                report["rows"].append(with_field_codes(entry))
            report["needs_geocode"] += to_geocode
            if to_geocode:
                queue_geocoding()  # handed over when this chunk's rows are committed
            record_progress(run, processed_rows=chunk[-1][0] - 1, counts={k: report[k] for k in counts})
            db.session.commit()
        finish_import_run(run, rejected_rows=[r for r in report["rows"] if r["status"] == "rejected"])
        db.session.commit()
    report["import_id"] = run.id
    return report


def _import_case_row(number: int, row: dict, schema: ImportRow, branches: dict, seen: set, actor_id: int | None) -> dict:
    extra = row.pop(None, None)
    entry = {"row": number, "account_number": (row.get("account_number") or "").strip() or None, "errors": {}}
    try:
        if extra:
            raise ma.ValidationError({"_row": ["more values than columns"]})
        data = schema.load(row)
        if data["account_number"] in seen:
            raise ma.ValidationError({"account_number": ["appears twice in this file"]})
        errors = {}
        if data["branch_code"] and data["branch_code"] not in branches:
            errors["branch_code"] = [f"unknown branch {data['branch_code']}"]
        owner = None
        if data["owner_username"]:
            owner = db.session.scalar(select(User).where(User.username == data["owner_username"]))
            if owner is None or owner.role not in ("owner", "admin"):
                errors["owner_username"] = ["no case owner with that username"]
        if errors:
            raise ma.ValidationError(errors)
    except ma.ValidationError as exc:
        entry.update(status="rejected", errors=exc.normalized_messages(), case_id=None)
        return entry
    seen.add(data["account_number"])
    status, case, address = _upsert(data, branches.get(data["branch_code"]), owner, actor_id)
    if data["contact_channel"] and _record_contact_once(case, data, actor_id) and status == "unchanged":
        status = "updated"
    entry.update(status=status, case_id=case.id, geocode_status=address.geocode_status)
    return entry


def _record_contact_once(case: Case, data: dict, actor_id: int | None) -> bool:
    """The row's contact attempt as a `contact.<channel>` event, unless that channel at that time is
    already on the case (re-importing the file records nothing twice). True when recorded."""
    kind, at = f"contact.{data['contact_channel']}", data["contact_at"].isoformat()
    known = db.session.scalar(
        select(exists().where(TimelineEvent.case_id == case.id, TimelineEvent.kind == kind, TimelineEvent.data["at"].as_string() == at))
    )
    if known:
        return False
    record_contact(
        case=case,
        channel=data["contact_channel"],
        at=data["contact_at"],
        result=data["contact_result"],
        note=data["contact_note"],
        actor_id=actor_id,
    )
    return True


def _locate(data: dict, branch: Branch | None) -> dict:
    """Coordinates as given, or none yet and geocode status needs_geocode (the geocoding job,
    queued at the commit, fills them in); the debtor's timezone."""
    lat, lon = data["lat"], data["lon"]
    status = "provided" if lat is not None else "needs_geocode"
    tz = timezone_at(lat, lon) if lat is not None else None
    tz = tz or (branch.timezone if branch else "") or ""
    return {"lat": lat, "lon": lon, "geocode_status": status, "timezone": tz}


def _upsert(data: dict, branch: Branch | None, owner, actor_id: int | None):
    account = db.session.scalar(select(Account).where(Account.account_number == data["account_number"]))
    card = mask_card(data["card_number"]) if data["card_number"] else None
    if account is None:
        debtor = Debtor(name=data["debtor_name"], phone=data["phone"], id_last4=data["id_last4"], language=data["language"])
        db.session.add(debtor)
        db.session.flush()
        address = Address(
            debtor_id=debtor.id,
            line=data["address_line"],
            city=data["city"],
            postal_code=data["postal_code"],
            country=data["country"],
            **_locate(data, branch),
        )
        account = Account(
            account_number=data["account_number"],
            card_masked=card or "****",
            debtor_id=debtor.id,
            currency=data["currency"],
            balance=data["balance"],
            overdue_amount=data["overdue_amount"],
            days_past_due=data["days_past_due"],
        )
        db.session.add_all([address, account])
        db.session.flush()
        case = Case(
            account_id=account.id,
            stage=data["stage"],
            branch_id=branch.id if branch else None,
            owner_id=owner.id if owner else None,
        )
        db.session.add(case)
        db.session.flush()
        append_event(case=case, kind="case.imported", actor_id=actor_id, data={"account_number": account.account_number})
        return "created", case, address

    case = db.session.scalar(select(Case).where(Case.account_id == account.id))
    debtor = account.debtor
    address = debtor.addresses[0]
    changes: dict = {}

    def put(obj, attr, value, label=None):
        if value is not None and getattr(obj, attr) != value:
            changes[label or attr] = {"from": _plain(getattr(obj, attr)), "to": _plain(value)}
            setattr(obj, attr, value)

    put(debtor, "name", data["debtor_name"], "debtor_name")
    put(debtor, "phone", data["phone"])
    put(debtor, "id_last4", data["id_last4"])
    put(debtor, "language", data["language"])
    put(account, "card_masked", card)
    put(account, "currency", data["currency"])
    put(account, "balance", Decimal(data["balance"]))
    put(account, "overdue_amount", Decimal(data["overdue_amount"]))
    put(account, "days_past_due", data["days_past_due"])
    put(case, "stage", data["stage"])
    if branch:
        put(case, "branch_id", branch.id)
    if owner:
        put(case, "owner_id", owner.id)
    moved = (address.line, address.city, address.postal_code, address.country) != (
        data["address_line"],
        data["city"],
        data["postal_code"],
        data["country"],
    )
    coords_given = data["lat"] is not None and (
        address.lat is None or abs(address.lat - data["lat"]) > 1e-6 or abs(address.lon - data["lon"]) > 1e-6
    )
    if moved or coords_given or (address.geocode_status == "needs_geocode" and data["lat"] is None):
        located = _locate(data, branch)
        for attr in ("line", "city", "postal_code", "country"):
            put(address, attr, data["address_line"] if attr == "line" else data[attr], f"address_{attr}")
        for attr, value in located.items():
            if value is not None or attr in ("lat", "lon"):
                put(address, attr, value, f"address_{attr}")
    if not changes:
        return "unchanged", case, address
    case.version += 1
    append_event(case=case, kind="case.updated", actor_id=actor_id, data={"source": "import", "changes": changes})
    return "updated", case, address


def _plain(value):
    return str(value) if isinstance(value, Decimal) else value
