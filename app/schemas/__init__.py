"""Pydantic shapes of the REST API, separate from the ORM models (create / update / public).

Request bodies are `extra="forbid", strict=True`: a body has exactly the fields and JSON types
its OpenAPI schema names, so `0` is no `false` and `false` no `0` (schema-invalid is refused)."""
