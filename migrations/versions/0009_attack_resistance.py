"""attack resistance: attempts reserved before they are checked, throttle locks, fresh sign-in,
second-administrator approvals, daily signed checkpoints of the audit chain

Revision ID: 0009_attack_resistance
Revises: 0008_review_integrity
Create Date: 2026-11-29 17:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0009_attack_resistance'
down_revision = '0008_review_integrity'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failures_cleared_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reauthenticated_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('factor', sa.String(length=16), nullable=False, server_default='password'))
        batch_op.create_foreign_key(
            batch_op.f('fk_login_attempt_user_id_user_account'), 'user_account', ['user_id'], ['id']
        )
        batch_op.create_index('ix_login_attempt_user_at', ['user_id', 'attempted_at'], unique=False)
        batch_op.alter_column('succeeded', existing_type=sa.Boolean(), nullable=True)
    op.create_table(
        'throttle_lock',
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('touched_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_throttle_lock')),
    )
    op.create_table(
        'pending_approval',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('change', sa.String(length=32), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('parameters', sa.Text(), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('approved', sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(['target_id'], ['user_account.id'], name=op.f('fk_pending_approval_target_id_user_account')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_pending_approval_requested_by_id_user_account')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_pending_approval_decided_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_approval')),
    )
    op.create_index(op.f('ix_pending_approval_target_id'), 'pending_approval', ['target_id'], unique=False)
    op.create_table(
        'audit_checkpoint',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('head_seq', sa.Integer(), nullable=False),
        sa.Column('head_hash', sa.String(length=64), nullable=False),
        sa.Column('signature', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint')),
    )


def downgrade():
    op.drop_table('audit_checkpoint')
    op.drop_index(op.f('ix_pending_approval_target_id'), table_name='pending_approval')
    op.drop_table('pending_approval')
    op.drop_table('throttle_lock')
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.alter_column('succeeded', existing_type=sa.Boolean(), nullable=False)
        batch_op.drop_index('ix_login_attempt_user_at')
        batch_op.drop_constraint(batch_op.f('fk_login_attempt_user_id_user_account'), type_='foreignkey')
        batch_op.drop_column('factor')
        batch_op.drop_column('user_id')
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_column('reauthenticated_at')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('failures_cleared_at')
