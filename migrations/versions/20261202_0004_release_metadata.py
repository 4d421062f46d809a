"""release metadata: album and track fields a distributor asks for; request hashes of jobs

Albums get album artist, release date (`YYYY` or `YYYY-MM-DD`), genre, label, comment, UPC and
disc number/total; album tracks get composer, ISRC and credits (a JSON list of `{role, name}`).
Every new text column is NOT NULL with an empty default, so existing albums read as "not given".
`jobs.request_sha256` holds the hash of the request that used an idempotency key (NULL for jobs
submitted before this revision: their key keeps answering with the first job, as it did).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALBUM_TEXT = (
    ('album_artist', sa.String(length=300)),
    ('release_date', sa.String(length=10)),
    ('genre', sa.String(length=100)),
    ('label', sa.String(length=300)),
    ('comment', sa.Text()),
    ('upc', sa.String(length=13)),
)
TRACK_TEXT = (('composer', sa.String(length=300)), ('isrc', sa.String(length=12)))


def upgrade() -> None:
    with op.batch_alter_table('albums') as batch:
        for name, type_ in ALBUM_TEXT:
            batch.add_column(sa.Column(name, type_, nullable=False, server_default=''))
        batch.add_column(sa.Column('disc_number', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('disc_total', sa.Integer(), nullable=True))
    with op.batch_alter_table('album_tracks') as batch:
        for name, type_ in TRACK_TEXT:
            batch.add_column(sa.Column(name, type_, nullable=False, server_default=''))
        batch.add_column(sa.Column('credits', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('request_sha256', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('request_sha256')
    with op.batch_alter_table('album_tracks') as batch:
        for name in ('credits', *(n for n, _ in TRACK_TEXT)):
            batch.drop_column(name)
    with op.batch_alter_table('albums') as batch:
        for name in ('disc_total', 'disc_number', *(n for n, _ in ALBUM_TEXT)):
            batch.drop_column(name)
