"""independent approvals: a change waiting for a second administrator may concern an agency
(deactivating one an administrator is in) instead of one account; an account records who
asked for its administrator rights and when

Revision ID: 0015_independent_approvals
Revises: 0014_json_columns
Create Date: 2026-12-02 17:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0015_independent_approvals'
down_revision = '0014_json_columns'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('pending_approval') as batch:
        batch.alter_column('target_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('agency_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_pending_approval_agency_id_agency', 'agency', ['agency_id'], ['id'])
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('admin_granted_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('admin_granted_at', sa.DateTime(), nullable=True))
        batch.create_foreign_key(
            'fk_user_account_admin_granted_by_id_user_account', 'user_account', ['admin_granted_by_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('user_account') as batch:
        batch.drop_constraint('fk_user_account_admin_granted_by_id_user_account', type_='foreignkey')
        batch.drop_column('admin_granted_at')
        batch.drop_column('admin_granted_by_id')
    with op.batch_alter_table('pending_approval') as batch:
        batch.drop_constraint('fk_pending_approval_agency_id_agency', type_='foreignkey')
        batch.drop_column('agency_id')
        batch.alter_column('target_id', existing_type=sa.Integer(), nullable=False)
