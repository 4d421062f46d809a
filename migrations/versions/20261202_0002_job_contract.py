"""job contract: versioned payloads, hand-backs counted in their own column

Job payloads are now the typed, versioned dataclasses of app/contract/payloads.py: every stored
payload gets its format version (`"v": 1`), and the lease's bookkeeping moves out of the payload
(which says what the job is asked to do) into `jobs.handbacks` (how many times a shutting-down
worker handed the job back; those attempts do not count as deaths).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

jobs = sa.table(
    'jobs', sa.column('id', sa.Integer()), sa.column('payload', sa.JSON()),
    sa.column('handbacks', sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('handbacks', sa.Integer(), nullable=False, server_default='0'))
    conn = op.get_bind()
    for job_id, payload in conn.execute(sa.select(jobs.c.id, jobs.c.payload)).all():
        payload = dict(payload or {})
        handbacks = int(payload.pop('handed_back', 0))
        payload.setdefault('v', 1)
        conn.execute(
            jobs.update().where(jobs.c.id == job_id).values(payload=payload, handbacks=handbacks)
        )


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(jobs.c.id, jobs.c.payload, jobs.c.handbacks)).all()
    for job_id, payload, handbacks in rows:
        payload = {k: v for k, v in dict(payload or {}).items() if k != 'v'}
        if handbacks:
            payload['handed_back'] = handbacks
        conn.execute(jobs.update().where(jobs.c.id == job_id).values(payload=payload))
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('handbacks')
