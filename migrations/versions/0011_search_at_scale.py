"""search at scale: booking.sealed_at indexed (a search filters only what was sealed since
the build), the recall measured at each index build, and the recall each search relied on

Revision ID: 0011_search_at_scale
Revises: 0010_policy_clauses
Create Date: 2026-11-29 20:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0011_search_at_scale'
down_revision = '0010_policy_clauses'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_sealed_at'), ['sealed_at'], unique=False)
    with op.batch_alter_table('index_build', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tuning', sa.Text(), nullable=True))
    with op.batch_alter_table('face_search', schema=None) as batch_op:
        batch_op.add_column(sa.Column('index_recall', sa.Double(), nullable=True))


def downgrade():
    with op.batch_alter_table('face_search', schema=None) as batch_op:
        batch_op.drop_column('index_recall')
    with op.batch_alter_table('index_build', schema=None) as batch_op:
        batch_op.drop_column('tuning')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_sealed_at'))
