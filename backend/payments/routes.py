from flask import g
from flask_smorest import Blueprint
from sqlalchemy import select

from ..auth.guard import OFFICE, roles
from ..cases.importing import get_import_run
from ..cases.schemas import ImportRunSchema
from ..common import paginate
from ..errors import abort
from ..extensions import db
from .collections import collections_query
from .models import FollowUp, Payment, PromiseTrack
from .schemas import (
    CollectionPageSchema,
    CollectionQuerySchema,
    DepositImportReportSchema,
    EvaluateResultSchema,
    EvaluateSchema,
    FollowUpCloseSchema,
    FollowUpPageSchema,
    FollowUpQuerySchema,
    FollowUpSchema,
    PaymentImportFileSchema,
    PaymentImportQuerySchema,
    PaymentImportReportSchema,
    PaymentPageSchema,
    PaymentQuerySchema,
    PromisePageSchema,
    PromiseQuerySchema,
)
from .services import close_follow_up, evaluate_promises, follow_ups_query, import_deposits, import_payments

blp = Blueprint("payments", __name__, url_prefix="/api", description="Payment feed, promises and follow-ups")


@blp.route("/payments/import", methods=["POST"])
@roles("owner", "admin")
@blp.arguments(PaymentImportQuerySchema, location="query")
@blp.arguments(PaymentImportFileSchema, location="files")
@blp.response(200, PaymentImportReportSchema)
@blp.alt_response(422, description="Not a usable CSV file")
def post_payments_import(query, args):
    """Import the payment feed (CSV, multipart field `file`); idempotent by payment reference"""
    upload = args["file"]
    raw = upload.read() if hasattr(upload, "read") else bytes(upload)
    return import_payments(raw=raw, actor_id=g.user.id, as_of=query.get("as_of"))


@blp.route("/payments/imports/<int:import_id>", methods=["GET"])
@roles("owner", "admin")
@blp.response(200, ImportRunSchema)
@blp.alt_response(404, description="No such payment import")
def get_payments_import(import_id):
    """A payment import's progress: rows applied so far, counts, and when done the rejected rows"""
    return get_import_run(kind="payments", import_id=import_id)


@blp.route("/payments", methods=["GET"])
@roles(*OFFICE)
@blp.arguments(PaymentQuerySchema, location="query")
@blp.response(200, PaymentPageSchema)
def get_payments(args):
    """Imported payments with their allocation to promises and installments"""
    stmt = select(Payment).order_by(Payment.paid_on.desc(), Payment.id.desc())
    if args.get("case_id"):
        stmt = stmt.where(Payment.case_id == args["case_id"])
    if args.get("reference"):
        stmt = stmt.where(Payment.reference == args["reference"])
    return paginate(stmt, args["page"], args["per_page"])


@blp.route("/promises/evaluate", methods=["POST"])
@roles("owner", "admin")
@blp.arguments(EvaluateSchema)
@blp.response(200, EvaluateResultSchema)
def post_evaluate(args):
    """Decide open promises and plans as of a date: kept, partially kept, broken (with a follow-up)"""
    case_ids = [args["case_id"]] if args.get("case_id") else None
    states = evaluate_promises(as_of=args["as_of"], case_ids=case_ids, actor_id=g.user.id)
    db.session.commit()
    return {"as_of": args["as_of"], "states": states}


@blp.route("/promises", methods=["GET"])
@roles(*OFFICE)
@blp.arguments(PromiseQuerySchema, location="query")
@blp.response(200, PromisePageSchema)
def get_promises(args):
    """Where each tracked promise or plan stands against the payment feed"""
    stmt = select(PromiseTrack).order_by(PromiseTrack.id.desc())
    if args.get("case_id"):
        stmt = stmt.where(PromiseTrack.case_id == args["case_id"])
    if args.get("state"):
        stmt = stmt.where(PromiseTrack.state == args["state"])
    return paginate(stmt, args["page"], args["per_page"])


@blp.route("/follow-ups", methods=["GET"])
@roles(*OFFICE)
@blp.arguments(FollowUpQuerySchema, location="query")
@blp.response(200, FollowUpPageSchema)
def get_follow_ups(args):
    """Follow-ups left by broken or partly kept promises (next eligible visit, call, or review),
    by branch, owner, agent and due date"""
    page, per_page = args.pop("page"), args.pop("per_page")
    return paginate(follow_ups_query(**args), page, per_page)


@blp.route("/follow-ups/<int:follow_up_id>/close", methods=["POST"])
@roles(*OFFICE)
@blp.arguments(FollowUpCloseSchema)
@blp.response(200, FollowUpSchema)
def post_follow_up_close(args, follow_up_id):
    """Mark a follow-up done (optionally with the visit that served it) or cancelled"""
    follow_up = db.session.get(FollowUp, follow_up_id)
    if follow_up is None:
        abort(404, f"No follow-up {follow_up_id}.")
    close_follow_up(follow_up=follow_up, actor_id=g.user.id, **args)
    db.session.commit()
    return follow_up


@blp.route("/deposits/import", methods=["POST"])
@roles("owner", "admin")
@blp.arguments(PaymentImportFileSchema, location="files")
@blp.response(200, DepositImportReportSchema)
@blp.alt_response(422, description="Not a usable CSV file")
def post_deposits_import(args):
    """Import cash banked by agents (CSV, multipart field `file`): each row names the receipt it banks"""
    upload = args["file"]
    raw = upload.read() if hasattr(upload, "read") else bytes(upload)
    return import_deposits(raw=raw, actor_id=g.user.id)


@blp.route("/deposits/imports/<int:import_id>", methods=["GET"])
@roles("owner", "admin")
@blp.response(200, ImportRunSchema)
@blp.alt_response(404, description="No such deposits import")
def get_deposits_import(import_id):
    """A deposits import's progress: rows applied so far, counts, and when done the rejected rows"""
    return get_import_run(kind="deposits", import_id=import_id)


@blp.route("/collections", methods=["GET"])
@roles(*OFFICE, "agent")
@blp.arguments(CollectionQuerySchema, location="query")
@blp.response(200, CollectionPageSchema)
def get_collections(args):
    """Money taken at the door and where it stands: unreconciled, reconciled by the bank, disputed; cash in hand (an agent: their own)"""
    page, per_page = args.pop("page"), args.pop("per_page")
    return paginate(collections_query(user=g.user, **args), page, per_page)
