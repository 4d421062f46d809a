"""job progress: the counter that tells a slow job from a wedged one, and force stop

`jobs.steps` counts the steps an attempt has done (training steps, generated blocks), and
`jobs.progress_at` is when it last moved: a job whose heartbeat is fresh but whose steps stand
still for `stall_after_s` is wedged (worker/watchdog.py). `cancel_requested_at` is when a cancel
was asked (the run page offers a force stop once it is not honoured in time) and
`force_stopped_at` when a curator forced it: the worker's main process kills the child on it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('steps', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('progress_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('cancel_requested_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('force_stopped_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('force_stopped_at')
        batch.drop_column('cancel_requested_at')
        batch.drop_column('progress_at')
        batch.drop_column('steps')
