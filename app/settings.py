"""Process configuration, read from `ALBUMBOT_*` environment variables.

Only this module reads `os.environ` (through pydantic-settings). Entry points call `get_settings()`
once and pass the object down; everything else receives `Settings` as an argument, so tests can
build one with explicit values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALBUMBOT_", extra="ignore")

    data_dir: Path = Path("./data")
    # Empty means "SQLite file inside data_dir", filled in by the validator below.
    database_url: str = ""
    # Empty means the embedded broker: kombu's filesystem transport under data_dir/broker.
    broker_url: str = ""
    # Bearer token for /api/v1; None leaves the API open (the embedded, single-user studio).
    api_token: str | None = None

    @field_validator("api_token", mode="before")
    @classmethod
    def _blank_token_is_none(cls, value: Any) -> Any:
        # `ALBUMBOT_API_TOKEN=` (as docker-compose's ${ALBUMBOT_API_TOKEN:-} gives) means "open",
        # not "the empty string is the password".
        return None if isinstance(value, str) and not value.strip() else value

    max_upload_bytes: int = Field(500 * MB, gt=0)  # one uploaded file
    max_request_bytes: int = Field(2048 * MB, gt=0)  # one upload request, all files together
    max_body_bytes: int = Field(1 * MB, gt=0)  # any non-upload request body (JSON, titles)
    max_upload_files: int = Field(100, gt=0)  # files in one multipart request
    # Slow clients (RELIABILITY B19): a request body must keep arriving (no gap longer than
    # `body_idle_timeout_s`) and, after `body_grace_s`, at `body_min_rate_bps` on average, or
    # it gets 408 and the connection is closed, so a trickling client cannot hold the server.
    body_idle_timeout_s: float = Field(30.0, gt=0)
    body_grace_s: float = Field(10.0, gt=0)
    body_min_rate_bps: int = Field(1024, gt=0)
    # uvicorn: the most bytes of an unfinished request head (request line + headers), and how
    # long an idle keep-alive connection stays open.
    max_header_bytes: int = Field(16 * 1024, ge=1024)
    keep_alive_timeout_s: float = Field(5.0, gt=0)
    # Well under Pillow's own bomb threshold (89 MP warns, 179 MP raises) so a project limit,
    # not a process-wide warning filter, is what rejects large images.
    max_image_pixels: int = Field(40_000_000, gt=0, le=89_000_000)

    # Redis broker: how long an unacked message waits before redelivery. The worker uses the same
    # value in every place Celery reads it (RELIABILITY A1).
    visibility_timeout_s: int = Field(2 * 3600, gt=0)

    # Workers (worker/): a running job renews its lease every `heartbeat_interval_s`; one whose
    # heartbeat is older than `job_stale_after_s` is orphaned and the sweeper (every
    # `sweep_interval_s`) requeues it. A queued job never published is published again after
    # `republish_after_s`; a job claimed `max_attempts` times (its worker kept dying) fails.
    heartbeat_interval_s: float = Field(1.0, gt=0)
    job_stale_after_s: float = Field(60.0, gt=0)
    sweep_interval_s: float = Field(15.0, gt=0)
    republish_after_s: float = Field(600.0, gt=0)
    max_attempts: int = Field(3, ge=1)
    # Liveness (worker/watchdog.py). A training or generation job counts its steps; one whose
    # count stands still for `stall_after_s` while its heartbeat goes on is wedged: the worker's
    # main process kills the child running it and hands the job back (resumed from its last
    # checkpoint, the attempt counted). A cancel not honoured within `force_stop_after_s` gets
    # a force-stop button on the run page.
    stall_after_s: float = Field(600.0, gt=0)
    force_stop_after_s: float = Field(30.0, gt=0)
    # Every task but training and the radio (which end only when done or stopped) gets a soft
    # time limit (SoftTimeLimitExceeded: the job fails with a readable reason, its partial files
    # are removed) and a hard one `time_limit_grace_s` later (the child is killed).
    # `job_time_limits` overrides the soft limit per job kind, e.g. '{"export": 1800}'.
    job_time_limit_s: float = Field(6 * 3600.0, gt=0)
    job_time_limits: dict[str, float] = Field(default_factory=dict)
    time_limit_grace_s: float = Field(60.0, gt=0)
    # Long runs train in segments of this many epochs, one broker message each (the next one
    # is published when a segment ends), so no message stays unacked for longer than a segment
    # and Redis never redelivers a running training (RELIABILITY A1). 0: the whole run in one.
    train_segment_epochs: int = Field(1, ge=0)
    # Tests only: the training loop of attempt 1 wedges (sleeps forever) at this optimizer step
    # (worker/faults.py). 0, the default, is off.
    fault_wedge_step: int = Field(0, ge=0)
    # CPU threads of a worker process; 0 = torch's default (one per core). Sampling is one step
    # per sample, where extra threads only add synchronisation, so generation defaults to one.
    train_threads: int = Field(0, ge=0)
    generate_threads: int = Field(1, ge=0)
    # A clip-analysis job works this long, then hands its cpu worker to the jobs queued behind
    # it (an export waits at most this long behind a 2,000-clip backfill) and carries on.
    analysis_slice_s: float = Field(30.0, gt=0)
    # Clips of one job generated together as one batch (each with its own seed, so the audio
    # does not depend on it); bounds the memory of a job of many clips. At most 128: MKL's fp32
    # GEMM was checked to give a row the same sums for 2..128 rows (not at 200 and more).
    generate_batch: int = Field(128, ge=1, le=128)
    # CUDA only: the sample-level steps as one Triton kernel (model/fused_step.py).
    generate_fused: bool = False
    # `albumbot worker --gpus`: devices a gpu worker trains one run on, data-parallel ("all", or
    # a count; on a machine without CUDA, a count of CPU processes). A run asks for its own
    # number (RunPlan.gpus); it gets the smaller of the two.
    gpus: str = Field("1", pattern=r"^(all|[1-9][0-9]*)$")
    # The paper's cover method (Gatys et al. on VGG19) needs VGG19 weights that the OPERATOR
    # supplies: a local torchvision file such as `vgg19-dcbb9e9d.pth` (nothing is downloaded).
    # Unset, covers use the next best backend. The web process checks the file (header only) to
    # list the backends; the cpu workers load it, so the path must be valid on both.
    vgg19_weights: Path | None = None
    # Rate limits (app/rate_limit.py) on job-starting POSTs and uploads, per client (the token's
    # holder, or the address): `*_per_minute` on average, up to `rate_limit_burst` at once.
    # Shared by every web process through the broker's Redis; in process without one.
    # Loopback clients (the studio on this machine) are exempt unless told otherwise.
    rate_limit_enabled: bool = True
    rate_limit_jobs_per_minute: int = Field(60, gt=0, le=60_000)
    rate_limit_uploads_per_minute: int = Field(30, gt=0, le=60_000)
    rate_limit_burst: int = Field(10, ge=1)
    rate_limit_exempt_loopback: bool = True
    rate_limit_key_prefix: str = Field("albumbot:ratelimit", min_length=1)
    sse_poll_s: float = Field(0.5, gt=0)  # how often /jobs/{id}/events looks at the job row
    sse_keepalive_s: float = Field(15.0, gt=0)

    @field_validator("vgg19_weights", mode="before")
    @classmethod
    def _blank_path_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'albumbot.sqlite3'}"
        if self.job_stale_after_s < 3 * self.heartbeat_interval_s:
            raise ValueError(
                f"job_stale_after_s ({self.job_stale_after_s}) must be at least 3 heartbeat "
                f"intervals ({3 * self.heartbeat_interval_s}), or live jobs would look orphaned"
            )
        for kind, limit in self.job_time_limits.items():
            if limit <= 0:
                raise ValueError(f"job_time_limits[{kind!r}] must be above 0 s, not {limit}")
        return self

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url or self.broker_url.startswith("filesystem://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@dataclass(frozen=True)
class BrokerConfig:
    """Celery's `broker_url` and `broker_transport_options` for a Settings."""

    url: str
    transport_options: dict[str, Any]


def broker_config(settings: Settings) -> BrokerConfig:
    """The broker of these settings.

    The embedded broker uses one folder for both directions, so the web process (producer) and
    the worker (consumer) on the same machine meet there. Callers create the folders with
    `ensure_broker_dirs` before use.
    """
    if settings.embedded_broker:
        base = settings.broker_dir
        return BrokerConfig(
            "filesystem://",
            {
                "data_folder_in": str(base / "queue"),
                "data_folder_out": str(base / "queue"),
                "processed_folder": str(base / "processed"),
                "control_folder": str(base / "control"),
                "store_processed": False,
            },
        )
    return BrokerConfig(
        settings.broker_url, {"visibility_timeout": settings.visibility_timeout_s}
    )


def ensure_broker_dirs(settings: Settings) -> None:
    if settings.embedded_broker:
        options = broker_config(settings).transport_options
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


def get_settings(**overrides: Any) -> Settings:
    """Build settings from the environment (command-line `overrides` win). Call only at a
    process entry point."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
