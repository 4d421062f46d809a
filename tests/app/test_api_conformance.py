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

import atexit
import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import select

from app.catalog import Cover
from app.main import create_app
from app.migrate import upgrade
from app.pagination import Cursor, encode_cursor
from app.queue import RecordingQueue
from app.settings import Settings
from tests.app.factories import image_bytes
from tests.portability.rich_project import make_rich_project

API = "/api/v1"


def _rich_app() -> FastAPI:
    # Built at collection time: one project with a row in every table and a file behind every
    # key, so the ids the schema's examples name (1) reach real resources and their answers
    # (audio, images, zips, pages of clips) meet their schemas, not only 404s.
    data_dir = Path(tempfile.mkdtemp(prefix="albumbot-conformance-"))
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    # Limits off: every case comes from "testclient", one client, and a 429 would hide the answer
    # under test; tests/app/test_rate_limit.py covers the 429s (the schema still documents them).
    config = Settings(data_dir=data_dir, rate_limit_enabled=False)
    upgrade(config)
    app = create_app(config, queue=RecordingQueue())
    with app.state.session_factory() as session:
        make_rich_project(TestClient(app), session, data_dir)
        # Its cover files are stand-in bytes; a crop reads them, so make them real pictures.
        for cover in session.scalars(select(Cover)):
            for key in {cover.path, cover.params["original"]}:
                app.state.storage.write_bytes(key, image_bytes("JPEG", size=(64, 64)))
    return app


schema = schemathesis.openapi.from_asgi(f"{API}/openapi.json", _rich_app())

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
    # A crop box must overlap this cover's picture by 32 px (its size is the file's).
    f"PATCH {API}/covers/{{cover_id}}": (positive_data_acceptance, "inside the picture"),
    # An excerpt must lie inside this clip (its length is catalog state): 422 naming the bound.
    f"GET {API}/clips/{{clip_id}}/excerpt": (positive_data_acceptance, "inside the clip"),
    # The ids must be clips of this project: catalog state, answered 422 with the bad ids.
    f"POST {API}/projects/{{project_id}}/clips/batch": (positive_data_acceptance, "catalog"),
}

# The sort a cursor of each list operation belongs to when the request names none.
_DEFAULT_SORT = {
    f"{API}/projects": "-id",
    f"{API}/projects/{{project_id}}/clips": "-created",
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


_SETTINGS = settings(
    max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


_keys = itertools.count(1)
_used_keys: set[tuple[str, str, str]] = set()


def _fresh_idempotency_key(case: Any, used: set[tuple[str, str, str]] = _used_keys) -> None:
    # The same key with a different request is a 422 by design (the IETF Idempotency-Key draft,
    # README "The REST API"); the generator repeats drawn keys, so a positive case whose key
    # was used before gets a new one, as a client starting a new request does. A first use
    # keeps the drawn key: the schema's pattern is what the API must take.
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    key = case.headers.get("Idempotency-Key") if case.headers else None
    if not positive or key is None:
        return
    if (case.method, case.formatted_path, key) in used:
        key = f"conformance-{next(_keys)}"
        case.headers["Idempotency-Key"] = key
    used.add((case.method, case.formatted_path, key))


def _call_and_validate(case: Any) -> None:
    # A live stream only ends with its job (SSE events) or its radio (audio): reading one to
    # the end would wait for work the recording queue never starts.
    if case.path.endswith(("/events", "/radio/{radio_id}/stream")):
        return
    _real_cursor(case)
    _fresh_idempotency_key(case)
    case.call_and_validate(excluded_checks=_excluded(case))


@schema.exclude(method="DELETE").parametrize()
@_SETTINGS
def test_every_operation_conforms_to_its_schema(case: Any) -> None:
    _call_and_validate(case)


# Deletes last (pytest keeps this file's order): the resources the others read stay until then.
@schema.include(method="DELETE").parametrize()
@_SETTINGS
def test_every_delete_conforms_to_its_schema(case: Any) -> None:
    _call_and_validate(case)


# Stateful: sequences along the schema's links (app/api/links.py): create a project, then
# read, change, list, delete it or start a run on it; read and cancel that run, read its job.
# Every step answers under all the checks, use_after_free (a deleted project stays gone) and
# ensure_resource_availability (a created one can be read) included.
_LINKED = (
    rf"^{API}/(projects(/\{{project_id\}}(/clips|/runs)?)?|runs/\{{run_id\}}(/cancel)?"
    rf"|jobs/\{{job_id\}})$"
)
# Its own catalog, put back as it was before every scenario: Hypothesis replays a scenario (to
# shrink it, to check it) and requires it to draw the same values again, which it does only if
# the answers are the same; a project name the first run took would be a 409 on the replay and
# the link values it feeds on would be missing (FlakyStrategyDefinition).
_stateful_app = _rich_app()
_DATA_DIR = Path(_stateful_app.state.settings.data_dir)
_SNAPSHOT = Path(tempfile.mkdtemp(prefix="albumbot-conformance-snapshot-")) / "data"
atexit.register(shutil.rmtree, _SNAPSHOT.parent, ignore_errors=True)
_stateful_app.state.engine.dispose()  # SQLite's WAL folded into the file before the copy
shutil.copytree(_DATA_DIR, _SNAPSHOT)


def _restore_catalog() -> None:
    _stateful_app.state.engine.dispose()  # no connection holds the old file
    shutil.rmtree(_DATA_DIR)
    shutil.copytree(_SNAPSHOT, _DATA_DIR)


_stateful_schema = schemathesis.openapi.from_asgi(f"{API}/openapi.json", _stateful_app)
_Machine: Any = _stateful_schema.include(path_regex=_LINKED).as_state_machine()


class ProjectLifecycle(_Machine):  # type: ignore[misc, valid-type]
    def setup(self) -> None:
        _restore_catalog()
        self.used_keys: set[tuple[str, str, str]] = set()  # the restored catalog knows none

    def before_call(self, case: Any) -> None:
        _real_cursor(case)
        _fresh_idempotency_key(case, self.used_keys)

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
