"""The app tests' fixtures (migrated catalogs, settings, API client), shared here."""

from tests.app.conftest import (  # noqa: F401
    app_session,
    client,
    make_settings,
    pg_migrated_url,
    queue,
    settings,
    sqlite_template,
)
