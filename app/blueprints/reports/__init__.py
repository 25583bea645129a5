from app.blueprints.reports.routes import bp

__all__ = ["bp"]
