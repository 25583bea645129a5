from app.blueprints.requests.routes import bp

__all__ = ["bp"]
