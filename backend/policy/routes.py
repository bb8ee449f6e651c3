from flask_smorest import Blueprint

blp = Blueprint("policy", __name__, url_prefix="/api", description="policy")
