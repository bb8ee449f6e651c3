from flask_smorest import Blueprint

blp = Blueprint("payments", __name__, url_prefix="/api", description="payments")
