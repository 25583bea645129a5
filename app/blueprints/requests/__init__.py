from app.blueprints.requests import videos  # noqa: F401 - register views
from app.blueprints.requests.routes import bp

__all__ = ["bp"]
