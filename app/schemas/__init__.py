"""Pydantic shapes of the REST API, separate from the ORM models (create / update / public)."""
