from flask import g, request
from flask_smorest import Blueprint

from ..extensions import db
from .guard import ANY_ROLE, PUBLIC, roles
from .schemas import LoginSchema, TokenResponseSchema, UserSchema
from .services import log_in, revoke_token

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Sign in and out")


@blp.route("/login", methods=["POST"])
@roles(PUBLIC)
@blp.arguments(LoginSchema)
@blp.response(200, TokenResponseSchema)
@blp.alt_response(401, description="Wrong username or password")
@blp.alt_response(429, description="Too many failed sign-ins")
def login(args):
    """Exchange a username and password for a bearer token"""
    raw, token = log_in(ip=request.remote_addr or "", **args)
    return {"token": raw, "expires_at": token.expires_at, "user": token.user}


@blp.route("/logout", methods=["POST"])
@roles(*ANY_ROLE)
@blp.response(204)
def logout():
    """Revoke the token this request carries"""
    revoke_token(token=g.token, reason="logout")
    db.session.commit()


@blp.route("/me", methods=["GET"])
@roles(*ANY_ROLE)
@blp.response(200, UserSchema)
def me():
    """The signed-in user"""
    return g.user
