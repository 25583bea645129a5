"""chained checkpoints: each daily checkpoint is numbered and signs its predecessor's
signature, and the table is append-only like the events (checkpoints signed before this keep
their own signature and are checked one by one)

Revision ID: 0016_chained_checkpoints
Revises: 0015_independent_approvals
Create Date: 2026-12-02 18:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0016_chained_checkpoints'
down_revision = '0015_independent_approvals'
branch_labels = None
depends_on = None

MESSAGE = "audit checkpoints are append-only"


def upgrade():
    with op.batch_alter_table('audit_checkpoint') as batch:
        batch.add_column(sa.Column('number', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('scheme', sa.Integer(), nullable=False, server_default='1'))
        batch.add_column(sa.Column('prev_signature', sa.String(length=64), nullable=True))
    bind = op.get_bind()
    ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM audit_checkpoint ORDER BY id"))]
    for number, checkpoint_id in enumerate(ids, start=1):
        bind.execute(sa.text("UPDATE audit_checkpoint SET number = :n WHERE id = :id"), {"n": number, "id": checkpoint_id})
    with op.batch_alter_table('audit_checkpoint') as batch:
        batch.alter_column('number', existing_type=sa.Integer(), nullable=False)
        batch.alter_column('scheme', existing_type=sa.Integer(), server_default=None)
        batch.create_unique_constraint('uq_audit_checkpoint_number', ['number'])
    dialect = bind.dialect.name
    if dialect == "sqlite":
        for change in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_checkpoint_no_{change.lower()} BEFORE {change} ON audit_checkpoint "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_checkpoint_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_checkpoint_no_change BEFORE UPDATE OR DELETE ON audit_checkpoint "
            "FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoint_append_only()"
        )


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_no_change ON audit_checkpoint")
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_no_truncate ON audit_checkpoint")
        op.execute("DROP FUNCTION IF EXISTS audit_checkpoint_append_only()")
    with op.batch_alter_table('audit_checkpoint') as batch:
        batch.drop_constraint('uq_audit_checkpoint_number', type_='unique')
        batch.drop_column('prev_signature')
        batch.drop_column('scheme')
        batch.drop_column('number')
