from flask_smorest import Blueprint

blp = Blueprint("push", __name__, url_prefix="/api", description="push")
