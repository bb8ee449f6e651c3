from flask import g
from flask_smorest import Blueprint
from sqlalchemy import select

from ..auth.guard import OFFICE, roles
from ..auth.models import Token, User
from ..auth.schemas import DeviceTokenSchema, UserCreateSchema, UserSchema, UserUpdateSchema
from ..auth.services import audit, create_user, revoke_user_tokens, set_password
from ..errors import abort
from ..extensions import db
from .models import Agent, Branch
from .schemas import (
    AgentCreateSchema,
    AgentQuerySchema,
    AgentSchema,
    AgentUpdateSchema,
    BranchSchema,
    RevokeResultSchema,
    RevokeSchema,
)

blp = Blueprint("org", __name__, url_prefix="/api", description="Users, agents and branches")


def _get(model, ident):
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404, f"No {model.__tablename__[:-1]} {ident}.")
    return obj


@blp.route("/branches", methods=["GET"])
@roles(*OFFICE)
@blp.response(200, BranchSchema(many=True))
def list_branches():
    """Branches with their timezone and jurisdiction"""
    return db.session.scalars(select(Branch).order_by(Branch.id)).all()


@blp.route("/users", methods=["GET"])
@roles("admin")
@blp.response(200, UserSchema(many=True))
def list_users():
    """All users"""
    return db.session.scalars(select(User).order_by(User.id)).all()


@blp.route("/users", methods=["POST"])
@roles("admin")
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
def post_user(args):
    """Create a user"""
    user = create_user(**args)
    audit(actor=g.user, action="user.create", target=f"user:{user.id}", role=user.role)
    db.session.commit()
    return user


@blp.route("/users/<int:user_id>", methods=["PATCH"])
@roles("admin")
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
def patch_user(args, user_id):
    """Change a user's name, locale, role, password or active state"""
    user = _get(User, user_id)
    if "password" in args:
        set_password(user=user, password=args.pop("password"))
    for key, value in args.items():
        setattr(user, key, value)
    if args.get("active") is False:
        revoke_user_tokens(user=user, reason="account disabled")
    audit(actor=g.user, action="user.update", target=f"user:{user.id}", fields=sorted(args))
    db.session.commit()
    return user


@blp.route("/users/<int:user_id>/tokens", methods=["GET"])
@roles("admin")
@blp.response(200, DeviceTokenSchema(many=True))
def list_user_tokens(user_id):
    """A user's device sessions"""
    _get(User, user_id)
    return db.session.scalars(select(Token).where(Token.user_id == user_id).order_by(Token.id.desc())).all()


@blp.route("/agents", methods=["GET"])
@roles(*OFFICE)
@blp.arguments(AgentQuerySchema, location="query")
@blp.response(200, AgentSchema(many=True))
def list_agents(args):
    """Field agents with shift, cap and skills"""
    stmt = select(Agent).order_by(Agent.id)
    if "branch_id" in args:
        stmt = stmt.where(Agent.branch_id == args["branch_id"])
    return db.session.scalars(stmt).all()


@blp.route("/agents", methods=["POST"])
@roles("admin")
@blp.arguments(AgentCreateSchema)
@blp.response(201, AgentSchema)
def post_agent(args):
    """Make a user with the agent role a field agent"""
    user = _get(User, args["user_id"])
    if user.role != "agent":
        abort(422, "Only users with the agent role can be agents.", errors={"user_id": ["not an agent user"]})
    if user.agent is not None:
        abort(409, "This user is already an agent.", errors={"user_id": ["already an agent"]})
    _get(Branch, args["branch_id"])
    agent = Agent(**args)
    db.session.add(agent)
    audit(actor=g.user, action="agent.create", target=f"user:{user.id}")
    db.session.commit()
    return agent


@blp.route("/agents/<int:agent_id>", methods=["PATCH"])
@roles("admin", "dispatcher")
@blp.arguments(AgentUpdateSchema)
@blp.response(200, AgentSchema)
def patch_agent(args, agent_id):
    """Change an agent's branch, shift, cap, skills or start point"""
    agent = _get(Agent, agent_id)
    if "branch_id" in args:
        _get(Branch, args["branch_id"])
    for key, value in args.items():
        setattr(agent, key, value)
    if agent.shift_end_s <= agent.shift_start_s:
        abort(422, "The shift must end after it starts.", errors={"shift_end_s": ["must be after shift_start_s"]})
    audit(actor=g.user, action="agent.update", target=f"agent:{agent.id}", fields=sorted(args))
    db.session.commit()
    return agent


@blp.route("/agents/<int:agent_id>/revoke-tokens", methods=["POST"])
@roles("admin", "dispatcher")
@blp.arguments(RevokeSchema)
@blp.response(200, RevokeResultSchema)
def revoke_agent_tokens(args, agent_id):
    """Sign a lost or stolen phone out: revoke the agent's tokens (one device or all)"""
    agent = _get(Agent, agent_id)
    count = revoke_user_tokens(user=agent.user, reason=args["reason"], device_id=args.get("device_id"))
    audit(actor=g.user, action="agent.revoke_tokens", target=f"agent:{agent.id}", count=count)
    db.session.commit()
    return {"revoked": count}
