"""Office consoles: KPIs and their CSV, the case owner's review queue, the dispatcher's day
board, the signed agreement and the receipt for money taken at the door as PDFs, each with its
public verification, and the letter of the ladder's letter rung."""

from flask import Response, current_app, g
from flask_smorest import Blueprint

from ..auth.guard import OFFICE, PUBLIC, roles
from ..cases.services import get_case_for_user
from ..extensions import db
from ..visits.services import get_visit_for_user
from .agreements import get_plan, render_agreement, verify_agreement
from .cards import render_card
from .evidence import build_evidence_pack, public_key
from .kpis import kpi_csv, kpi_report, what_works_report
from .letters import get_letter, issue_letter, preview_letter
from .receipts import get_collection, render_receipt, verify_receipt
from .schemas import (
    AgreementVerifyQuerySchema,
    AgreementVerifySchema,
    BoardQuerySchema,
    BoardSchema,
    EvidenceKeySchema,
    KpiQuerySchema,
    KpiReportSchema,
    LetterCreateSchema,
    LetterPreviewSchema,
    OutcomeReviewedSchema,
    OutcomeReviewSchema,
    ReceiptVerifyQuerySchema,
    ReceiptVerifySchema,
    ReviewQueueQuerySchema,
    ReviewQueueSchema,
    WhatWorksQuerySchema,
    WhatWorksSchema,
)
from .services import day_board, review_outcome, review_queue

blp = Blueprint("consoles", __name__, url_prefix="/api", description="Office consoles: KPIs, review queue, day board, agreements")


@blp.route("/kpis", methods=["GET"])
@roles(*OFFICE)
@blp.arguments(KpiQuerySchema, location="query")
@blp.response(200, KpiReportSchema)
def get_kpis(args):
    """Case-owner KPIs for a branch, an agent and a date range: totals, per agent, per day"""
    return kpi_report(**args)


@blp.route("/kpis.csv", methods=["GET"])
@roles(*OFFICE)
@blp.arguments(KpiQuerySchema, location="query")
@blp.response(200, content_type="text/csv", description="one row per agent and a TOTAL row")
def get_kpis_csv(args):
    """The same KPIs as CSV (UTF-8 with a byte-order mark, for spreadsheets)"""
    report = kpi_report(**args)
    name = f"doorstep-kpis-{report['filters']['from']}-{report['filters']['to']}.csv"
    return Response(
        kpi_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@blp.route("/kpis/what-works", methods=["GET"])
@roles("owner", "admin")
@blp.arguments(WhatWorksQuerySchema, location="query")
@blp.response(200, WhatWorksSchema)
def get_what_works(args):
    """What works at the door: per strategy and script, kept-promise rate with its interval and money within 30 days"""
    return what_works_report(**args, locale=g.user.locale or "zh-CN")


@blp.route("/review-queue", methods=["GET"])
@roles("owner", "admin")
@blp.arguments(ReviewQueueQuerySchema, location="query")
@blp.response(200, ReviewQueueSchema)
def get_review_queue(args):
    """What waits for a case owner: outcomes, plans to decide, sync exceptions, escalations, compliance"""
    return review_queue(**args)


@blp.route("/outcomes/<int:outcome_id>/review", methods=["POST"])
@roles("owner", "admin")
@blp.arguments(OutcomeReviewSchema)
@blp.response(200, OutcomeReviewedSchema)
@blp.alt_response(409, description="Already reviewed")
def post_outcome_review(args, outcome_id):
    """Mark a visit outcome reviewed (kept on the case timeline)"""
    outcome = review_outcome(outcome_id=outcome_id, actor=g.user, note=args["note"])
    db.session.commit()
    return outcome


@blp.route("/board", methods=["GET"])
@roles("dispatcher", "admin")
@blp.arguments(BoardQuerySchema, location="query")
@blp.response(200, BoardSchema)
def get_board(args):
    """The dispatcher's day: agents with shift, cap and stops in progress; unassigned visits; eligible cases"""
    board = day_board(day=args.get("date"), branch_id=args.get("branch_id"))
    board["map"] = {"tile_url": current_app.config["MAP_TILE_URL"], "attribution": current_app.config["MAP_TILE_ATTRIBUTION"]}
    return board


@blp.route("/plans/<int:plan_id>/agreement.pdf", methods=["GET"])
@roles("owner", "admin", "dispatcher")
@blp.response(200, content_type="application/pdf", description="the agreement as a PDF")
def get_agreement_pdf(plan_id):
    """The signed repayment agreement as a PDF: terms, schedule, signature, terms hash and verification code"""
    plan = get_plan(plan_id)
    return Response(
        render_agreement(plan),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="agreement-{plan.id}.pdf"', "Cache-Control": "no-store"},
    )


@blp.route("/visits/<int:visit_id>/card.pdf", methods=["GET"])
@roles("agent", "owner", "admin", "dispatcher")
@blp.response(200, content_type="application/pdf", description="the leave-behind card as a PDF")
def get_card_pdf(visit_id):
    """The visit's leave-behind card (R14): neutral wording, the organisation, the complaint phone and the check link"""
    visit = get_visit_for_user(visit_id, user=g.user)
    return Response(
        render_card(visit),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="card-{visit.id}.pdf"', "Cache-Control": "no-store"},
    )


@blp.route("/cases/<int:case_id>/evidence.zip", methods=["GET"])
@roles("owner", "admin")
@blp.response(200, content_type="application/zip", description="the evidence pack (docs/presence.md)")
def get_evidence_pack(case_id):
    """The case's evidence pack (R17): timeline and chain check, agreements, visits with presence scores, signed manifest"""
    data = build_evidence_pack(case_id=case_id, actor=g.user)
    db.session.commit()  # the export's audit record
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="case-{case_id}-evidence.zip"', "Cache-Control": "no-store"},
    )


