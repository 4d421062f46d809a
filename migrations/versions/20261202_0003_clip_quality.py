"""clip quality: pathology flags, closeness to the album, quality score; epoch style distance

Clips get what the cpu worker's analysis finds (model/analysis.py): the raised flags with their
reasons (`flags`), one bit per raised flag for filtering (`flag_mask`, NULL until analysed), the
0..1 `quality` for "best first" (indexed per project and per project + epoch, for keyset
pagination), `closeness` (the best-matching moment of the album), the rest of the analysis, and
which analysis version made it, when. `originality` (always NULL so far) is filled from
closeness. Checkpoints get the epoch's style distance and its flagged and copied shares.
Existing clips stay unanalysed until `POST /projects/{id}/analysis` backfills them. The
server defaults (flags '[]', analyzed_clips 0) only fill existing rows; Python sets new ones.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLIP_COLUMNS = ('flags', 'flag_mask', 'quality', 'closeness', 'analysis', 'analysis_version',
                'analyzed_at')
CHECKPOINT_COLUMNS = ('style_distance', 'flagged_share', 'copied_share', 'analyzed_clips')


def upgrade() -> None:
    with op.batch_alter_table('clips') as batch:
        batch.add_column(sa.Column('flags', sa.JSON(), nullable=False, server_default='[]'))
        batch.add_column(sa.Column('flag_mask', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('quality', sa.Double(), nullable=True))
        batch.add_column(sa.Column('closeness', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('analysis', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('analysis_version', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('analyzed_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_index('ix_clips_project_id_quality_id', ['project_id', 'quality', 'id'])
        batch.create_index(
            'ix_clips_project_id_epoch_quality_id', ['project_id', 'epoch', 'quality', 'id']
        )
    with op.batch_alter_table('checkpoints') as batch:
        batch.add_column(sa.Column('style_distance', sa.Double(), nullable=True))
        batch.add_column(sa.Column('flagged_share', sa.Double(), nullable=True))
        batch.add_column(sa.Column('copied_share', sa.Double(), nullable=True))
        batch.add_column(
            sa.Column('analyzed_clips', sa.Integer(), nullable=False, server_default='0')
        )


def downgrade() -> None:
    with op.batch_alter_table('checkpoints') as batch:
        for name in CHECKPOINT_COLUMNS:
            batch.drop_column(name)
    with op.batch_alter_table('clips') as batch:
        batch.drop_index('ix_clips_project_id_epoch_quality_id')
        batch.drop_index('ix_clips_project_id_quality_id')
        for name in CLIP_COLUMNS:
            batch.drop_column(name)
