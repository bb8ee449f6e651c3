"""Schemas of the office consoles: KPIs, the case owner's review queue, the dispatcher's board."""

import marshmallow as ma
from marshmallow import validate

from ..common import UTCDateTime
from ..policy.strategies import LOCALES

MAX_KPI_DAYS = 366


class KpiQuerySchema(ma.Schema):
    branch_id = ma.fields.Integer(validate=validate.Range(min=1))
    agent_id = ma.fields.Integer(validate=validate.Range(min=1))
    date_from = ma.fields.Date(data_key="from", metadata={"description": "first visit date (default: 29 days before `to`)"})
    date_to = ma.fields.Date(data_key="to", metadata={"description": "last visit date (default: today)"})

    @ma.validates_schema
    def _range(self, data, **kwargs):
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if start > end:
                raise ma.ValidationError("must be on or before `to`", field_name="from")
            if (end - start).days >= MAX_KPI_DAYS:
                raise ma.ValidationError(f"at most {MAX_KPI_DAYS} days at once", field_name="from")


class RateSchema(ma.Schema):
    value = ma.fields.Float(allow_none=True, metadata={"description": "num ÷ den (× scale); null when den is 0"})
    num = ma.fields.Float()
    den = ma.fields.Float()


class KpiRowSchema(ma.Schema):
    agent_id = ma.fields.Integer(allow_none=True)
    agent = ma.fields.String(allow_none=True)
    branch_id = ma.fields.Integer(allow_none=True)
    branch = ma.fields.String(metadata={"description": "per-branch rows: the branch's name"})
    currency = ma.fields.String(metadata={"description": "per-branch rows: the currency of its cost settings"})
    date = ma.fields.Date(allow_none=True)
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float())
    rates = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(RateSchema))


class KpiDefinitionSchema(ma.Schema):
    key = ma.fields.String()
    num = ma.fields.String()
    den = ma.fields.String()
    scale = ma.fields.Float()
    unit = ma.fields.String()
    description = ma.fields.String()


class KpiReportSchema(ma.Schema):
    filters = ma.fields.Dict()
    definitions = ma.fields.List(ma.fields.Nested(KpiDefinitionSchema))
    collected = ma.fields.Dict(metadata={"description": "payments feed total for the cases in scope, and its source"})
    cash_in_hand = ma.fields.List(
        ma.fields.Dict(),
        metadata={
            "description": "per agent, now: cash taken at the door not yet banked nor confirmed (amount, collections, stale, oldest)"
        },
    )
    totals = ma.fields.Nested(KpiRowSchema)
    agents = ma.fields.List(ma.fields.Nested(KpiRowSchema))
    branches = ma.fields.List(ma.fields.Nested(KpiRowSchema), metadata={"description": "one row per branch of the agents"})
    daily = ma.fields.List(ma.fields.Nested(KpiRowSchema))


class WhatWorksQuerySchema(ma.Schema):
    branch_id = ma.fields.Integer(data_key="branch", validate=validate.Range(min=1))
    since = ma.fields.Date(metadata={"description": "first visit date (default: 179 days before `until`)"})
    until = ma.fields.Date(metadata={"description": "last visit date (default: today)"})

    @ma.validates_schema
    def _range(self, data, **kwargs):
        start, end = data.get("since"), data.get("until")
        if start and end:
            if start > end:
                raise ma.ValidationError("must be on or before `until`", field_name="since")
            if (end - start).days >= MAX_KPI_DAYS:
                raise ma.ValidationError(f"at most {MAX_KPI_DAYS} days at once", field_name="since")


class RecoveredSchema(ma.Schema):
    currency = ma.fields.String()
    visits = ma.fields.Integer(metadata={"description": "visits on cases in this currency"})
    amount = ma.fields.String(metadata={"description": "confirmed money within the recovery days of those visits"})


