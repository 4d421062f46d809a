"""Seeds of "generate more" requests: a fresh seed per request unless one is given (plans.py),
and a repeated explicit seed said out loud.

Clip i of a generate job is seeded by (job seed, i) (worker/clips.py `plan`), and every request
gets new clip indices, so asking a checkpoint again with a seed it has already seen makes NEW
clips, not a copy of the earlier ones. A curator who types the old seed to hear those clips again
would be surprised; the 202 answer carries a warning naming the earlier job and its clips.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import Clip, Job
from app.contract.kinds import GENERATE


def earlier_uses(
    session: Session, project_id: int, checkpoint_id: int, seed: int, *, exclude_job: int
) -> list[Job]:
    """Generate jobs of the project, other than `exclude_job`, that asked this checkpoint for
    clips with this seed, oldest first."""
    query = select(Job).where(
        Job.kind == GENERATE.name, Job.project_id == project_id, Job.id != exclude_job
    ).order_by(Job.id)
    return [
        j for j in session.scalars(query)
        if j.payload.get("checkpoint_id") == checkpoint_id and j.payload.get("seed") == seed
    ]


def seed_warnings(
    session: Session, project_id: int, checkpoint_id: int, seed: int, *, exclude_job: int
) -> list[str]:
    """One sentence per earlier request with the same seed (none when the seed is new)."""
    out = []
    for job in earlier_uses(session, project_id, checkpoint_id, seed, exclude_job=exclude_job):
        ids = list(session.scalars(select(Clip.id).where(Clip.job_id == job.id).order_by(Clip.id)))
        made = (f"clips {', '.join(f'#{i}' for i in ids[:8])}{' …' if len(ids) > 8 else ''}"
                if ids else f"no clips yet ({job.status})")
        out.append(
            f"seed {seed} was already used on this checkpoint by job {job.id} ({made}); clips "
            "are seeded by the seed and their new index, so these clips differ from those: "
            "open the earlier clips to hear them again"
        )
    return out
