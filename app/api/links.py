"""OpenAPI links: which later operations an answer's fields feed (OpenAPI 3.1 section 4.8.20).

Clients and schemathesis's stateful tests follow them: create a project, then read, change,
list and delete it; start a run, then read and cancel it."""

from __future__ import annotations

from typing import Any

from app.api.urls import API_PREFIX


def link(path: str, method: str, **parameters: str) -> dict[str, Any]:
    """A link to `method path` (a path of this API, without the prefix), each parameter taken
    from a runtime expression such as "$response.body#/id"."""
    pointer = (API_PREFIX + path).replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method.lower()}", "parameters": parameters}


_PROJECT = "$response.body#/id"
PROJECT_LINKS: dict[str, Any] = {
    "GetProject": link("/projects/{project_id}", "GET", project_id=_PROJECT),
    "UpdateProject": link("/projects/{project_id}", "PATCH", project_id=_PROJECT),
    "DeleteProject": link("/projects/{project_id}", "DELETE", project_id=_PROJECT),
    "ListClips": link("/projects/{project_id}/clips", "GET", project_id=_PROJECT),
    "StartRun": link("/projects/{project_id}/runs", "POST", project_id=_PROJECT),
}
_RUN = "$response.body#/id"
RUN_LINKS: dict[str, Any] = {
    "GetRun": link("/runs/{run_id}", "GET", run_id=_RUN),
    "CancelRun": link("/runs/{run_id}/cancel", "POST", run_id=_RUN),
    "GetJob": link("/jobs/{job_id}", "GET", job_id="$response.body#/job_id"),
}
