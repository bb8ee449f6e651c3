import marshmallow as ma
from marshmallow import validate

from ..common import PageArgs, UTCDateTime, page_schema
from .models import COLLECTION_METHODS, COLLECTION_STATUSES, FOLLOW_UP_KINDS, PROMISE_STATES
from .services import follow_up_agent


class PaymentImportFileSchema(ma.Schema):
    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class PaymentImportQuerySchema(ma.Schema):
    as_of = ma.fields.Date(metadata={"description": "evaluate touched promises as of this date (default today)"})


class PaymentImportReportSchema(ma.Schema):
    created = ma.fields.Integer()
    duplicate = ma.fields.Integer()
    rejected = ma.fields.Integer()
    rows = ma.fields.List(ma.fields.Dict())
    promises = ma.fields.Dict(metadata={"description": "promise states reached by the touched cases"})
    collections = ma.fields.Dict(metadata={"description": "collections the rows confirmed (reconciled) or disputed"})
    import_id = ma.fields.Integer(metadata={"description": "the import's record: GET /api/payments/imports/<id>"})


class PaymentQuerySchema(PageArgs):
    case_id = ma.fields.Integer()
    reference = ma.fields.String()


class AllocationSchema(ma.Schema):
    plan_id = ma.fields.Integer()
    installment_id = ma.fields.Integer(allow_none=True)
    amount = ma.fields.Decimal(as_string=True)


class PaymentSchema(ma.Schema):
    id = ma.fields.Integer()
    reference = ma.fields.String()
    account_id = ma.fields.Integer()
    case_id = ma.fields.Integer(allow_none=True)
    amount = ma.fields.Decimal(as_string=True)
    currency = ma.fields.String()
    paid_on = ma.fields.Date()
    channel = ma.fields.String()
    unallocated = ma.fields.Decimal(as_string=True)
    imported_at = UTCDateTime()
    allocations = ma.fields.List(ma.fields.Nested(AllocationSchema))


PaymentPageSchema = page_schema(PaymentSchema)


class EvaluateSchema(ma.Schema):
    as_of = ma.fields.Date(required=True)
    case_id = ma.fields.Integer()


class EvaluateResultSchema(ma.Schema):
    as_of = ma.fields.Date()
    states = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


class PromiseQuerySchema(PageArgs):
    case_id = ma.fields.Integer()
    state = ma.fields.String(validate=validate.OneOf(PROMISE_STATES))


class PromiseSchema(ma.Schema):
    plan_id = ma.fields.Integer()
    case_id = ma.fields.Integer()
    state = ma.fields.String()
    promised_amount = ma.fields.Decimal(as_string=True)
    paid_amount = ma.fields.Decimal(as_string=True)
    deadline = ma.fields.Date(allow_none=True)
    as_of = ma.fields.Date(allow_none=True)
    evaluated_at = UTCDateTime(allow_none=True)
    decided_at = UTCDateTime(allow_none=True)
    detail = ma.fields.String()


PromisePageSchema = page_schema(PromiseSchema)


class FollowUpQuerySchema(PageArgs):
    status = ma.fields.String(load_default="open", validate=validate.OneOf(("open", "done", "cancelled")))
    kind = ma.fields.String(validate=validate.OneOf(FOLLOW_UP_KINDS))
    case_id = ma.fields.Integer()
    branch_id = ma.fields.Integer(metadata={"description": "the case's branch"})
    owner_id = ma.fields.Integer(metadata={"description": "the case's owner"})
    agent_id = ma.fields.Integer(metadata={"description": "the agent whose visit made the promise"})
    due_before = ma.fields.Date(metadata={"description": "due strictly before this date (overdue: today in the branch)"})
    due_from = ma.fields.Date(metadata={"description": "due on or after this date"})


class FollowUpSchema(ma.Schema):
    id = ma.fields.Integer()
    case_id = ma.fields.Integer()
    plan_id = ma.fields.Integer(allow_none=True)
    kind = ma.fields.String()
    due_on = ma.fields.Date()
    reason = ma.fields.String()
    status = ma.fields.String()
    created_at = UTCDateTime()
    done_at = UTCDateTime(allow_none=True)
    done_by_id = ma.fields.Integer(allow_none=True)
    visit_id = ma.fields.Integer(allow_none=True)
    debtor_name = ma.fields.Method("_debtor_name", dump_only=True)
    branch_id = ma.fields.Method("_branch_id", dump_only=True)
    agent_id = ma.fields.Method("_agent_id", dump_only=True)
    agent = ma.fields.Method("_agent", dump_only=True, metadata={"description": "who made the promise (display name)"})
    done_by = ma.fields.Method("_done_by", dump_only=True)

    def _debtor_name(self, follow_up):
        return follow_up.case.account.debtor.name

    def _branch_id(self, follow_up):
        return follow_up.case.branch_id

    def _agent_id(self, follow_up):
        agent = follow_up_agent(follow_up)
        return agent.id if agent else None

    def _agent(self, follow_up):
        agent = follow_up_agent(follow_up)
        return (agent.user.display_name or agent.user.username) if agent else None

    def _done_by(self, follow_up):
        user = follow_up.done_by
        return (user.display_name or user.username) if user else None


FollowUpPageSchema = page_schema(FollowUpSchema)


class FollowUpCloseSchema(ma.Schema):
    status = ma.fields.String(load_default="done", validate=validate.OneOf(("done", "cancelled")))
    visit_id = ma.fields.Integer(allow_none=True)


class DepositImportReportSchema(ma.Schema):
    created = ma.fields.Integer()
    duplicate = ma.fields.Integer()
    rejected = ma.fields.Integer()
    rows = ma.fields.List(ma.fields.Dict())
    collections = ma.fields.Dict(metadata={"description": "collections the rows showed banked, or disputed"})
    import_id = ma.fields.Integer(metadata={"description": "the import's record: GET /api/deposits/imports/<id>"})


class CollectionQuerySchema(PageArgs):
    status = ma.fields.String(validate=validate.OneOf(COLLECTION_STATUSES))
    method = ma.fields.String(validate=validate.OneOf(COLLECTION_METHODS))
    in_hand = ma.fields.Boolean(metadata={"description": "cash not yet banked nor confirmed by the bank"})
    case_id = ma.fields.Integer()
    agent_id = ma.fields.Integer()


class CollectionSchema(ma.Schema):
    id = ma.fields.Integer()
    case_id = ma.fields.Integer()
    visit_id = ma.fields.Integer()
    branch_id = ma.fields.Integer()
    agent_id = ma.fields.Integer()
    amount = ma.fields.Decimal(as_string=True)
    currency = ma.fields.String()
    method = ma.fields.String()
    reference = ma.fields.String(allow_none=True)
    receipt_number = ma.fields.String()
    collected_at = UTCDateTime()
    recorded_at = UTCDateTime()
    status = ma.fields.String(metadata={"description": "unreconciled | reconciled | disputed"})
    payment_id = ma.fields.Integer(allow_none=True, metadata={"description": "the bank's payment that confirmed it"})
    bank_paid_on = ma.fields.Date(allow_none=True)
    reconciled_at = UTCDateTime(allow_none=True)
    dispute_reason = ma.fields.String(allow_none=True)
    deposit_id = ma.fields.Integer(allow_none=True)
    banked_on = ma.fields.Date(allow_none=True)
    in_hand = ma.fields.Method("_in_hand", metadata={"description": "cash the agent still holds"})

    def _in_hand(self, collection) -> bool:
        return collection.method == "cash" and collection.banked_on is None and collection.payment_id is None


CollectionPageSchema = page_schema(CollectionSchema)
