"""Batch scanning: every input becomes an item result; one bad item never stops the batch.

Errors are captured per item (as ScanCode does) and reported with verdict `error`, next to the
other items' results. The report header names the tool, packs, inputs and options.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from complianceguard import __version__
from complianceguard.engine import Engine
from complianceguard.errors import ComplianceGuardError
from complianceguard.extract.speech import Transcriber
from complianceguard.model import ItemResult, PackRef, Report, Submission, ToolInfo
from complianceguard.packs.loader import PackLibrary
from complianceguard.submission import load_all

NOTICE = ("complianceguard reports what it found against the rule packs named here; it is not legal advice. "
          "Rule confidence marks say how directly each rule rests on official text.")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def display_path(path: str) -> str:
    """An absolute path under the current directory, made relative to it (so two checkouts of the
    same batch give the same report); other paths as given."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            return candidate.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return path
    return path


def error_item(label: str, message: str) -> ItemResult:
    return ItemResult(id=label, verdict="error", source_file=label, errors=[message])


def evaluate_safely(engine: Engine, submission: Submission) -> ItemResult:
    """Evaluate one post; any failure becomes that item's error, never the batch's."""
    label = submission.source_file or submission.id
    try:
        return engine.evaluate(submission)
    except ComplianceGuardError as exc:
        return error_item(submission.id, f"{label}: {exc}")
    except Exception as exc:  # noqa: BLE001 - one broken item must not stop the batch
        return error_item(submission.id, f"{label}: internal error ({type(exc).__name__}: {exc})")


def scan(paths: list[Path], library: PackLibrary, regions: list[str] | None = None,
         options: dict[str, object] | None = None,
         on_item: Callable[[ItemResult], None] | None = None,
         transcriber: Transcriber | None = None, read_media: bool = True) -> Report:
    engine = Engine(library, regions, read_media=read_media, transcriber=transcriber)
    items: list[ItemResult] = []
    inputs: dict[str, str] = {}
    for loaded in load_all(paths, regions):
        if loaded.submission is None:
            item = error_item(loaded.label, loaded.error or f"{loaded.label}: unreadable")
        else:
            submission = loaded.submission
            submission = submission.model_copy(update={"media": [display_path(m) for m in submission.media]})
            item = evaluate_safely(engine, submission)
            for file in (display_path(loaded.file or loaded.label), *submission.media):
                if file not in inputs and Path(file).is_file():
                    inputs[file] = sha256_file(Path(file))
        items.append(item)
        if on_item:
            on_item(item)
    return build_report(items, library, engine, inputs, options or {})


def build_report(items: list[ItemResult], library: PackLibrary, engine: Engine,
                 inputs: dict[str, str], options: dict[str, object]) -> Report:
    used_ids: list[str] = []
    for item in items:
        for region in item.regions.values():
            pack_id = region.pack.split("@")[0]
            for chained in library.file_chain(library.get(pack_id)):
                if chained.pack.id not in used_ids:
                    used_ids.append(chained.pack.id)
    packs = [library.get(i) for i in used_ids]
    return Report(
        tool=ToolInfo(name="complianceguard", version=__version__),
        generated_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        notice=NOTICE,
        options=options,
        packs=[PackRef(id=p.pack.id, version=p.pack.version, region=p.pack.region, sha256=p.sha256,
                       path=p.path.name) for p in packs],
        inputs=[{"path": path, "sha256": digest} for path, digest in inputs.items()],
        summary=dict(sorted(Counter(item.verdict for item in items).items())),
        items=items,
    )


def exit_code(items: list[ItemResult]) -> int:
    """SQLFluff's convention: 0 all pass (or warn), 1 something fails or is inconclusive, 2 errors."""
    verdicts = {item.verdict for item in items}
    if "error" in verdicts:
        return 2
    if verdicts & {"fail", "inconclusive"}:
        return 1
    return 0
