"""directory sign-in: an account signs in with LeadDesk's own password ("local", as every
account so far) or with the county directory

Revision ID: 0018_directory_sign_in
Revises: 0017_outbox
Create Date: 2026-12-02 18:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0018_directory_sign_in'
down_revision = '0017_outbox'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('sign_in_with', sa.String(length=16), nullable=False, server_default='local'))


def downgrade():
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('sign_in_with')