class WhatWorksRowSchema(ma.Schema):
    key = ma.fields.String()
    label = ma.fields.String()
    strategy = ma.fields.String(metadata={"description": "scripts: the strategy the script belongs to"})
    visits = ma.fields.Integer()
    promises = ma.fields.Integer(metadata={"description": "promises to pay and plans agreed at these visits"})
    judged = ma.fields.Integer(metadata={"description": "of those, decided by the payment feed (kept, partly kept, broken)"})
    kept = ma.fields.Integer()
    kept_rate = ma.fields.Float(allow_none=True, metadata={"description": "kept ÷ judged; null when nothing is judged"})
    low = ma.fields.Float(allow_none=True, metadata={"description": "Wilson score interval (95 %), lower bound"})
    high = ma.fields.Float(allow_none=True, metadata={"description": "Wilson score interval (95 %), upper bound"})
    too_few = ma.fields.Boolean(metadata={"description": "fewer visits than min_visits: shown as too few"})
    recovered = ma.fields.List(ma.fields.Nested(RecoveredSchema), metadata={"description": "one entry per currency"})


class WhatWorksSchema(ma.Schema):
    filters = ma.fields.Dict()
    recovery_days = ma.fields.Integer()
    min_visits = ma.fields.Integer()
    confidence = ma.fields.Float()
    strategies = ma.fields.List(ma.fields.Nested(WhatWorksRowSchema))
    scripts = ma.fields.List(ma.fields.Nested(WhatWorksRowSchema))


# --- review queue ----------------------------------------------------------------------


class ReviewQueueQuerySchema(ma.Schema):
    owner_id = ma.fields.Integer(validate=validate.Range(min=1), metadata={"description": "only cases of this owner"})
    branch_id = ma.fields.Integer(validate=validate.Range(min=1))
    limit = ma.fields.Integer(load_default=100, validate=validate.Range(min=1, max=500), metadata={"description": "items per section"})


class QueueCaseSchema(ma.Schema):
    case_id = ma.fields.Integer()
    debtor_name = ma.fields.String()
    card_masked = ma.fields.String()
    branch_id = ma.fields.Integer(allow_none=True)
    owner_id = ma.fields.Integer(allow_none=True)


class QueueOutcomeSchema(QueueCaseSchema):
    id = ma.fields.Integer()
    visit_id = ma.fields.Integer()
    agent_id = ma.fields.Integer(allow_none=True)
    agent = ma.fields.String(allow_none=True)
    code = ma.fields.String()
    met = ma.fields.String()
    data = ma.fields.Dict()
    disclosure_at = UTCDateTime(allow_none=True)
    recorded_at = UTCDateTime()
    received_at = UTCDateTime()
    compliance_flags = ma.fields.List(ma.fields.Dict())


