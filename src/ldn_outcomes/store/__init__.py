"""Storage: SQLAlchemy 2 tables, Alembic migrations, a unit of work with an audit trail."""
