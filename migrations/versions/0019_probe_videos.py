"""recorded videos attached to a request, and the frames picked from them as probe photos

Revision ID: 0019_probe_videos
Revises: 0018_directory_sign_in
Create Date: 2026-12-02 21:20:00

"""
import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')

revision = '0019_probe_videos'
down_revision = '0018_directory_sign_in'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'probe_video',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('original_name', sa.String(length=200), nullable=False),
        sa.Column('original_path', sa.String(length=300), nullable=False),
        sa.Column('original_sha256', sa.String(length=64), nullable=False),
        sa.Column('original_bytes', sa.Integer(), nullable=False),
        sa.Column('container', sa.String(length=16), nullable=False),
        sa.Column('codec', sa.String(length=32), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.Column('fps_num', sa.Integer(), nullable=False),
        sa.Column('fps_den', sa.Integer(), nullable=False),
        sa.Column('frame_count', sa.Integer(), nullable=False),
        sa.Column('stated_facts', JSON, nullable=True),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
        sa.Column('answer_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['answer_id'], ['request_message.id'], name=op.f('fk_probe_video_answer_id_request_message')),
        sa.ForeignKeyConstraint(['request_id'], ['search_request.id'], name=op.f('fk_probe_video_request_id_search_request')),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_probe_video_uploaded_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_probe_video')),
    )
    op.create_index('ix_probe_video_request_id', 'probe_video', ['request_id'])
    with op.batch_alter_table('probe_image') as batch:
        batch.add_column(sa.Column('video_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('video_sha256', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('video_frame_number', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('video_frame_ms', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('picked_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_probe_image_video_id_probe_video', 'probe_video', ['video_id'], ['id'])
        batch.create_foreign_key('fk_probe_image_picked_by_id_user_account', 'user_account', ['picked_by_id'], ['id'])
        batch.create_index('ix_probe_image_video_id', ['video_id'])


def downgrade():
    with op.batch_alter_table('probe_image') as batch:
        batch.drop_index('ix_probe_image_video_id')
        batch.drop_constraint('fk_probe_image_picked_by_id_user_account', type_='foreignkey')
        batch.drop_constraint('fk_probe_image_video_id_probe_video', type_='foreignkey')
        for column in ('picked_by_id', 'video_frame_ms', 'video_frame_number', 'video_sha256', 'video_id'):
            batch.drop_column(column)
    op.drop_index('ix_probe_video_request_id', table_name='probe_video')
    op.drop_table('probe_video')
