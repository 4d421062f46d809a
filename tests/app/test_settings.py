from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings, broker_config, ensure_broker_dirs


def test_defaults_put_everything_under_the_data_dir(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert s.database_url == f"sqlite:///{tmp_path / 'albumbot.sqlite3'}"
    assert s.media_dir == tmp_path / "media"
    assert s.api_token is None
    config = broker_config(s)
    assert config.url == "filesystem://"
    options = config.transport_options
    assert options["data_folder_in"] == options["data_folder_out"]
    assert options["data_folder_in"].startswith(str(tmp_path))
    ensure_broker_dirs(s)
    assert Path(options["processed_folder"]).is_dir()


def test_environment_with_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ALBUMBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ALBUMBOT_BROKER_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("ALBUMBOT_API_TOKEN", "s3cret")
    monkeypatch.setenv("ALBUMBOT_MAX_UPLOAD_BYTES", "1024")
    s = Settings()
    assert s.data_dir == tmp_path and s.api_token == "s3cret" and s.max_upload_bytes == 1024
    config = broker_config(s)
    assert config.url == "redis://127.0.0.1:6379/3"
    assert config.transport_options["visibility_timeout"] == s.visibility_timeout_s


def test_image_pixel_limit_stays_under_pillows_own() -> None:
    with pytest.raises(ValueError):
        Settings(max_image_pixels=200_000_000)


def test_blank_api_token_leaves_the_studio_open(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ALBUMBOT_API_TOKEN", "  ")
    assert Settings(data_dir=tmp_path).api_token is None
    monkeypatch.setenv("ALBUMBOT_API_TOKEN", "")
    assert Settings(data_dir=tmp_path).api_token is None
