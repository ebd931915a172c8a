"""What `serve` was started with, carried into its HTTP and worker processes as one JSON value.

The children are fresh interpreters (uvicorn's factory, the Huey consumer), so the settings travel
in an environment variable rather than through globals. Secrets never do: API keys are read from
the keys file or `COMPLIANCEGUARD_API_KEYS` by each process and kept only as SHA-256 hashes.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

SETTINGS_ENV = "COMPLIANCEGUARD_API_SETTINGS"
WEBHOOK_SECRET_ENV = "COMPLIANCEGUARD_WEBHOOK_SECRET"  # the server-wide webhook secret (else a file in the data dir)
MB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2  # Huey worker processes evaluating jobs
    http_workers: int = 1  # uvicorn processes
    queue_url: str | None = None  # default: SQLite under the data directory
    keys_file: Path | None = None
    max_job_bytes: int = 200 * MB  # a whole POST /v1/jobs request
    max_check_bytes: int = 10 * MB  # a whole POST /v1/checks request (caption and small images)
    max_files: int = 10  # media files in one request
    rate_limit: float = 20.0  # requests per second per key, unless the key says otherwise
    burst: int = 40  # requests a key may make at once before the rate applies
    webhook_attempts: int = 6
    webhook_backoff_s: float = 2.0  # first retry after this, doubling each time
    webhook_timeout_s: float = 10.0
    callback_hosts: tuple[str, ...] = ()  # the only callback hosts allowed (may be private); empty: public ones
    check_workers: int = 2  # processes running POST /v1/checks (a key holds at most all but one)
    check_cache_bytes: int = 32 * MB  # answers to captions checked again by the same key (0: no cache)
    max_image_pixels: int | None = None  # pixels in an uploaded image (413 over; None: the shared budget)
    header_timeout_s: float = 10.0  # a request's line and headers must arrive within this
    body_timeout_s: float = 300.0  # and its body within this of the headers (408 otherwise)
    auth_failure_burst: int = 20  # requests with a missing or unknown key from one client before 429
    auth_failure_rate: float = 0.1  # ... and then this many a second
    asr_backend: str = "faster-whisper"
    asr_model: str | None = None
    ocr_fps: float = 1.0  # video frames sampled per second for on-screen text (0: OCR off)
    packs: tuple[str, ...] = ()
    keep_media: bool = False
    access_log: bool = False
    max_attempts: int = 3  # evaluations of one job interrupted by a dying worker before it fails
    retention_days: int = 30  # finished jobs older than this are deleted with their media (0: kept)
    retention_sweep_s: float = 3600.0  # how often the supervisor looks for them (and at start)

    # Where things live under the data directory.
    @property
    def jobs_db(self) -> Path:
        return self.data_dir / "jobs.db"

    @property
    def queue(self) -> str:
        return self.queue_url or f"sqlite://{self.data_dir / 'queue.db'}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def checks_dir(self) -> Path:
        return self.data_dir / "checks"

    @property
    def webhook_secret_file(self) -> Path:
        return self.data_dir / "webhook.secret"

    def to_json(self) -> str:
        data = asdict(self)
        return json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in data.items()})

    @classmethod
    def from_json(cls, text: str) -> Settings:
        data = json.loads(text)
        types = {f.name: f.type for f in fields(cls)}
        for name in ("data_dir", "keys_file"):
            if data.get(name) is not None:
                data[name] = Path(data[name])
        for name in ("callback_hosts", "packs"):
            data[name] = tuple(data.get(name) or ())
        return cls(**{k: v for k, v in data.items() if k in types})

    @classmethod
    def from_env(cls) -> Settings:
        text = os.environ.get(SETTINGS_ENV)
        if not text:
            raise RuntimeError(f"{SETTINGS_ENV} is not set: start the API with `complianceguard serve`")
        return cls.from_json(text)

