from flask_smorest import Blueprint

blp = Blueprint("escalations", __name__, url_prefix="/api", description="escalations")
