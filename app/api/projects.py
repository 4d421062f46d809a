"""/projects: the artist/album projects."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.deps import CursorQuery, ReadSessionDep, ResourceId, SessionDep, StorageDep
from app.api.links import PROJECT_LINKS
from app.schemas.common import Page
from app.schemas.projects import ProjectCreate, ProjectOut, ProjectUpdate
from app.services import projects

router = APIRouter(prefix="/projects", tags=["projects"])


@router.post(
    "", status_code=201, response_model=ProjectOut,
    responses={201: {"description": "created", "links": PROJECT_LINKS}},
)
def create_project(body: ProjectCreate, session: SessionDep, response: Response) -> ProjectOut:
    project = projects.create_project(
        session, name=body.name, artist=body.artist, description=body.description
    )
    response.headers["Location"] = f"{router.prefix}/{project.id}"
    return ProjectOut.model_validate(project)


@router.get("", response_model=Page[ProjectOut])
def list_projects(
    session: ReadSessionDep,
    cursor: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[ProjectOut]:
    rows, next_cursor = projects.list_projects(session, cursor=cursor, limit=limit)
    return Page(data=[ProjectOut.model_validate(p) for p in rows], next_cursor=next_cursor)


# `:int`: only digits route here, so a method /projects/import lacks is a 405 (Allow: POST)
# instead of a 422 about project_id "import". The same for /covers/backends in covers.py.
@router.get("/{project_id:int}", response_model=ProjectOut)
def get_project(project_id: ResourceId, session: ReadSessionDep) -> ProjectOut:
    return ProjectOut.model_validate(projects.get_project(session, project_id))


@router.patch("/{project_id:int}", response_model=ProjectOut)
def update_project(project_id: ResourceId, body: ProjectUpdate, session: SessionDep) -> ProjectOut:
    project = projects.update_project(session, project_id, **body.model_dump(exclude_unset=True))
    return ProjectOut.model_validate(project)


@router.delete("/{project_id:int}", status_code=204)
def delete_project(project_id: ResourceId, session: SessionDep, storage: StorageDep) -> Response:
    projects.delete_project(session, storage, project_id)
    return Response(status_code=204)