class QueuePlanSchema(QueueCaseSchema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    status = ma.fields.String()
    currency = ma.fields.String()
    total_amount = ma.fields.Decimal(as_string=True)
    discount_pct = ma.fields.Decimal(as_string=True)
    term_months = ma.fields.Integer()
    terms_hash = ma.fields.String()
    policy_findings = ma.fields.List(ma.fields.Dict())
    created_at = UTCDateTime()
    agent = ma.fields.String(allow_none=True)


class QueueSyncSchema(QueueCaseSchema):
    id = ma.fields.String()
    type = ma.fields.String()
    status = ma.fields.String()
    device_id = ma.fields.String()
    user = ma.fields.String(allow_none=True)
    device_at = UTCDateTime(allow_none=True)
    received_at = UTCDateTime()
    reason = ma.fields.String(allow_none=True)
    result = ma.fields.Dict()
    payload = ma.fields.Dict()


class QueueEscalationSchema(QueueCaseSchema):
    id = ma.fields.Integer()
    queue = ma.fields.String()
    kind = ma.fields.String()
    reason = ma.fields.String()
    status = ma.fields.String()
    raised_at = UTCDateTime()
    sla_due_at = UTCDateTime()
    overdue = ma.fields.Boolean()
    sla_left_s = ma.fields.Integer(metadata={"description": "seconds until the SLA is due (negative: overdue)"})


class QueueComplianceSchema(QueueCaseSchema):
    kind = ma.fields.String(metadata={"description": "outcome | note"})
    id = ma.fields.Integer()
    at = UTCDateTime()
    findings = ma.fields.List(ma.fields.Dict())
    text = ma.fields.String(allow_none=True)
    reviewed = ma.fields.Boolean()


class QueueMoneySchema(QueueCaseSchema):
    kind = ma.fields.String(metadata={"description": "cash_held (cash not banked past cash_custody_days) | disputed"})
    id = ma.fields.Integer(metadata={"description": "the collection"})
    receipt_number = ma.fields.String()
    agent_id = ma.fields.Integer()
    agent = ma.fields.String(allow_none=True)
    amount = ma.fields.Decimal(as_string=True)
    currency = ma.fields.String()
    method = ma.fields.String()
    collected_at = UTCDateTime()
    held_days = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String(allow_none=True)


class QueuePresenceSchema(QueueCaseSchema):
    visit_id = ma.fields.Integer()
    outcome_id = ma.fields.Integer(metadata={"description": "reviewing this outcome takes the visit off the list"})
    date = ma.fields.String()
    agent_id = ma.fields.Integer(allow_none=True)
    agent = ma.fields.String(allow_none=True)
    code = ma.fields.String()
    score = ma.fields.Integer(metadata={"description": "presence score 0–100 (docs/presence.md)"})
    reasons = ma.fields.List(ma.fields.Dict(), metadata={"description": "[{code, detail}]"})
    debtor_confirmed_at = ma.fields.String(allow_none=True)


def _section(item_schema):
    return type(
        f"{item_schema.__name__}Section",
        (ma.Schema,),
        {"total": ma.fields.Integer(), "items": ma.fields.List(ma.fields.Nested(item_schema))},
    )


class ReviewQueueSchema(ma.Schema):
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    outcomes = ma.fields.Nested(_section(QueueOutcomeSchema))
    plans = ma.fields.Nested(_section(QueuePlanSchema))
    sync = ma.fields.Nested(_section(QueueSyncSchema))
    escalations = ma.fields.Nested(_section(QueueEscalationSchema))
    compliance = ma.fields.Nested(_section(QueueComplianceSchema))
    money = ma.fields.Nested(_section(QueueMoneySchema))
    presence = ma.fields.Nested(_section(QueuePresenceSchema), metadata={"description": "visits scored below 60, lowest first"})


class OutcomeReviewSchema(ma.Schema):
    note = ma.fields.String(load_default="", validate=validate.Length(max=1000))


class OutcomeReviewedSchema(ma.Schema):
    id = ma.fields.Integer()
    case_id = ma.fields.Integer()
    reviewed_at = UTCDateTime()
    reviewed_by_id = ma.fields.Integer()


# --- dispatcher board ------------------------------------------------------------------


class BoardQuerySchema(ma.Schema):
    date = ma.fields.Date(metadata={"description": "the day (default: today in the branch's timezone)"})
    branch_id = ma.fields.Integer(validate=validate.Range(min=1))


class BoardVisitSchema(ma.Schema):
    id = ma.fields.Integer()
    case_id = ma.fields.Integer()
    agent_id = ma.fields.Integer(allow_none=True)
    debtor_name = ma.fields.String()
    address = ma.fields.String()
    lat = ma.fields.Float(allow_none=True)
    lon = ma.fields.Float(allow_none=True)
    status = ma.fields.String()
    progress = ma.fields.String(metadata={"description": "waiting | late | checked_in | done | failed | cancelled"})
    late_by_s = ma.fields.Integer(allow_none=True)
    pinned = ma.fields.Boolean()
    route_position = ma.fields.Integer(allow_none=True)
    planned_arrival = UTCDateTime(allow_none=True)
    window_start = UTCDateTime()
    window_end = UTCDateTime()
    checkin_at = UTCDateTime(allow_none=True)
    checkout_at = UTCDateTime(allow_none=True)
    required_agents = ma.fields.Integer(metadata={"description": "R9: 2 for a two-person visit"})
    partner_id = ma.fields.Integer(allow_none=True)
    partner_checkin_at = UTCDateTime(allow_none=True)
    outcome = ma.fields.String(allow_none=True)
    priority = ma.fields.Integer()
    version = ma.fields.Integer()


class BoardAgentSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    username = ma.fields.String()
    branch_id = ma.fields.Integer()
    shift_start = ma.fields.String(metadata={"description": "HH:MM in the branch's timezone"})
    shift_end = ma.fields.String()
    daily_cap = ma.fields.Integer()
    skills = ma.fields.List(ma.fields.String())
    start_lat = ma.fields.Float(allow_none=True)
    start_lon = ma.fields.Float(allow_none=True)
    active_sessions = ma.fields.Integer()
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    visits = ma.fields.List(ma.fields.Nested(BoardVisitSchema))


class BoardCandidateSchema(ma.Schema):
    case_id = ma.fields.Integer()
    visit_id = ma.fields.Integer(allow_none=True, metadata={"description": "an existing visit of the day the rules now exclude"})
    stage = ma.fields.String()
    priority = ma.fields.Integer(allow_none=True, metadata={"description": "the planner's priority 1–100"})
    debtor_name = ma.fields.String()
    address = ma.fields.String(allow_none=True)
    lat = ma.fields.Float(allow_none=True)
    lon = ma.fields.Float(allow_none=True)
    overdue_amount = ma.fields.Decimal(as_string=True)
    days_past_due = ma.fields.Integer()
    bucket = ma.fields.String()
    eligible = ma.fields.Boolean()
    reasons = ma.fields.List(ma.fields.String(), metadata={"description": "why eligible, or every reason it is excluded"})
    why = ma.fields.List(
        ma.fields.Dict(), metadata={"description": "the same reasons as [{code, params, message}] (docs/routing.md, codes)"}
    )
    rules = ma.fields.List(ma.fields.String())


class BoardSchema(ma.Schema):
    date = ma.fields.Date()
    branch_id = ma.fields.Integer(allow_none=True)
    timezone = ma.fields.String()
    now = UTCDateTime()
    route_plan = ma.fields.Dict(allow_none=True, metadata={"description": "the latest route plan for the day and branch"})
    agents = ma.fields.List(ma.fields.Nested(BoardAgentSchema))
    unassigned = ma.fields.List(ma.fields.Nested(BoardVisitSchema), metadata={"description": "visits of the day with no agent"})
    candidates = ma.fields.List(
        ma.fields.Nested(BoardCandidateSchema),
        metadata={
            "description": "cases the planner would offer (eligible, with why) or leaves out (every reason) — the routing builder's view"
        },
    )
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    map = ma.fields.Dict(metadata={"description": "tile_url ('' = no street map) and the attribution to show with the tiles"})


# --- agreements ------------------------------------------------------------------------


class AgreementVerifyQuerySchema(ma.Schema):
    code = ma.fields.String(
        required=True, validate=validate.Regexp(r"^[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}$", error="8 hex digits, e.g. 1A2B-3C4D")
    )
    hash = ma.fields.String(required=True, validate=validate.Regexp(r"^[0-9a-fA-F]{64}$", error="the 64-hex terms hash"))


class AgreementVerifySchema(ma.Schema):
    valid = ma.fields.Boolean(metadata={"description": "the code matches the hash and a signed plan carries it"})
    terms_hash = ma.fields.String()
    signed = ma.fields.Boolean()


class ReceiptVerifyQuerySchema(ma.Schema):
    code = ma.fields.String(
        required=True, validate=validate.Regexp(r"^[0-9A-Fa-f]{5}-?[0-9A-Fa-f]{5}$", error="10 hex digits, e.g. 1A2B3-C4D5E")
    )


class ReceiptVerifySchema(ma.Schema):
    valid = ma.fields.Boolean(metadata={"description": "a receipt carries this code"})
    receipt_number = ma.fields.String()
    amount = ma.fields.Decimal(as_string=True)
    currency = ma.fields.String()
    method = ma.fields.String()
    collected_at = UTCDateTime()
    status = ma.fields.String(metadata={"description": "unreconciled | reconciled | disputed"})


class EvidenceKeySchema(ma.Schema):
    algorithm = ma.fields.String()
    key_id = ma.fields.String(metadata={"description": "first 16 hex digits of the SHA-256 of the raw public key"})
    public_key_pem = ma.fields.String()


class LetterCreateSchema(ma.Schema):
    template_id = ma.fields.Integer(
        required=True, metadata={"description": "an approved letter template (GET /api/policy/scripts?kind=letter)"}
    )
    locale = ma.fields.String(required=True, validate=validate.OneOf(LOCALES), metadata={"description": "the template's language"})


class LetterPreviewSchema(ma.Schema):
    template_id = ma.fields.Integer()
    template_key = ma.fields.String()
    template_version = ma.fields.Integer()
    locale = ma.fields.String()
    text = ma.fields.String(metadata={"description": "the letter's body, filled with the case's fields"})
    problems = ma.fields.Dict(metadata={"description": "R7 findings per placeholder or `text`; sending is refused while any"})
    field_codes = ma.fields.Dict(metadata={"description": "the same findings as codes (docs/consoles.md, server codes)"})
