"""Users, field agents and branches: the admin's and dispatcher's changes, each audited."""

from sqlalchemy import select

from ..auth.models import User
from ..auth.services import audit, create_user, revoke_user_tokens, set_password
from ..errors import abort
from ..extensions import db
from .models import Agent, Branch


def get_or_404(model, ident):
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404, f"No {model.__tablename__[:-1]} {ident}.")
    return obj


def agents_query(*, branch_id: int | None = None):
    stmt = select(Agent).order_by(Agent.id)
    if branch_id is not None:
        stmt = stmt.where(Agent.branch_id == branch_id)
    return stmt


def add_user(*, actor: User, **fields) -> User:
    user = create_user(**fields)
    audit(actor=actor, action="user.create", target=f"user:{user.id}", role=user.role)
    return user


def update_user(*, user: User, actor: User, changes: dict) -> User:
    """Name, locale, role, password or active state; a new password (checked against the deny
    list, lifting the sign-in throttle) or a disabled account signs every device out."""
    changes = dict(changes)
    if "password" in changes:
        set_password(user=user, password=changes.pop("password"))
    for key, value in changes.items():
        setattr(user, key, value)
    if changes.get("active") is False:
        revoke_user_tokens(user=user, reason="account disabled")
    audit(actor=actor, action="user.update", target=f"user:{user.id}", fields=sorted(changes))
    return user


def add_agent(*, actor: User, **fields) -> Agent:
    """Make a user with the agent role a field agent."""
    user = get_or_404(User, fields["user_id"])
    if user.role != "agent":
        abort(422, "Only users with the agent role can be agents.", errors={"user_id": ["not an agent user"]})
    if user.agent is not None:
        abort(409, "This user is already an agent.", errors={"user_id": ["already an agent"]})
    get_or_404(Branch, fields["branch_id"])
    agent = Agent(**fields)
    db.session.add(agent)
    audit(actor=actor, action="agent.create", target=f"user:{user.id}")
    return agent


def update_agent(*, agent: Agent, actor: User, changes: dict) -> Agent:
    """Branch, shift, cap, skills or start point."""
    if "branch_id" in changes:
        get_or_404(Branch, changes["branch_id"])
    for key, value in changes.items():
        setattr(agent, key, value)
    if agent.shift_end_s <= agent.shift_start_s:
        abort(422, "The shift must end after it starts.", errors={"shift_end_s": ["must be after shift_start_s"]})
    audit(actor=actor, action="agent.update", target=f"agent:{agent.id}", fields=sorted(changes))
    return agent


def update_branch(*, branch: Branch, changes: dict, actor_id: int) -> Branch:
    """The route planner's settings of a branch (circuity, speed, balance, travel price, the
    at-home model), one audit record per setting whose value changes. The planner reads them
    from the row on every build, so the next solve uses them."""
    actor = db.session.get(User, actor_id)
    for key, value in sorted(changes.items()):
        old = getattr(branch, key)
        if old == value:
            continue
        setattr(branch, key, value)
        audit(actor=actor, action="branch.update", target=f"branch:{branch.id}", field=key, old=old, new=value)
    return branch


def sign_out_agent(*, agent: Agent, actor: User, reason: str, device_id: str | None = None) -> int:
    """A lost or stolen phone: revoke the agent's tokens (one device or all)."""
    count = revoke_user_tokens(user=agent.user, reason=reason, device_id=device_id)
    audit(actor=actor, action="agent.revoke_tokens", target=f"agent:{agent.id}", count=count)
    return count
