"""Probes and metrics for the platform, not for users: no bearer token, no /api prefix, and not
in the API document (create_app registers this blueprint on the app, not on the API)."""

from flask import Response, current_app, request
from flask_smorest import Blueprint

from ..auth.guard import PUBLIC, roles
from ..errors import abort
from ..metrics import exposition, token_matches
from .schemas import LivenessSchema, ReadinessSchema
from .services import check_liveness, check_readiness

blp = Blueprint("health", __name__, url_prefix="", description="Liveness, readiness and metrics")

_NO_STORE = {"Cache-Control": "no-store"}


@blp.route("/healthz", methods=["GET"])
@roles(PUBLIC)
@blp.response(200, LivenessSchema)
def healthz():
    """The process is alive (asks nothing else)"""
    return check_liveness(), 200, _NO_STORE


@blp.route("/readyz", methods=["GET"])
@roles(PUBLIC)
@blp.response(200, ReadinessSchema)
def readyz():
    """Ready for traffic: database reachable and migrated; with RQ, Redis and a worker seen.
    503 (same shape, with the error fields) when not."""
    report, ready = check_readiness()
    return report, 200 if ready else 503, _NO_STORE


@blp.route("/metrics", methods=["GET"])
@roles(PUBLIC)
def metrics():
    """Prometheus text of every process of this server, for `Authorization: Bearer $METRICS_TOKEN`;
    401 with a wrong or missing token, 404 when METRICS_TOKEN is not set (metrics off)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's target
    if not app.config.get("METRICS_TOKEN"):
        abort(404, "Not found.")
    if not token_matches(app, request.headers.get("Authorization")):
        abort(401, "Send Authorization: Bearer <METRICS_TOKEN>.", code="metrics_token")
    body, content_type = exposition(app)
    return Response(body, content_type=content_type, headers=_NO_STORE)
