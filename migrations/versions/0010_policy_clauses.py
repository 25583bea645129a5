"""policy clauses: threat to life / at-risk answers, First Amendment determinations, source
flags, operator searches recorded like any other, signed policy acknowledgements, recorded
reasons for staff access outside their work

Revision ID: 0010_policy_clauses
Revises: 0009_attack_resistance
Create Date: 2026-11-29 19:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0010_policy_clauses'
down_revision = '0009_attack_resistance'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('search_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('threat_to_life', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('person_at_risk', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('first_amendment_cleared_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('first_amendment_cleared_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('first_amendment_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('source_flags', sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_search_request_first_amendment_cleared_by_id_user_account'),
            'user_account', ['first_amendment_cleared_by_id'], ['id'],
        )
    with op.batch_alter_table('face_search', schema=None) as batch_op:
        batch_op.alter_column('request_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('channel', sa.String(length=8), nullable=False, server_default='web'))
        batch_op.add_column(sa.Column('case_number', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('purpose', sa.String(length=40), nullable=True))
    op.create_table(
        'policy_acknowledgement',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('document', sa.String(length=40), nullable=False),
        sa.Column('version', sa.String(length=40), nullable=False),
        sa.Column('typed_name', sa.String(length=200), nullable=False),
        sa.Column('acknowledged_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_policy_acknowledgement_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_acknowledgement')),
        sa.UniqueConstraint('user_id', 'document', 'version', name='uq_policy_acknowledgement'),
    )
    op.create_index(op.f('ix_policy_acknowledgement_user_id'), 'policy_acknowledgement', ['user_id'], unique=False)
    op.create_table(
        'access_grant',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('granted_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['request_id'], ['search_request.id'], name=op.f('fk_access_grant_request_id_search_request')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_access_grant_user_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_access_grant')),
    )
    op.create_index('ix_access_grant_user_request', 'access_grant', ['user_id', 'request_id'], unique=False)


def downgrade():
    op.drop_index('ix_access_grant_user_request', table_name='access_grant')
    op.drop_table('access_grant')
    op.drop_index(op.f('ix_policy_acknowledgement_user_id'), table_name='policy_acknowledgement')
    op.drop_table('policy_acknowledgement')
    with op.batch_alter_table('face_search', schema=None) as batch_op:
        batch_op.drop_column('purpose')
        batch_op.drop_column('case_number')
        batch_op.drop_column('channel')
        batch_op.alter_column('request_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('search_request', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_search_request_first_amendment_cleared_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('source_flags')
        batch_op.drop_column('first_amendment_note')
        batch_op.drop_column('first_amendment_cleared_at')
        batch_op.drop_column('first_amendment_cleared_by_id')
        batch_op.drop_column('person_at_risk')
        batch_op.drop_column('threat_to_life')
