from flask_smorest import Blueprint

blp = Blueprint("consoles", __name__, url_prefix="/api", description="consoles")
