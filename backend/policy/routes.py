from flask import g
from flask_smorest import Blueprint

from ..auth.guard import ANY_ROLE, OFFICE, roles
from ..auth.services import audit
from ..cases.services import get_case_for_user
from ..errors import abort
from ..extensions import db
from .plan_policy import evaluate_plan, policy_data
from .rules import eligibility_for_day, prohibited_phrases_in, review_flag_for, rules_snapshot, windows_for
from .schemas import (
    EligibilityQuery,
    EligibilitySchema,
    JurisdictionQuery,
    LocaleQuery,
    NoteReviewResultSchema,
    NoteReviewSchema,
    PlanCheckResultSchema,
    PlanCheckSchema,
    RecommendationSchema,
    ScriptDecisionSchema,
    ScriptProposeSchema,
    ScriptQuery,
    ScriptSetSchema,
    ScriptVersionSchema,
    SettingChangeSchema,
    SettingHistorySchema,
    SettingSchema,
)
from .services import decide_script, list_script_versions, propose_script, script_problems
from .settings import change_setting, describe_settings, setting_history
from .strategies import approved_scripts, recommend

blp = Blueprint("policy", __name__, url_prefix="/api", description="Compliance rules, plan policy and the playbook")


@blp.route("/policy/settings", methods=["GET"])
@roles(*OFFICE)
@blp.arguments(JurisdictionQuery, location="query")
@blp.response(200, SettingSchema(many=True))
def get_settings(args):
    """Every named setting of a jurisdiction profile: value, default, who changed it and when"""
    return describe_settings(args["jurisdiction"])


@blp.route("/policy/settings/<string:jurisdiction>/<string:key>", methods=["PUT"])
@roles("admin")
@blp.arguments(SettingChangeSchema)
@blp.response(200, SettingSchema)
def put_setting(args, jurisdiction, key):
    """Change one setting (validated per setting); the previous value stays in its history"""
    change_setting(jurisdiction=jurisdiction, key=key, value=args["value"], reason=args["reason"], actor_id=g.user.id)
    audit(actor=g.user, action="policy.setting", target=f"{jurisdiction}/{key}", value=args["value"], reason=args["reason"])
    db.session.commit()
    return next(s for s in describe_settings(jurisdiction) if s["key"] == key)


@blp.route("/policy/settings/<string:jurisdiction>/<string:key>/history", methods=["GET"])
@roles(*OFFICE)
@blp.response(200, SettingHistorySchema(many=True))
def get_setting_history(jurisdiction, key):
    """Every change of one setting, newest first"""
    return setting_history(jurisdiction=jurisdiction, key=key)


@blp.route("/policy/rules", methods=["GET"])
@roles(*ANY_ROLE)
@blp.arguments(JurisdictionQuery, location="query")
@blp.response(200)
def get_rules(args):
    """The compliance rules snapshot a device applies offline"""
    return rules_snapshot(args["jurisdiction"])


@blp.route("/policy/plan-policy", methods=["GET"])
@roles(*ANY_ROLE)
@blp.arguments(JurisdictionQuery, location="query")
@blp.response(200)
def get_plan_policy(args):
    """The repayment-plan policy in force, as the device applies it"""
    return policy_data(args["jurisdiction"])


@blp.route("/policy/plans/check", methods=["POST"])
@roles(*ANY_ROLE)
@blp.arguments(PlanCheckSchema)
@blp.response(200, PlanCheckResultSchema)
def post_plan_check(args):
    """Check plan terms against the policy for the caller's role (proposed, pending approval or invalid)"""
    case = get_case_for_user(args["case_id"], user=g.user)
    return evaluate_plan(terms=args["terms"], case=case, role=g.user.role, as_of=args.get("as_of"))


@blp.route("/policy/notes/review", methods=["POST"])
@roles(*ANY_ROLE)
@blp.arguments(NoteReviewSchema)
@blp.response(200, NoteReviewResultSchema)
def post_note_review(args):
    """R7: would this note be flagged for review, and for which phrases"""
    return {"review_flag": review_flag_for(args["text"]), "phrases": prohibited_phrases_in(args["text"])}


@blp.route("/policy/scripts", methods=["GET"])
@roles(*OFFICE)
@blp.arguments(ScriptQuery, location="query")
@blp.response(200, ScriptVersionSchema(many=True))
def get_script_versions(args):
    """Every script version (built-in and edited) with its approval state"""
    return list_script_versions(**args)


@blp.route("/policy/scripts", methods=["POST"])
@roles("admin")
@blp.arguments(ScriptProposeSchema)
@blp.response(201, ScriptVersionSchema)
def post_script(args):
    """Edit a script: a new draft version (the approved one keeps shipping until this is approved)"""
    row = propose_script(actor_id=g.user.id, **args)
    db.session.flush()
    audit(actor=g.user, action="script.propose", target=f"script:{row.id}", key=row.key, locale=row.locale)
    db.session.commit()
    out = next(v for v in list_script_versions(key=row.key, locale=row.locale) if v["id"] == row.id)
    out["problems"] = script_problems(text=row.text, legal_wording=row.legal_wording)
    return out


@blp.route("/policy/scripts/<int:template_id>/decision", methods=["POST"])
@roles("admin")
@blp.arguments(ScriptDecisionSchema)
@blp.response(200, ScriptVersionSchema)
def post_script_decision(args, template_id):
    """Approve, reject or retire a script version (approval re-scans it for prohibited wording)"""
    row = decide_script(template_id=template_id, actor_id=g.user.id, **args)
    audit(actor=g.user, action=f"script.{args['decision']}", target=f"script:{row.id}", key=row.key, note=args["note"])
    db.session.commit()
    return next(v for v in list_script_versions(key=row.key, locale=row.locale) if v["id"] == row.id)


@blp.route("/policy/scripts/approved", methods=["GET"])
@roles(*ANY_ROLE)
@blp.arguments(LocaleQuery, location="query")
@blp.response(200, ScriptSetSchema)
def get_approved_scripts(args):
    """The approved script set by strategy, as shipped in the day packet"""
    return approved_scripts(args["locale"])


@blp.route("/cases/<int:case_id>/strategies", methods=["GET"])
@roles(*ANY_ROLE)
@blp.arguments(LocaleQuery, location="query")
@blp.response(200, RecommendationSchema)
def get_case_strategies(args, case_id):
    """The recommended approach for a case: ordered strategies with reasons and scripts"""
    return recommend(get_case_for_user(case_id, user=g.user), args["locale"])


@blp.route("/cases/<int:case_id>/eligibility", methods=["GET"])
@roles(*OFFICE)
@blp.arguments(EligibilityQuery, location="query")
@blp.response(200, EligibilitySchema)
def get_case_eligibility(args, case_id):
    """May the case be visited on a date, and in which windows (R1 hours ∩ R2 availability)"""
    case = get_case_for_user(case_id, user=g.user)
    addresses = case.account.debtor.addresses
    address = (
        next((a for a in addresses if a.id == args.get("address_id")), None)
        if args.get("address_id")
        else (addresses[0] if addresses else None)
    )
    if address is None:
        abort(422, "The case has no such address.", errors={"address_id": ["not an address of this debtor"]})
    allowed, findings = eligibility_for_day(case, args["date"], address=address)
    return {
        "case_id": case.id,
        "date": args["date"],
        "allowed": allowed,
        "findings": [f.as_dict() for f in findings],
        "windows": [list(w) for w in windows_for(case, address, args["date"])] if allowed else [],
    }
