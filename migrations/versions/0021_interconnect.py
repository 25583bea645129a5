"""the interconnect: peers, searches answered for them and what they were shown, candidates
held from their repositories; a booking's repository; a search's repositories

Revision ID: 0021_interconnect
Revises: 0020_examination_views
Create Date: 2026-12-03 11:30:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0021_interconnect'
down_revision = '0020_examination_views'
branch_labels = None
depends_on = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')


def upgrade():
    op.create_table(
        'interconnect_peer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('url', sa.String(length=300), nullable=False),
        sa.Column('authority_pem', sa.Text(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('searched_by_default', sa.Boolean(), nullable=False),
        sa.Column('rate_per_minute', sa.Integer(), nullable=False),
        sa.Column('added_at', sa.DateTime(), nullable=False),
        sa.Column('disabled_at', sa.DateTime(), nullable=True),
        sa.Column('last_contact_at', sa.DateTime(), nullable=True),
        sa.Column('last_status', sa.String(length=16), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('seals_checked_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'peer_search',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('peer_name', sa.String(length=40), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('case_number', sa.String(length=60), nullable=False),
        sa.Column('purpose', sa.String(length=40), nullable=False),
        sa.Column('tracking_number', sa.String(length=20), nullable=False),
        sa.Column('reviewer_name', sa.String(length=200), nullable=False),
        sa.Column('reviewer_certification', sa.String(length=80), nullable=False),
        sa.Column('model_id', sa.String(length=64), nullable=False),
        sa.Column('probes', sa.Integer(), nullable=False),
        sa.Column('candidates', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_peer_search_peer_received', 'peer_search', ['peer_name', 'received_at'])
    op.create_index('ix_peer_search_received_at', 'peer_search', ['received_at'])
    op.create_table(
        'peer_disclosure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=64), nullable=False),
        sa.Column('peer_name', sa.String(length=40), nullable=False),
        sa.Column('peer_search_id', sa.Integer(), sa.ForeignKey('peer_search.id'), nullable=False),
        sa.Column('booking_id', sa.Integer(), sa.ForeignKey('booking.id'), nullable=False),
        sa.Column('revealed_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('reference'),
    )
    op.create_index('ix_peer_disclosure_peer_revealed', 'peer_disclosure', ['peer_name', 'revealed_at'])
    op.create_index('ix_peer_disclosure_peer_search_id', 'peer_disclosure', ['peer_search_id'])
    op.create_index('ix_peer_disclosure_booking_id', 'peer_disclosure', ['booking_id'])
    op.create_table(
        'remote_candidate',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), sa.ForeignKey('booking.id'), nullable=False),
        sa.Column('peer_id', sa.Integer(), sa.ForeignKey('interconnect_peer.id'), nullable=False),
        sa.Column('reference', sa.String(length=64), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('chip_path', sa.String(length=300), nullable=False),
        sa.Column('chip_landmarks', JSON, nullable=True),
        sa.Column('revealed_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('booking_id'),
    )
    op.create_index('ix_remote_candidate_peer_id', 'remote_candidate', ['peer_id'])
    op.create_index('ix_remote_candidate_revealed_at', 'remote_candidate', ['revealed_at'])
    with op.batch_alter_table('booking') as batch:
        batch.add_column(sa.Column('repository', sa.String(length=40), nullable=True))
    with op.batch_alter_table('face_search') as batch:
        batch.add_column(sa.Column('repositories', JSON, nullable=True))


def downgrade():
    with op.batch_alter_table('face_search') as batch:
        batch.drop_column('repositories')
    with op.batch_alter_table('booking') as batch:
        batch.drop_column('repository')
    op.drop_table('remote_candidate')
    op.drop_table('peer_disclosure')
    op.drop_table('peer_search')
    op.drop_table('interconnect_peer')
