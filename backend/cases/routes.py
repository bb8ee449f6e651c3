from flask import g
from flask_smorest import Blueprint
from sqlalchemy import select

from ..auth.guard import ANY_ROLE, roles
from ..common import paginate
from ..extensions import db
from .importing import get_import_run, import_cases
from .models import TimelineEvent
from .projection import project_case, project_chain, project_event
from .schemas import (
    CasePageSchema,
    CaseQuerySchema,
    CaseSchema,
    CaseUpdateSchema,
    ContactCreateSchema,
    FlagClearSchema,
    FlagCreateSchema,
    FlagSchema,
    ImportFileSchema,
    ImportReportSchema,
    ImportRunSchema,
    TimelineEventSchema,
    TimelineSchema,
)
from .services import clear_flag, get_case_for_user, list_cases, record_contact, set_flag, update_case, verify_timeline

blp = Blueprint("cases", __name__, url_prefix="/api/cases", description="Case records")


@blp.route("", methods=["GET"])
@roles(*ANY_ROLE)
@blp.arguments(CaseQuerySchema, location="query")
@blp.response(200, CasePageSchema)
def get_cases(args):
    """Cases, filtered and paginated (an agent sees only its own visits' cases)"""
    page, per_page = args.pop("page"), args.pop("per_page")
    result = paginate(list_cases(user=g.user, **args), page, per_page)
    return {**result, "items": [project_case(case, g.user) for case in result["items"]]}


@blp.route("/<int:case_id>", methods=["GET"])
@roles(*ANY_ROLE)
@blp.response(200, CaseSchema)
def get_case(case_id):
    """One case with its account, debtor and active flags (an agent: no account number, phone or identity digits)"""
    return project_case(get_case_for_user(case_id, user=g.user), g.user)


@blp.route("/<int:case_id>", methods=["PATCH"])
@roles("owner", "admin")
@blp.arguments(CaseUpdateSchema)
@blp.response(200, CaseSchema)
@blp.alt_response(409, description="The case changed since you read it, or the move skips a rung (code ladder)")
def patch_case(args, case_id):
    """Move a case along the ladder or hand it to another owner or branch"""
    case = get_case_for_user(case_id, user=g.user)
    version, reason, skip = args.pop("version"), args.pop("reason"), args.pop("skip")
    update_case(case=case, changes=args, version=version, reason=reason, actor=g.user, skip=skip)
    db.session.commit()
    return project_case(case, g.user)


@blp.route("/<int:case_id>/contacts", methods=["POST"])
@roles("owner", "admin")
@blp.arguments(ContactCreateSchema)
@blp.response(201, TimelineEventSchema)
def post_contact(args, case_id):
    """Record a contact attempt (phone call, SMS, letter): the work of the ladder's early rungs"""
    case = get_case_for_user(case_id, user=g.user)
    event = record_contact(case=case, actor_id=g.user.id, **args)
    db.session.commit()
    return event


@blp.route("/<int:case_id>/timeline", methods=["GET"])
@roles(*ANY_ROLE)
@blp.response(200, TimelineSchema)
def get_timeline(case_id):
    """The case's append-only timeline and whether its hash chain verifies (an agent: hidden fields
    read `hidden` and no chain material is shown; the verdict is the server's)"""
    case = get_case_for_user(case_id, user=g.user)
    events = db.session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case.id).order_by(TimelineEvent.seq)).all()
    return {
        "case_id": case.id,
        "chain": project_chain(verify_timeline(case_id=case.id), g.user),
        "events": [project_event(event, g.user) for event in events],
    }


@blp.route("/<int:case_id>/flags", methods=["POST"])
@roles("owner", "dispatcher", "admin")
@blp.arguments(FlagCreateSchema)
@blp.response(201, FlagSchema)
@blp.alt_response(409, description="That flag is already active")
def post_flag(args, case_id):
    """Set a visit-blocking flag; devices holding the case get a stop-work"""
    case = get_case_for_user(case_id, user=g.user)
    flag = set_flag(case=case, actor_id=g.user.id, **args)
    db.session.commit()
    return flag


@blp.route("/<int:case_id>/flags/<string:flag>", methods=["DELETE"])
@roles("owner", "admin")
@blp.arguments(FlagClearSchema, location="query")
@blp.response(204)
def delete_flag(args, case_id, flag):
    """Clear an active flag (with a reason, kept on the timeline)"""
    case = get_case_for_user(case_id, user=g.user)
    clear_flag(case=case, flag=flag, reason=args["reason"], actor_id=g.user.id)
    db.session.commit()


@blp.route("/import", methods=["POST"])
@roles("owner", "admin")
@blp.arguments(ImportFileSchema, location="files")
@blp.response(200, ImportReportSchema)
@blp.alt_response(422, description="Not a usable CSV file")
def post_import(args):
    """Import cases from CSV (multipart field `file`); per-row report, idempotent by account number"""
    upload = args["file"]
    raw = upload.read() if hasattr(upload, "read") else bytes(upload)
    return import_cases(raw=raw, actor_id=g.user.id)


@blp.route("/imports/<int:import_id>", methods=["GET"])
@roles("owner", "admin")
@blp.response(200, ImportRunSchema)
@blp.alt_response(404, description="No such case import")
def get_import(import_id):
    """A case import's progress: rows applied so far, counts, and when done the rejected rows"""
    return get_import_run(kind="cases", import_id=import_id)
