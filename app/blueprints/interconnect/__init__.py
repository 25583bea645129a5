from app.blueprints.interconnect.routes import bp

__all__ = ["bp"]
