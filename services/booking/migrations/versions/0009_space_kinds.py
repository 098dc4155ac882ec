"""spaces for services: tele-consultation booths, visio and study rooms, each
space's features, and the sessions a relay defines for a space

Revision ID: booking_0009_space_kinds
Revises: booking_0008_programmes
Create Date: 2026-12-01 16:45:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = 'booking_0009_space_kinds'
down_revision = 'booking_0008_programmes'
branch_labels = None
depends_on = None

KINDS = "('desk', 'meeting_room', 'teleconsultation_booth', 'visio_room', 'study_room')"


def upgrade():
    op.drop_constraint(op.f('ck_spaces_kind'), 'spaces', type_='check')
    op.drop_constraint(op.f('ck_spaces_capacity'), 'spaces', type_='check')
    op.create_check_constraint(op.f('ck_spaces_kind'), 'spaces', f"kind IN {KINDS}")
    op.create_check_constraint(
        'ck_spaces_capacity', 'spaces',
        "capacity >= 1 AND (kind NOT IN ('desk', 'teleconsultation_booth') OR capacity = 1)")
    op.add_column('spaces', sa.Column('features', sa.ARRAY(sa.Text()),
                                      server_default=sa.text("'{}'"), nullable=False))
    op.create_table(
        'space_sessions',
        sa.Column('space_id', sa.UUID(as_uuid=False), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('start', sa.Time(), nullable=False),
        sa.Column('end', sa.Time(), nullable=False),
        sa.CheckConstraint('start < "end"', name=op.f('ck_space_sessions_order')),
        sa.ForeignKeyConstraint(['space_id'], ['spaces.id'], ondelete='CASCADE',
                                name=op.f('fk_space_sessions_space_id_spaces')),
        sa.PrimaryKeyConstraint('space_id', 'name', name=op.f('pk_space_sessions')),
    )


def downgrade():
    op.drop_table('space_sessions')
    op.drop_column('spaces', 'features')
    op.execute("DELETE FROM spaces WHERE kind NOT IN ('desk', 'meeting_room')")
    op.drop_constraint(op.f('ck_spaces_capacity'), 'spaces', type_='check')
    op.drop_constraint(op.f('ck_spaces_kind'), 'spaces', type_='check')
    op.create_check_constraint(op.f('ck_spaces_kind'), 'spaces', "kind IN ('desk', 'meeting_room')")
    op.create_check_constraint(op.f('ck_spaces_capacity'), 'spaces',
                               "capacity >= 1 AND (kind <> 'desk' OR capacity = 1)")
