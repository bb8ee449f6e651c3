from ..extensions import db
from .models import Change


def record_change(*, user_id: int | None, kind: str, ref_type: str, ref_id: int, data: dict | None = None) -> Change:
    """Append to the delta feed; its id is the cursor devices resume from."""
    change = Change(user_id=user_id, kind=kind, ref_type=ref_type, ref_id=ref_id, data=data or {})
    db.session.add(change)
    return change
