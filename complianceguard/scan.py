"""Batch scanning: every input becomes an item result; one bad item never stops the batch.

Errors are captured per item (as ScanCode does) and reported with verdict `error`, next to the
other items' results. The report header names the tool, packs, inputs and options.

Two ways in, one pipeline (complianceguard/batch):
- `scan()`: in this process, returns the Report (tests, small callers);
- `scan_batch()`: the `scan` command: worker processes (or queue workers on other machines) with a
  per-item time limit and crash isolation, a resume journal in the output folder, a progress bar,
  and reports streamed to disk (100,000 posts do not have to fit in memory).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from complianceguard import __version__
from complianceguard.batch.work import Checker, ScanSettings, UnitResult, WorkUnit, failure_result, unit_key
from complianceguard.cache import sha256_file
from complianceguard.errors import ComplianceGuardError, OutputError, internal_error
from complianceguard.model import ItemResult, PackRef, Report, Submission, ToolInfo
from complianceguard.submission import read_posts

if TYPE_CHECKING:
    from complianceguard.engine import Engine
    from complianceguard.extract.speech import Transcriber
    from complianceguard.packs.loader import PackLibrary

NOTICE = ("complianceguard reports what it found against the rule packs named here; it is not legal advice. "
          "Rule confidence marks say how directly each rule rests on official text.")
_ENGINE_DEFAULT: Any = object()
WARM_UP_POSTS = 200  # posts whose languages and regions are prepared before the workers are forked


def display_path(path: str) -> str:
    """An absolute path under the current directory, made relative to it (so two checkouts of the
    same batch give the same report); other paths as given."""
    from complianceguard.batch.work import display_path as relative

    return relative(path)


def error_item(label: str, message: str, item_id: str | None = None) -> ItemResult:
    """An input that could not be checked. It keeps the post's own id when that was read (a
    tracker joins on it); `label` is where it came from (the file, or file:row N)."""
    return ItemResult(id=item_id or label, verdict="error", source_file=label, errors=[message])


def evaluate_safely(engine: Engine, submission: Submission) -> ItemResult:
    """Evaluate one post; any failure becomes that item's error, never the batch's."""
    label = submission.source_file or submission.id
    try:
        return engine.evaluate(submission)
    except ComplianceGuardError as exc:
        return error_item(label, f"{label}: {exc}", item_id=submission.id)
    except Exception as exc:  # noqa: BLE001 - one broken item must not stop the batch
        return error_item(label, f"{label}: {internal_error(exc)}", item_id=submission.id)


def plan(paths: list[Path]) -> list[WorkUnit]:
    """Every post of the inputs, in input order, with its content key (nothing validated yet)."""
    return [WorkUnit(index, raw, unit_key(raw)) for index, raw in enumerate(read_posts(paths))]


def scan(paths: list[Path], library: PackLibrary, regions: list[str] | None = None,
         options: dict[str, object] | None = None,
         on_item: Callable[[ItemResult], None] | None = None,
         transcriber: Transcriber | None = None, read_media: bool = True, ocr: Any = _ENGINE_DEFAULT) -> Report:
    """Scan in this process and return the whole report (no pool, no journal)."""
    from complianceguard.engine import Engine

    engine_options = {} if ocr is _ENGINE_DEFAULT else {"ocr": ocr}
    engine = Engine(library, regions, read_media=read_media, transcriber=transcriber, **engine_options)
    checker = Checker(engine, regions, os.getcwd())
    results = []
    for unit in plan(paths):
        result = checker.safe_check(unit)
        results.append(result)
        if on_item:
            on_item(checker.item(result.item_json))
    if transcriber is not None:  # the speech models' names and weight hashes, and the media engines' versions
        from complianceguard.extract.models import engine_versions
        from complianceguard.extract.speech import model_manifest

        options = {**(options or {}), "speech_models": model_manifest(transcriber), "engines": engine_versions()}
    header = report_header(results, library, options or {})
    return header.model_copy(update={"items": [checker.item(r.item_json) for r in results]})


def build_report(items: list[ItemResult], library: PackLibrary, engine: Engine,
                 inputs: dict[str, str], options: dict[str, object]) -> Report:
    return Report(
        tool=ToolInfo(name="complianceguard", version=__version__),
        generated_at=_now(),
        notice=NOTICE,
        options=options,
        packs=pack_refs([r.pack for item in items for r in item.regions.values()], library),
        inputs=[{"path": path, "sha256": digest} for path, digest in inputs.items()],
        summary=dict(sorted(Counter(item.verdict for item in items).items())),
        rules=rule_catalogue([r.pack for item in items for r in item.regions.values()], library),
        items=items,
    )


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def pack_refs(used: Iterable[str], library: PackLibrary) -> list[PackRef]:
    """Every pack the items used (refs like 'gb-asa@1.0.0', in order), with the packs they extend."""
    used_ids: list[str] = []
    for ref in dict.fromkeys(used):
        for chained in library.file_chain(library.get(ref.split("@")[0])):
            if chained.pack.id not in used_ids:
                used_ids.append(chained.pack.id)
    packs = [library.get(i) for i in used_ids]
    return [PackRef(id=p.pack.id, version=p.pack.version, region=p.pack.region, sha256=p.sha256, path=p.path.name)
            for p in packs]


def rule_catalogue(used: Iterable[str], library: PackLibrary) -> dict[str, Any]:
    """The report's `rules` (schema 2.0): every rule of the region packs the items used (refs like
    'gb-asa@1.0.0', in first-use order), what the items' findings are written against."""
    from complianceguard.model import RuleInfo
    from complianceguard.report.view import library_catalogue

    return {ref: {code: RuleInfo.model_validate(info) for code, info in rules.items()}
            for ref, rules in library_catalogue(library, used).items()}


