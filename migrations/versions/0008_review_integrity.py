"""review integrity: one open assignment per capacity, examination revisions after a reveal,
void decisions whose lead was sealed before issue

Revision ID: 0008_review_integrity
Revises: 0007_audit_append_only
Create Date: 2026-11-29 16:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0008_review_integrity'
down_revision = '0007_audit_append_only'
branch_labels = None
depends_on = None


def upgrade():
    # Two open rows for one capacity (a race that was possible before) keep the newest.
    op.execute(
        "UPDATE review_assignment SET released_at = assigned_at WHERE released_at IS NULL AND id NOT IN "
        "(SELECT max(id) FROM review_assignment WHERE released_at IS NULL GROUP BY request_id, capacity)"
    )
    op.create_index(
        'uq_review_assignment_open', 'review_assignment', ['request_id', 'capacity'], unique=True,
        sqlite_where=sa.text('released_at IS NULL'), postgresql_where=sa.text('released_at IS NULL'),
    )
    with op.batch_alter_table('candidate_examination', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('after_reveal', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.drop_constraint('uq_examination', type_='unique')
        batch_op.create_unique_constraint('uq_examination', ['search_id', 'booking_id', 'reviewer_id', 'revision'])
    with op.batch_alter_table('review_decision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voided_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('void_reason', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('review_decision', schema=None) as batch_op:
        batch_op.drop_column('void_reason')
        batch_op.drop_column('voided_at')
    with op.batch_alter_table('candidate_examination', schema=None) as batch_op:
        batch_op.drop_constraint('uq_examination', type_='unique')
        batch_op.create_unique_constraint('uq_examination', ['search_id', 'booking_id', 'reviewer_id'])
        batch_op.drop_column('after_reveal')
        batch_op.drop_column('revision')
    op.drop_index('uq_review_assignment_open', table_name='review_assignment')
