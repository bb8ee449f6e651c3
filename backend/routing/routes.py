from flask_smorest import Blueprint

blp = Blueprint("routing", __name__, url_prefix="/api", description="routing")
