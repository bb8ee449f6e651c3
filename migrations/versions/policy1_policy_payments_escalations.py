"""policy: named settings with who changed them, versioned scripts, the payment feed,
promise matching state and follow-ups, escalation tickets

Revision ID: policy1
Revises: 0001
Create Date: 2026-11-28 12:36:24.462594

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'policy1'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('policy_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction', sa.String(length=8), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_policy_settings_changed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_settings'))
    )
    with op.batch_alter_table('policy_settings', schema=None) as batch_op:
        batch_op.create_index('ix_policy_settings_lookup', ['jurisdiction', 'key', 'id'], unique=False)

    op.create_table('script_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('strategy', sa.String(length=32), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('legal_wording', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_script_templates_created_by_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_script_templates_decided_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_script_templates')),
    sa.UniqueConstraint('key', 'locale', 'version', name='uq_script_templates_key_locale_version')
    )
    with op.batch_alter_table('script_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_script_templates_key'), ['key'], unique=False)

    op.create_table('escalation_tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('queue', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('sla_due_at', sa.DateTime(), nullable=False),
    sa.Column('raised_by_id', sa.Integer(), nullable=True),
    sa.Column('raised_at', sa.DateTime(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('claimed_by_id', sa.Integer(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('flag_cleared', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_escalation_tickets_case_id_cases')),
    sa.ForeignKeyConstraint(['claimed_by_id'], ['users.id'], name=op.f('fk_escalation_tickets_claimed_by_id_users')),
    sa.ForeignKeyConstraint(['raised_by_id'], ['users.id'], name=op.f('fk_escalation_tickets_raised_by_id_users')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_escalation_tickets_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_tickets'))
    )
    with op.batch_alter_table('escalation_tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_tickets_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalation_tickets_queue'), ['queue'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalation_tickets_status'), ['status'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('unallocated', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_payments_account_id_accounts')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_payments_case_id_cases')),
    sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'], name=op.f('fk_payments_imported_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('reference', name=op.f('uq_payments_reference'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_paid_on'), ['paid_on'], unique=False)

    op.create_table('follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_follow_ups_case_id_cases')),
    sa.ForeignKeyConstraint(['done_by_id'], ['users.id'], name=op.f('fk_follow_ups_done_by_id_users')),
    sa.ForeignKeyConstraint(['plan_id'], ['repayment_plans.id'], name=op.f('fk_follow_ups_plan_id_repayment_plans')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_follow_ups_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_ups'))
    )
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_ups_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_status'), ['status'], unique=False)

    op.create_table('promise_tracks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('promised_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('paid_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('as_of', sa.Date(), nullable=True),
    sa.Column('evaluated_at', sa.DateTime(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_promise_tracks_case_id_cases')),
    sa.ForeignKeyConstraint(['plan_id'], ['repayment_plans.id'], name=op.f('fk_promise_tracks_plan_id_repayment_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promise_tracks')),
    sa.UniqueConstraint('plan_id', name=op.f('uq_promise_tracks_plan_id'))
    )
    with op.batch_alter_table('promise_tracks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promise_tracks_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promise_tracks_state'), ['state'], unique=False)

    op.create_table('payment_allocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('installment_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['installment_id'], ['installments.id'], name=op.f('fk_payment_allocations_installment_id_installments')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_allocations_payment_id_payments')),
    sa.ForeignKeyConstraint(['plan_id'], ['repayment_plans.id'], name=op.f('fk_payment_allocations_plan_id_repayment_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_allocations'))
    )
    with op.batch_alter_table('payment_allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_allocations_installment_id'), ['installment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_allocations_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_allocations_plan_id'), ['plan_id'], unique=False)



def downgrade():
    with op.batch_alter_table('payment_allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_allocations_plan_id'))
        batch_op.drop_index(batch_op.f('ix_payment_allocations_payment_id'))
        batch_op.drop_index(batch_op.f('ix_payment_allocations_installment_id'))

    op.drop_table('payment_allocations')
    with op.batch_alter_table('promise_tracks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promise_tracks_state'))
        batch_op.drop_index(batch_op.f('ix_promise_tracks_case_id'))

    op.drop_table('promise_tracks')
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_ups_status'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_case_id'))

    op.drop_table('follow_ups')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_paid_on'))
        batch_op.drop_index(batch_op.f('ix_payments_case_id'))
        batch_op.drop_index(batch_op.f('ix_payments_account_id'))

    op.drop_table('payments')
    with op.batch_alter_table('escalation_tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_tickets_status'))
        batch_op.drop_index(batch_op.f('ix_escalation_tickets_queue'))
        batch_op.drop_index(batch_op.f('ix_escalation_tickets_case_id'))

    op.drop_table('escalation_tickets')
    with op.batch_alter_table('script_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_script_templates_key'))

    op.drop_table('script_templates')
    with op.batch_alter_table('policy_settings', schema=None) as batch_op:
        batch_op.drop_index('ix_policy_settings_lookup')

    op.drop_table('policy_settings')
