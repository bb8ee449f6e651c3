"""What a viewer may see of a case: one role-aware projection, used wherever case data leaves
the server (the case and its list, the timeline, search, the day packet's briefs).

R15, data minimised on devices: an agent works the door with the debtor's name, address, the
masked card and the amounts; the account number, the debtor's phone number and the identity
digits (`id_last4`, the R5 factor the agent asks the debtor for, never reads out) stay in the
office. The office roles see everything. The stored record is not touched: the projection only
changes what is shown, so the timeline's hash chain verifies as before.
"""

from sqlalchemy import or_

from .models import Account, Case, Debtor

# the case fields an agent never sees, wherever they would appear (case, event data, search)
AGENT_HIDDEN = frozenset({"account_number", "phone", "id_last4"})
HIDDEN = "hidden"


def sees_identifiers(user) -> bool:
    return user.role != "agent"


def project_account(account: Account, user) -> dict:
    return {
        "account_number": account.account_number if sees_identifiers(user) else None,
        "card_masked": account.card_masked,
        "currency": account.currency,
        "balance": account.balance,
        "overdue_amount": account.overdue_amount,
        "days_past_due": account.days_past_due,
        "bucket": account.bucket,
    }


def project_debtor(debtor: Debtor, user) -> dict:
    return {
        "id": debtor.id,
        "name": debtor.name,
        "phone": debtor.phone if sees_identifiers(user) else None,
        "language": debtor.language,
        "addresses": debtor.addresses,
    }


def project_case(case: Case, user) -> dict:
    """The case as `user` may see it (CaseSchema dumps it)."""
    return {
        "id": case.id,
        "stage": case.stage,
        "version": case.version,
        "branch_id": case.branch_id,
        "owner_id": case.owner_id,
        "account": project_account(case.account, user),
        "debtor": project_debtor(case.account.debtor, user),
        "flags": case.active_flags(),
        "last_contact_at": case.last_contact_at,
        "broken_promises": case.broken_promises,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
    }


def project_event_data(kind: str, data: dict, user) -> dict:
    """An event's data as `user` may see it: for an agent every hidden field, at any depth (an
    import's `changes.phone`, a new case's `account_number`), reads `hidden`. `kind` is part of
    the signature so an event kind with its own rule has one place to say it."""
    if sees_identifiers(user):
        return data
    return _hide(data)


def _hide(value):
    if isinstance(value, dict):
        return {key: HIDDEN if key in AGENT_HIDDEN else _hide(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_hide(item) for item in value]
    return value


def project_event(event, user) -> dict:
    """One timeline event for `user`. An agent gets no chain material (data_sha256, prev_hash,
    hash): a digest of hidden data gives it back by trial (four identity digits are 10,000
    tries), and the chain runs through every event. The server's verdict is theirs to read."""
    full = sees_identifiers(user)
    return {
        "id": event.id,
        "seq": event.seq,
        "kind": event.kind,
        "at": event.at,
        "actor_id": event.actor_id,
        "data": project_event_data(event.kind, event.data, user),
        "data_sha256": event.data_sha256 if full else None,
        "redacted_at": event.redacted_at,
        "prev_hash": event.prev_hash if full else None,
        "hash": event.hash if full else None,
    }


def project_chain(chain: dict, user) -> dict:
    return chain if sees_identifiers(user) else {**chain, "head": None}


def search_clause(q: str, user):
    """`GET /api/cases?q=`: the office matches the account number and the debtor's name; an
    agent only what it is shown (the name, the masked card), so a hidden number cannot be
    recovered digit by digit through the search."""
    columns = [Debtor.name, Account.card_masked]
    if sees_identifiers(user):
        columns.append(Account.account_number)
    return or_(*(column.contains(q, autoescape=True) for column in columns))
