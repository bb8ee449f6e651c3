"""Small data helpers shared by the sync tests."""
from backend.cases.models import Account, Address, Case, Debtor


def clone_case(db, case):
    """A new field case for a new debtor at the same spot, same owner and branch."""
    address = case.account.debtor.addresses[0]
    debtor = Debtor(name=f"{case.account.debtor.name} II", id_last4="0000")
    db.session.add(debtor)
    db.session.flush()
    db.session.add(Address(debtor_id=debtor.id, line=address.line + " B", city=address.city, country=address.country,
                           lat=address.lat, lon=address.lon, geocode_status="provided", timezone=address.timezone))
    account = Account(account_number=f"CL{case.id:06d}{debtor.id:06d}", card_masked="**** 0000", debtor_id=debtor.id,
                      balance=case.account.balance, overdue_amount=case.account.overdue_amount,
                      days_past_due=case.account.days_past_due)
    db.session.add(account)
    db.session.flush()
    clone = Case(account_id=account.id, stage="field", branch_id=case.branch_id, owner_id=case.owner_id)
    db.session.add(clone)
    db.session.flush()
    return clone
