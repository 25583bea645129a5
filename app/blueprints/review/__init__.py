from app.blueprints.review.routes import bp

__all__ = ["bp"]
