"""policy by structure: each probe image's provenance stated as facts and confirmed by a
reviewer; answers screened; the requesting agency's own FR policy on file; every booking a
report prints tracked for seal notices

Revision ID: 0012_policy_by_structure
Revises: 0011_search_at_scale
Create Date: 2026-12-02 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0012_policy_by_structure'
down_revision = '0011_search_at_scale'
branch_labels = None
depends_on = None

# The request-level "image source" list of before, as the per-image facts it stated.
OLD_SOURCES = {
    'surveillance_still': ('fixed_camera', '', 'recorded', ''),
    'witness_victim': ('phone_camera', '', 'recorded', 'victim_witness'),
    'social_media': ('internet', '', 'recorded', ''),
    'subject_device': ('phone_camera', '', 'recorded', 'subject'),
    'jail_booking': ('booking_photo', '', 'recorded', ''),
    'body_worn_camera': ('officer_worn', '', 'recorded', ''),
    'live_video': ('other', 'live video stream', 'live', ''),
    'dmv_photo': ('identity_document', '', 'recorded', ''),
    'scraped_internet': ('face_search_result', '', 'recorded', ''),
}


def upgrade():
    with op.batch_alter_table('probe_image', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('provenance_device', sa.String(length=32), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('provenance_device_other', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('provenance_mode', sa.String(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('provenance_extracted_from_video', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('provenance_provided_by', sa.String(length=32), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('provenance_provided_by_name', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('provenance_legally_obtained', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('source_flags', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('provenance_status', sa.String(length=16), nullable=False, server_default='pending'))
        batch_op.add_column(sa.Column('provenance_determined_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('provenance_determined_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('provenance_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('provenance_clause', sa.String(length=20), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_probe_image_answer_id_request_message'), 'request_message', ['answer_id'], ['id']
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_probe_image_provenance_determined_by_id_user_account'),
            'user_account', ['provenance_determined_by_id'], ['id'],
        )

    # What each request said of its images becomes each image's stated facts (still to be
    # confirmed by a reviewer: every image starts pending).
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        'SELECT id, image_source, image_source_other, extracted_from_video, legally_obtained FROM search_request'
    )).all()
    for request_id, source, other, from_video, obtained in rows:
        device, device_other, mode, provider = OLD_SOURCES.get(source or '', ('other' if source else '', '', 'recorded' if source else '', ''))
        if source == 'other':
            device_other = other or ''
        bind.execute(
            sa.text(
                'UPDATE probe_image SET provenance_device = :device, provenance_device_other = :other, '
                'provenance_mode = :mode, provenance_extracted_from_video = :video, '
                'provenance_provided_by = :provider, provenance_legally_obtained = :obtained '
                'WHERE request_id = :request'
            ),
            {'device': device, 'other': device_other, 'mode': mode, 'video': from_video,
             'provider': provider, 'obtained': obtained or '', 'request': request_id},
        )

    with op.batch_alter_table('search_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agency_policy', sa.String(length=300), nullable=True))
        batch_op.drop_column('image_source')
        batch_op.drop_column('image_source_other')
        batch_op.drop_column('extracted_from_video')
        batch_op.drop_column('legally_obtained')
    with op.batch_alter_table('request_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('screening', sa.JSON(), nullable=True))
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('local_policy_title', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('local_policy_adopted_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('local_policy_recorded_at', sa.DateTime(), nullable=True))

    op.create_table(
        'report_booking',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_report_booking_booking_id_booking')),
        sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_report_booking_report_id_report')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_booking')),
        sa.UniqueConstraint('report_id', 'booking_id', 'role', name='uq_report_booking'),
    )
    op.create_index(op.f('ix_report_booking_report_id'), 'report_booking', ['report_id'], unique=False)
    op.create_index(op.f('ix_report_booking_booking_id'), 'report_booking', ['booking_id'], unique=False)
    # Reports issued before: the lead, and (which one was printed as "recent" is not recorded)
    # every booking of the lead's person, so that a seal of any of them reaches the report.
    bind.execute(sa.text(
        "INSERT INTO report_booking (report_id, booking_id, role) "
        "SELECT r.id, r.lead_booking_id, 'lead' FROM report r WHERE r.lead_booking_id IS NOT NULL"
    ))
    bind.execute(sa.text(
        "INSERT INTO report_booking (report_id, booking_id, role) "
        "SELECT r.id, other.id, 'recent' FROM report r "
        "JOIN booking lead ON lead.id = r.lead_booking_id "
        "JOIN booking other ON other.subject_id = lead.subject_id AND other.id <> lead.id"
    ))


def downgrade():
    op.drop_index(op.f('ix_report_booking_booking_id'), table_name='report_booking')
    op.drop_index(op.f('ix_report_booking_report_id'), table_name='report_booking')
    op.drop_table('report_booking')
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_column('local_policy_recorded_at')
        batch_op.drop_column('local_policy_adopted_on')
        batch_op.drop_column('local_policy_title')
    with op.batch_alter_table('request_message', schema=None) as batch_op:
        batch_op.drop_column('screening')
    with op.batch_alter_table('search_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legally_obtained', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('extracted_from_video', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('image_source_other', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('image_source', sa.String(length=40), nullable=False, server_default=''))
        batch_op.drop_column('agency_policy')
    with op.batch_alter_table('probe_image', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_probe_image_provenance_determined_by_id_user_account'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_probe_image_answer_id_request_message'), type_='foreignkey')
        for column in ('provenance_clause', 'provenance_note', 'provenance_determined_at', 'provenance_determined_by_id',
                       'provenance_status', 'source_flags', 'provenance_legally_obtained', 'provenance_provided_by_name',
                       'provenance_provided_by', 'provenance_extracted_from_video', 'provenance_mode',
                       'provenance_device_other', 'provenance_device', 'answer_id'):
            batch_op.drop_column(column)