def report_header(results: Iterable[UnitResult], library: PackLibrary, options: dict[str, object]) -> Report:
    """The report without its items: summary, packs and inputs, from the results in item order."""
    verdicts: Counter[str] = Counter()
    used: list[str] = []
    inputs: dict[str, str] = {}
    hashes: dict[str, str] = {}
    for result in results:
        verdicts[result.verdict] += 1
        used.extend(result.packs)
        if result.source is not None:
            if result.source not in inputs and Path(result.source).is_file():
                if result.source not in hashes:
                    hashes[result.source] = sha256_file(Path(result.source))
                inputs[result.source] = hashes[result.source]
            for shown, _, digest in result.media:
                inputs.setdefault(shown, digest)
    return Report(
        tool=ToolInfo(name="complianceguard", version=__version__),
        generated_at=_now(),
        notice=NOTICE,
        options=options,
        packs=pack_refs(used, library),
        inputs=[{"path": path, "sha256": digest} for path, digest in inputs.items()],
        summary=dict(sorted(verdicts.items())),
        rules=rule_catalogue(used, library),
    )


def exit_code(items: list[ItemResult]) -> int:
    """SQLFluff's convention: 0 all pass (or warn), 1 something fails or is inconclusive, 2 errors."""
    return exit_code_of({item.verdict for item in items})


def exit_code_of(verdicts: Iterable[str]) -> int:
    verdicts = set(verdicts)
    if "error" in verdicts:
        return 2
    if verdicts & {"fail", "inconclusive"}:
        return 1
    return 0


# ------------------------------------------------------------------------------------ scan_batch


@dataclass
class BatchOutcome:
    total: int
    reused: int  # results taken from the journal of an earlier run
    summary: dict[str, int]
    written: list[Path] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return exit_code_of(self.summary)


def scan_batch(paths: list[Path], library: PackLibrary, settings: ScanSettings, out_dir: Path, formats: list[str],
               options: dict[str, object], jobs: int = 1, queue: str | None = None, fresh: bool = False,
               progress: bool = False, echo: bool = False, on_result: Callable[[UnitResult], None] | None = None,
               engine: Engine | None = None) -> BatchOutcome:
    """Check every post on `jobs` local workers (or on queue workers), resuming from `out_dir`'s
    journal, then write the reports. `progress`: a bar on a terminal; `echo`: a line per post
    (errors on stderr); `engine` overrides the one built from `settings` (tests)."""
    from complianceguard.batch.journal import JOURNAL_NAME, Journal
    from complianceguard.batch.pool import Failure, WorkerPool
    from complianceguard.batch.progress import Progress
    from complianceguard.batch.work import settings_engine

    units = plan(paths)
    with _writing(out_dir, "cannot open the journal"):
        if fresh:
            (out_dir / JOURNAL_NAME).unlink(missing_ok=True)
        journal = Journal(out_dir, settings.fingerprint(library))
        journal.open()
    with contextlib.closing(journal):
        todo = _unfinished(units, journal)
        reused = len(units) - len(todo)
        pool = None
        if todo and queue is None:
            checker = Checker(engine or settings_engine(settings, library), list(settings.regions or []) or None,
                              settings.cwd)
            checker.warm_up(u.raw for u in todo[:WARM_UP_POSTS])
            pool = WorkerPool(jobs, checker.safe_check, settings.timeout_s, close_in_workers=journal.fds())
        bar = Progress(len(units), progress, done=reused)

        def finished(unit: WorkUnit, result: UnitResult) -> None:
            with _writing(out_dir, "stopped: cannot write the journal", journal.path):
                journal.append(result)
            if echo:
                bar.print(result.line, error=result.verdict == "error")
            bar.advance(result.verdict)
            if on_result:
                on_result(result)

        try:
            if pool is not None:
                by_index = {u.index: u for u in todo}

                def answered(index: int, result: UnitResult | Failure) -> None:
                    unit = by_index.pop(index)
                    if isinstance(result, Failure):
                        result = failure_result(unit, result.reason)
                    finished(unit, result)

                pool.run([(u.index, u) for u in todo], answered, heavy=lambda u: u.heavy, tick=bar.tick)
            elif todo:
                from complianceguard.batch.distributed import submit

                submit(queue, settings, library, todo, finished, tick=bar.tick,
                       warn=lambda message: bar.print(f"warning: {message}", error=True))
        finally:
            bar.close()
            if pool is not None:
                pool.close()
        results = _in_order(units, journal)
        with _writing(out_dir, "stopped: cannot write the journal", journal.path):  # reading it flushes it
            header = report_header(results(), library, options)
        with _writing(out_dir, "cannot write the reports", journal.path):
            from complianceguard.report.changes import annotate  # review decisions, changes, yt-dlp origin

            header, results = annotate(header, results, out_dir, warn=lambda m: bar.print(m, error=True))
            written = write_batch_reports(header, results, out_dir, formats, library)
        return BatchOutcome(len(units), reused, header.summary, written)


