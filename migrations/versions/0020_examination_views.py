"""an examination keeps how the examiner looked (view adjustments per image) and what they
marked on the images (annotations with notes, tied to FISWG features)

Revision ID: 0020_examination_views
Revises: 0019_probe_videos
Create Date: 2026-12-02 22:20:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0020_examination_views'
down_revision = '0019_probe_videos'
branch_labels = None
depends_on = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')


def upgrade():
    with op.batch_alter_table('candidate_examination') as batch:
        batch.add_column(sa.Column('view_adjustments', JSON, nullable=True))
        batch.add_column(sa.Column('annotations', JSON, nullable=True))


def downgrade():
    with op.batch_alter_table('candidate_examination') as batch:
        batch.drop_column('annotations')
        batch.drop_column('view_adjustments')
