"""Full OpenAPI conformance (issue 12 item 6): every schemathesis check, positive and negative
data, on every operation, and a stateful run along the schema's links.

The checks: no 5xx; only documented status codes and content types; documented headers;
bodies that match their schemas; schema-valid requests accepted (2xx, 3xx, 404, 409) and
schema-invalid ones refused (4xx); undeclared methods a 405 whose `Allow` lists exactly the
documented methods. Where the API refused schema-valid data the schema now says what it takes
(cursor alphabet, Idempotency-Key, exact JSON integers, epoch >= 1, one-of and if/then rules).

Excluded, one check on a few operations (`NOT_APPLICABLE`), because JSON Schema cannot state
the rule that refuses the request; each refusal is a 4xx problem that names it."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.pagination import Cursor, encode_cursor
from tests.app.test_api_fuzz import catalog_app

API = "/api/v1"
schema = schemathesis.openapi.from_asgi(f"{API}/openapi.json", catalog_app())

_FILE_CONTENT = "a file's content (decodable audio, a PNG/JPEG/WebP, a zip archive) is not JSON Schema"
# operation label -> (the one check left out, why)
NOT_APPLICABLE: dict[str, tuple[CheckFunction, str]] = {
    f"POST {API}/projects/{{project_id}}/sources": (positive_data_acceptance, _FILE_CONTENT),
    f"POST {API}/projects/{{project_id}}/images": (positive_data_acceptance, _FILE_CONTENT),
    f"POST {API}/projects/{{project_id}}/checkpoints/import": (positive_data_acceptance, _FILE_CONTENT),
    f"POST {API}/projects/import": (positive_data_acceptance, _FILE_CONTENT),
    # UPC/EAN and ISRC check digits, disc_number <= disc_total: arithmetic across values.
    f"POST {API}/projects/{{project_id}}/albums": (positive_data_acceptance, "check digits"),
    f"PUT {API}/albums/{{album_id}}": (positive_data_acceptance, "check digits"),
    # An edit list must fit its clips (end_s after start_s, inside the clip, lanes with items).
    f"POST {API}/projects/{{project_id}}/tracks": (positive_data_acceptance, "edit list vs clips"),
    f"PUT {API}/tracks/{{track_id}}": (positive_data_acceptance, "edit list vs clips"),
    f"POST {API}/tracks/{{track_id}}/align": (positive_data_acceptance, "edit list vs clips"),
    # Which cover backends can run is this install's state (GET /covers/backends says), not
    # the schema's: one that cannot is a 422 naming the reason, as documented.
    f"POST {API}/projects/{{project_id}}/covers/generate": (positive_data_acceptance, "install"),
    # model/train override the engine's dataclasses (model/config.py): names, types and ranges
    # are theirs, checked by them, and a wrong one is a 422 naming it.
    f"POST {API}/projects/{{project_id}}/runs": (positive_data_acceptance, "engine config"),
    # The ids must be clips of this project: catalog state, answered 422 with the bad ids.
    f"POST {API}/projects/{{project_id}}/clips/batch": (positive_data_acceptance, "catalog"),
}

# The sort a cursor of each list operation belongs to when the request names none.
_DEFAULT_SORT = {
    f"{API}/projects": "-id",
    f"{API}/projects/{{project_id}}/titles/generated": "id",
}


def _excluded(case: Any) -> list[CheckFunction] | None:
    excluded = NOT_APPLICABLE.get(f"{case.method.upper()} {case.path}")
    return [excluded[0]] if excluded else None


def _real_cursor(case: Any) -> None:
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if not positive or not case.query or case.query.get("cursor") is None:
        return
    # A cursor is a token the server issued: no schema can say which strings decode, so a
    # positive case carries one made the way the server makes them (a wrong one is a 422).
    sort = case.query.get("sort") or _DEFAULT_SORT.get(case.path, "-id")
    key: int | float | str | None = None if sort.lstrip("-") in ("id", "created") else 1
    case.query["cursor"] = encode_cursor(Cursor(sort=str(sort), key=key, id=1))


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_its_schema(case: Any) -> None:
    if case.path.endswith("/events"):  # a live SSE stream only ends with its job
        return
    _real_cursor(case)
    case.call_and_validate(excluded_checks=_excluded(case))


# Stateful: sequences along the schema's links (app/api/links.py): create a project, then
# read, change, list, delete it or start a run on it; read and cancel that run, read its job.
# Every step answers under all the checks, use_after_free (a deleted project stays gone) and
# ensure_resource_availability (a created one can be read) included.
_LINKED = (
    rf"^{API}/(projects(/\{{project_id\}}(/clips|/runs)?)?|runs/\{{run_id\}}(/cancel)?"
    rf"|jobs/\{{job_id\}})$"
)
_Machine: Any = schema.include(path_regex=_LINKED).as_state_machine()


class ProjectLifecycle(_Machine):  # type: ignore[misc, valid-type]
    def before_call(self, case: Any) -> None:
        _real_cursor(case)

    def validate_response(self, response: Any, case: Any, additional_checks: Any = None,
                          **kwargs: Any) -> None:
        case.validate_response(response, additional_checks=additional_checks,
                               excluded_checks=_excluded(case), transport_kwargs=kwargs or None,
                               recorder=getattr(self, "recorder", None))


TestProjectLifecycle = ProjectLifecycle.TestCase
TestProjectLifecycle.settings = settings(
    max_examples=15, stateful_step_count=6, deadline=None, derandomize=True,
    suppress_health_check=list(HealthCheck),
)
