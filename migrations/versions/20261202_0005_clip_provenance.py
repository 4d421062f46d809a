"""clip provenance: where a clip kept from the radio came from

`clips.provenance` (JSON, NULL for clips generated from their own seed) holds the radio, the
checkpoint, the generator's seed and the excerpt's offset in the stream ("keep that").

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('clips') as batch:
        batch.add_column(sa.Column('provenance', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('clips') as batch:
        batch.drop_column('provenance')
