from flask import g
from flask_smorest import Blueprint
from sqlalchemy import select

from ..auth.guard import OFFICE, roles
from ..auth.models import Token, User
from ..auth.schemas import DeviceTokenSchema, UserCreateSchema, UserSchema, UserUpdateSchema
from ..extensions import db
from .models import Agent, Branch
from .schemas import (
    AgentCreateSchema,
    AgentQuerySchema,
    AgentSchema,
    AgentUpdateSchema,
    BranchSchema,
    BranchUpdateSchema,
    RevokeResultSchema,
    RevokeSchema,
)
from .services import (
    add_agent,
    add_user,
    agents_query,
    get_or_404,
    sign_out_agent,
    update_agent,
    update_branch,
    update_user,
)

blp = Blueprint("org", __name__, url_prefix="/api", description="Users, agents and branches")


@blp.route("/branches", methods=["GET"])
@roles(*OFFICE)
@blp.response(200, BranchSchema(many=True))
def list_branches():
    """Branches with their timezone, jurisdiction and route-planner settings"""
    return db.session.scalars(select(Branch).order_by(Branch.id)).all()


@blp.route("/branches/<int:branch_id>", methods=["PATCH"])
@roles("admin")
@blp.arguments(BranchUpdateSchema)
@blp.response(200, BranchSchema)
def patch_branch(args, branch_id):
    """Change a branch's route-planner settings (circuity, speed, balance, travel price, at-home model); the next solve uses them"""
    branch = update_branch(branch=get_or_404(Branch, branch_id), changes=args, actor_id=g.user.id)
    db.session.commit()
    return branch


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
    user = add_user(actor=g.user, **args)
    db.session.commit()
    return user


@blp.route("/users/<int:user_id>", methods=["PATCH"])
@roles("admin")
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
def patch_user(args, user_id):
    """Change a user's name, locale, role, password or active state"""
    user = update_user(user=get_or_404(User, user_id), actor=g.user, changes=args)
    db.session.commit()
    return user


@blp.route("/users/<int:user_id>/tokens", methods=["GET"])
@roles("admin")
@blp.response(200, DeviceTokenSchema(many=True))
def list_user_tokens(user_id):
    """A user's device sessions"""
    get_or_404(User, user_id)
    return db.session.scalars(select(Token).where(Token.user_id == user_id).order_by(Token.id.desc())).all()


@blp.route("/agents", methods=["GET"])
@roles(*OFFICE)
@blp.arguments(AgentQuerySchema, location="query")
@blp.response(200, AgentSchema(many=True))
def list_agents(args):
    """Field agents with shift, cap and skills"""
    return db.session.scalars(agents_query(branch_id=args.get("branch_id"))).all()


@blp.route("/agents", methods=["POST"])
@roles("admin")
@blp.arguments(AgentCreateSchema)
@blp.response(201, AgentSchema)
def post_agent(args):
    """Make a user with the agent role a field agent"""
    agent = add_agent(actor=g.user, **args)
    db.session.commit()
    return agent


@blp.route("/agents/<int:agent_id>", methods=["PATCH"])
@roles("admin", "dispatcher")
@blp.arguments(AgentUpdateSchema)
@blp.response(200, AgentSchema)
def patch_agent(args, agent_id):
    """Change an agent's branch, shift, cap, skills or start point"""
    agent = update_agent(agent=get_or_404(Agent, agent_id), actor=g.user, changes=args)
    db.session.commit()
    return agent


@blp.route("/agents/<int:agent_id>/revoke-tokens", methods=["POST"])
@roles("admin", "dispatcher")
@blp.arguments(RevokeSchema)
@blp.response(200, RevokeResultSchema)
def revoke_agent_tokens(args, agent_id):
    """Sign a lost or stolen phone out: revoke the agent's tokens (one device or all)"""
    count = sign_out_agent(agent=get_or_404(Agent, agent_id), actor=g.user, reason=args["reason"], device_id=args.get("device_id"))
    db.session.commit()
    return {"revoked": count}
