from flask_smorest import Blueprint

blp = Blueprint("plans", __name__, url_prefix="/api", description="plans")