@blp.route("/cases/<int:case_id>/letters", methods=["POST"])
@roles("owner", "admin")
@blp.arguments(LetterCreateSchema)
@blp.response(201, content_type="application/pdf", description="the letter as a PDF; Location: where it is kept")
@blp.alt_response(422, description="Not an approved letter template in that language, or the letter fails the R7 scan")
def post_letter(args, case_id):
    """Render a letter from an approved letter template with the case's fields, keep its PDF and
    record it as a `contact.letter` event (the letter rung's work)"""
    case = get_case_for_user(case_id, user=g.user)
    pdf, event = issue_letter(case=case, actor_id=g.user.id, **args)
    db.session.commit()
    digest = event.data["document"]["pdf_sha256"]
    return Response(
        pdf,
        status=201,
        mimetype="application/pdf",
        headers={
            "Location": f"/api/cases/{case.id}/letters/{digest}",
            "Cache-Control": "no-store",
            "Content-Disposition": f'inline; filename="letter-{case.id}-{digest[:12]}.pdf"',
        },
    )


@blp.route("/cases/<int:case_id>/letters/preview", methods=["GET"])
@roles("owner", "admin")
@blp.arguments(LetterCreateSchema, location="query")
@blp.response(200, LetterPreviewSchema)
@blp.alt_response(422, description="Not an approved letter template in that language")
def get_letter_preview(args, case_id):
    """The letter's text as it would be sent, filled with the case's fields, and what the R7 scan
    finds in it (sending refuses any finding); nothing is kept"""
    return preview_letter(case=get_case_for_user(case_id, user=g.user), **args)


@blp.route("/cases/<int:case_id>/letters/<string:sha256>", methods=["GET"])
@roles("owner", "admin")
@blp.response(200, content_type="application/pdf", description="a letter sent on the case, by its PDF's SHA-256")
def get_letter_pdf(case_id, sha256):
    """A letter's PDF as it was rendered (its SHA-256 is on the case's `contact.letter` event)"""
    blob = get_letter(case=get_case_for_user(case_id, user=g.user), sha256=sha256)
    return Response(
        blob.data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="letter-{case_id}-{sha256[:12]}.pdf"', "Cache-Control": "no-store"},
    )


@blp.route("/evidence/public-key", methods=["GET"])
@roles(PUBLIC)
@blp.response(200, EvidenceKeySchema)
def get_evidence_key():
    """The public half of the key that signs evidence packs (Ed25519), to verify them with"""
    return public_key()


@blp.route("/agreements/verify", methods=["GET"])
@roles(PUBLIC)
@blp.arguments(AgreementVerifyQuerySchema, location="query")
@blp.response(200, AgreementVerifySchema)
def get_agreement_verify(args):
    """Check a paper agreement: does its verification code belong to its terms hash? (public, reveals nothing else)"""
    return verify_agreement(code=args["code"], terms_hash=args["hash"])


@blp.route("/collections/<int:collection_id>/receipt.pdf", methods=["GET"])
@roles(*OFFICE, "agent")
@blp.response(200, content_type="application/pdf", description="the receipt as a PDF")
def get_receipt_pdf(collection_id):
    """The receipt for money taken at the door (an agent: only money they took)"""
    collection = get_collection(collection_id, user=g.user)
    return Response(
        render_receipt(collection),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="receipt-{collection.receipt_number}.pdf"', "Cache-Control": "no-store"},
    )


@blp.route("/receipts/verify", methods=["GET"])
@roles(PUBLIC)
@blp.arguments(ReceiptVerifyQuerySchema, location="query")
@blp.response(200, ReceiptVerifySchema)
def get_receipt_verify(args):
    """Check a paper receipt by its verification code (public: the receipt's own details, nothing else)"""
    return verify_receipt(code=args["code"])
