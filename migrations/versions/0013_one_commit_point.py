"""one commit point: a reviewer's work on each probe image is made when they take the request
(or when an image arrives), no longer by the first page load; existing holders get theirs

Revision ID: 0013_one_commit_point
Revises: 0012_policy_by_structure
Create Date: 2026-12-02 16:40:00

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = '0013_one_commit_point'
down_revision = '0012_policy_by_structure'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    missing = bind.execute(
        sa.text(
            "SELECT DISTINCT p.id, a.reviewer_id FROM review_assignment a"
            " JOIN probe_image p ON p.request_id = a.request_id"
            " LEFT JOIN probe_work w ON w.probe_image_id = p.id AND w.reviewer_id = a.reviewer_id"
            " WHERE w.id IS NULL"
        )
    ).all()
    if not missing:
        return
    work = sa.table(
        'probe_work',
        sa.column('probe_image_id', sa.Integer),
        sa.column('reviewer_id', sa.Integer),
        sa.column('steps', sa.Text),
        sa.column('face_index', sa.Integer),
        sa.column('suitability_reasons', sa.Text),
        sa.column('updated_at', sa.DateTime),
    )
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    op.bulk_insert(
        work,
        [
            {'probe_image_id': image_id, 'reviewer_id': reviewer_id, 'steps': '[]', 'face_index': 0,
             'suitability_reasons': '[]', 'updated_at': now}
            for image_id, reviewer_id in missing
        ],
    )


def downgrade():
    pass  # the rows are a reviewer's (empty) work; keeping them is harmless