class _writing:
    """Turns an OSError writing the output folder (no space left, read-only, no permission) into
    one OutputError line naming the folder and the problem; the journal keeps finished posts."""

    def __init__(self, out_dir: Path, what: str, journal: Path | None = None):
        self.out_dir, self.what, self.journal = out_dir, what, journal

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: object) -> bool:
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            kept = (f"; the posts finished so far are kept in {self.journal}: fix that and run the same command "
                    "again to go on from there") if self.journal else ""
            raise OutputError(f"{self.out_dir}: {self.what} ({reason}){kept}") from None
        return False


def _unfinished(units: list[WorkUnit], journal: Any) -> list[WorkUnit]:
    """Units with no reusable journaled result: never checked, or their media changed since."""
    todo, seen, current = [], set(), {}
    for unit in units:
        meta = journal.meta(unit.key)
        if unit.key in seen or (meta is not None and _media_unchanged(meta, current)):
            seen.add(unit.key)
            continue
        seen.add(unit.key)
        todo.append(unit)
    return todo


def _media_unchanged(meta: dict[str, Any], current: dict[str, str | None]) -> bool:
    for _, absolute, digest in meta.get("media", []):
        if absolute not in current:
            try:
                current[absolute] = sha256_file(Path(absolute))
            except OSError:
                current[absolute] = None
        if current[absolute] != digest:
            return False
    return True


def _in_order(units: list[WorkUnit], journal: Any) -> Callable[[], Iterator[UnitResult]]:
    def results() -> Iterator[UnitResult]:
        for unit in units:
            result = journal.get(unit.key)
            if result is None:  # cannot happen: every unit was checked or reused
                result = failure_result(unit, "no result was recorded for this item")
            yield result
    return results


def write_batch_reports(header: Report, results: Callable[[], Iterable[UnitResult]], out_dir: Path,
                        formats: list[str], library: PackLibrary) -> list[Path]:
    """report.json streamed item by item from `results()`; the other formats from the whole report
    (write_reports), which large batches can leave out with --format json."""
    from complianceguard.report import write_reports
    from complianceguard.report.json_report import parse_item, write_stream
    from complianceguard.report.view import catalogue_of

    catalogue = catalogue_of(header)
    written: dict[str, Path] = {}
    if "json" in formats:
        written["json"] = write_stream(header, (_with_thumbnails(r, header, out_dir) for r in results()), out_dir)
    others = [f for f in formats if f != "json"]
    if others:
        report = header.model_copy(update={"items": [parse_item(r.item_json, catalogue) for r in results()]})
        written.update(zip(others, write_reports(report, out_dir, others, library=library), strict=True))
    return [written[f] for f in formats]


def _with_thumbnails(result: UnitResult, header: Report, out_dir: Path) -> str:
    """The item's JSON, with the frames of its on-screen evidence drawn beside the report."""
    if not result.overlay:
        return result.item_json
    try:
        from complianceguard.report.thumbnails import with_thumbnails
    except ImportError:
        return result.item_json
    from complianceguard.report.json_report import item_record, parse_item
    from complianceguard.report.view import catalogue_of

    catalogue = catalogue_of(header)
    one = header.model_copy(update={"items": [parse_item(result.item_json, catalogue)]})
    return item_record(with_thumbnails(one, out_dir).items[0], catalogue)
