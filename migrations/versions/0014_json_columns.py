"""structured values become real JSON columns (JSONB on PostgreSQL) instead of JSON written
into text: a search's probes and results, a reviewer's processing steps, eyes, suitability
reasons and face quality, a checklist, a template's quality and face box, an index build's
parameters and tuning, a monthly audit's figures, an approval's parameters, a probe image's
face boxes, a request's First Amendment terms and source flags (and, from JSON to JSONB on
PostgreSQL, an image's source flags and an answer's screening).

The audit event's detail stays text: it is the canonical JSON its hash is computed over.

Revision ID: 0014_json_columns
Revises: 0013_one_commit_point
Create Date: 2026-12-02 17:20:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0014_json_columns'
down_revision = '0013_one_commit_point'
branch_labels = None
depends_on = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')

COLUMNS = {  # table: [(column, type it had, nullable)]
    'face_search': [('probes', sa.Text(), False), ('results', sa.Text(), False)],
    'probe_work': [
        ('steps', sa.Text(), False),
        ('manual_eyes', sa.Text(), True),
        ('suitability_reasons', sa.Text(), False),
        ('quality', sa.Text(), True),
    ],
    'candidate_examination': [('checklist', sa.Text(), False)],
    'face_template': [('quality', sa.Text(), False), ('face_box', sa.String(64), False)],
    'index_build': [('parameters', sa.Text(), False), ('tuning', sa.Text(), True)],
    'monthly_audit': [('figures', sa.Text(), False)],
    'pending_approval': [('parameters', sa.Text(), False)],
    'probe_image': [('face_boxes', sa.Text(), False), ('source_flags', sa.JSON(), True)],
    'search_request': [('first_amendment_terms', sa.Text(), True), ('source_flags', sa.Text(), True)],
    'request_message': [('screening', sa.JSON(), True)],
}


def _change(to_json: bool) -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column, text_type, nullable in columns:
                if to_json:
                    batch.alter_column(
                        column, type_=JSON, existing_type=text_type, existing_nullable=nullable,
                        postgresql_using=(
                            f"{column}::jsonb" if isinstance(text_type, sa.JSON) else f"NULLIF({column}, '')::jsonb"
                        ),
                    )
                else:
                    batch.alter_column(
                        column, type_=text_type, existing_type=JSON, existing_nullable=nullable,
                        postgresql_using=f"{column}::json" if isinstance(text_type, sa.JSON) else f"{column}::text",
                    )


def upgrade():
    _change(to_json=True)


def downgrade():
    _change(to_json=False)
