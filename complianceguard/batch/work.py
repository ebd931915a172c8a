"""One post's work: the unit that travels to a worker and the result that travels back.

A `WorkUnit` is a raw post (a manifest's text or a CSV row, unvalidated) with a content key: the
SHA-256 of everything about the input that its result depends on. A `UnitResult` is the checked
item as JSON plus what the report header needs (verdict, packs used, input files and hashes), so
the parent never re-parses items and a report of 100,000 posts streams from the journal.

Results depend on the unit, the media it names (hashed by the worker, checked again on resume) and
the scan's settings (`ScanSettings.fingerprint`): nothing else. That is what makes a journaled
result safe to reuse and the same batch on several machines give the same report.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from complianceguard import __version__
from complianceguard.cache import cache_root, sha256_file
from complianceguard.errors import ComplianceGuardError, internal_error
from complianceguard.model import ItemResult

if TYPE_CHECKING:  # a creator's `check` builds its engine from ScanSettings without reading any input file
    from complianceguard.engine import Engine
    from complianceguard.packs.loader import PackLibrary
    from complianceguard.submission import RawPost


@dataclass(frozen=True)
class WorkUnit:
    index: int  # position in this batch's input order
    raw: RawPost
    key: str  # content key: see unit_key

    @property
    def heavy(self) -> bool:
        """Probably has media (seconds to minutes of work): dispatched one at a time."""
        return self.raw.text is not None or bool(self.raw.row and str(self.raw.row.get("media") or "").strip())


def unit_key(raw: RawPost) -> str:
    """SHA-256 of the raw post as read: its label and file names, and the manifest text or CSV row."""
    row = list(raw.row.items()) if raw.row is not None else None
    document = [raw.label, raw.file, raw.path, raw.root, raw.number, raw.text, row, raw.error]
    return hashlib.sha256(json.dumps(document, ensure_ascii=False, default=str).encode("utf-8")).hexdigest()


@dataclass
class UnitResult:
    key: str
    label: str
    verdict: str
    item_json: str  # the item as the JSON report writes it (json_report.item_record: one compact 2.0 line)
    line: str  # what the CLI prints for this item
    packs: list[str] = field(default_factory=list)  # region pack refs, in region order
    source: str | None = None  # the manifest or CSV (display path), when the post loaded
    media: list[list[str]] = field(default_factory=list)  # [display path, absolute path, sha256]
    overlay: bool = False  # on-screen evidence: thumbnails are drawn when the report is written
    retry: bool = False  # a time-out or crash: reported now, checked again by the next run

    def meta(self) -> dict[str, Any]:
        """Everything but the item JSON (the journal stores that as raw bytes after it)."""
        return {"key": self.key, "label": self.label, "verdict": self.verdict, "line": self.line,
                "packs": self.packs, "source": self.source, "media": self.media, "overlay": self.overlay,
                "retry": self.retry}

    @classmethod
    def from_meta(cls, meta: dict[str, Any], item_json: str) -> UnitResult:
        return cls(item_json=item_json, **meta)


def display_path(path: str, cwd: str | None = None) -> str:
    """An absolute path under the scan's folder (default: the current one), made relative to it
    (so two checkouts of the same batch give the same report); other paths as given."""
    return _relative(path, cwd or os.getcwd())


@lru_cache(maxsize=4096)
def _relative(path: str, cwd: str) -> str:
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            return candidate.relative_to(cwd).as_posix()
        except ValueError:
            return path
    return path


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """Control characters shown as \\xNN: an id or file name must not drive the terminal (ESC ]0;
    sets the window title, other sequences move the cursor or hide text)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def item_line(item: ItemResult) -> str:
    if item.verdict == "error":
        return terminal_safe(f"error: {item.errors[0] if item.errors else item.id}")
    regions_text = " ".join(f"{r}:{v.verdict}" for r, v in item.regions.items())
    return terminal_safe(f"{item.verdict.upper():13} {item.id}  {regions_text}")


def failure_result(unit: WorkUnit, reason: str, retry: bool = True) -> UnitResult:
    """An `error` item for a unit whose check never finished (time limit, crash, lost worker)."""
    from complianceguard.report.json_report import item_record
    from complianceguard.scan import error_item

    item = error_item(unit.raw.label, f"{unit.raw.label}: {reason}")
    return UnitResult(unit.key, unit.raw.label, "error", item_record(item), item_line(item), retry=retry)


@dataclass(frozen=True)
class ScanSettings:
    """Everything a worker needs to check posts exactly as the submitting machine would.

    Plain data, so it travels through a queue; `fingerprint` names the results it produces.
    """

    regions: tuple[str, ...] | None = None  # --region: check every post for these instead of its own
    packs: tuple[tuple[str, str], ...] = ()  # --pack files: (file name, YAML text)
    asr_backend: str = "faster-whisper"  # or "none"
    asr_model: str | None = None
    ocr_fps: float | None = 1.0  # None or 0: on-screen text is not read
    read_media: bool = True
    cwd: str = ""  # the submitter's folder: report paths are relative to it
    timeout_s: float = 600.0  # per item, enforced by the worker pool

    def engine(self, library: PackLibrary | None = None) -> Engine:
        """The one engine builder: `check`, the scan's workers and the API's checks and jobs. Give
        `library` where the packs are loaded already (errors then name the user's --pack files).
        Without `read_media` nothing of OCR or ASR is built, nor imported."""
        from complianceguard.engine import Engine

        library = library if library is not None else settings_library(self)
        transcriber = None
        if self.read_media and self.asr_backend != "none":
            from complianceguard.extract.speech import make_transcriber
            from complianceguard.packs.plan import spoken_denials, spoken_keywords

            transcriber = make_transcriber(self.asr_backend, self.asr_model, spoken_keywords(library),
                                           spoken_denials(library))
        return Engine(library, list(self.regions or []) or None, read_media=self.read_media,
                      transcriber=transcriber, ocr=ocr_settings(self.ocr_fps) if self.read_media else None)

    def fingerprint(self, library: PackLibrary) -> str:
        """Names what results these settings give: tool version, every pack's hash, the options
        that change a verdict. A journal or a worker with another fingerprint is not reused."""
        from complianceguard.model import REPORT_SCHEMA_VERSION

        document = {
            "tool": __version__,
            "report": REPORT_SCHEMA_VERSION,  # journaled records are written in the report's schema
            "packs": sorted((p.pack.id, p.sha256) for p in library.packs),
            "settings": {k: v for k, v in asdict(self).items() if k not in ("packs", "timeout_s")},
        }
        return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def settings_library(settings: ScanSettings) -> PackLibrary:
    """The built-in packs plus the submitter's --pack files (written once, by content, under the cache)."""
    from complianceguard.packs.loader import PackLibrary

    if not settings.packs:
        return PackLibrary()
    digest = hashlib.sha256(json.dumps(settings.packs).encode("utf-8")).hexdigest()[:16]
    folder = cache_root() / "packs" / digest  # content-addressed: every process of every scan reuses it
    paths = []
    for name, text in settings.packs:
        path = folder / Path(name).name
        if not path.is_file() or path.read_text("utf-8") != text:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, path)
        paths.append(path)
    return PackLibrary(extra=paths)


def settings_engine(settings: ScanSettings, library: PackLibrary) -> Engine:
    return settings.engine(library)


def ocr_settings(fps: float | None) -> Any:
    if not fps:
        return None
    from complianceguard.extract.ocr_settings import OcrSettings

    return OcrSettings(sample_fps=fps)


class Checker:
    """Turns work units into results: validate the post, check it, hash the media it read.

    Built once per process (the engine's matchers are compiled lazily and kept); `check` never
    raises: any failure is that item's `error`.
    """

    def __init__(self, engine: Engine, regions: list[str] | None, cwd: str):
        self.engine = engine
        self.regions = list(regions) if regions else None
        self.cwd = cwd
        self.catalogue: dict[str, Any] = {}  # region pack ref -> its rules (report/view.py), filled as used

    def catalogue_for(self, item: ItemResult) -> dict[str, Any]:
        """The rule catalogue of the packs the item was checked against: what its 2.0 record is
        written against, the same as the report header's (`scan.rule_catalogue`)."""
        from complianceguard.report.view import library_catalogue

        missing = [r.pack for r in item.regions.values() if r.pack not in self.catalogue]
        if missing:
            self.catalogue.update(library_catalogue(self.engine.library, missing))
        return self.catalogue

    def item(self, item_json: str) -> ItemResult:
        """A result's record expanded into the engine's item (what `scan()` returns)."""
        from complianceguard.report.view import expand_item

        return ItemResult.model_validate(expand_item(json.loads(item_json), self.catalogue))

    @classmethod
    def from_settings(cls, settings: ScanSettings) -> Checker:
        library = settings_library(settings)
        return cls(settings_engine(settings, library), list(settings.regions or []) or None, settings.cwd)

    def check(self, unit: WorkUnit) -> UnitResult:
        from complianceguard.report.json_report import item_record
        from complianceguard.scan import error_item, evaluate_safely
        from complianceguard.submission import load_post

        if self.cwd and os.getcwd() != self.cwd:
            try:
                os.chdir(self.cwd)  # media paths are relative to the submitter's folder
            except OSError:
                return failure_result(unit, f"the batch folder {self.cwd} is not reachable on worker "
                                            f"{socket.gethostname()} (workers need the same paths)", retry=False)
        loaded = load_post(unit.raw, self.regions)
        if loaded.submission is None:
            item = error_item(loaded.label, loaded.error or f"{loaded.label}: unreadable", item_id=loaded.id)
            return UnitResult(unit.key, unit.raw.label, "error", item_record(item), item_line(item))
        media = [display_path(m, self.cwd) for m in loaded.submission.media]
        submission = loaded.submission.model_copy(update={"media": media})
        item = evaluate_safely(self.engine, submission)
        hashes = []
        for shown, absolute in zip(media, loaded.submission.media, strict=True):
            try:
                hashes.append([shown, absolute, sha256_file(Path(absolute))])
            except OSError:
                continue  # gone since it was checked: the report lists the inputs it could hash
        overlay = any(s.channel == "overlay" for s in item.segments) and any(
            e.overlay is not None for r in item.regions.values() for f in r.findings for e in f.evidence)
        return UnitResult(unit.key, unit.raw.label, item.verdict, item_record(item, self.catalogue_for(item)),
                          item_line(item), packs=[r.pack for r in item.regions.values()],
                          source=display_path(loaded.file or loaded.label, self.cwd), media=hashes, overlay=overlay)

    def warm_up(self, raws: Iterable[RawPost]) -> None:
        """Build the spaCy pipelines and pack matchers these posts will need before worker
        processes are forked (French alone takes seconds to load; forked workers inherit it
        instead of each paying for it). Only the language of each caption is worked out here:
        nothing of the check itself, which could hang or crash, runs in the parent."""
        from complianceguard.analyze import detect_language, tokenizer_language, vocabulary_language
        from complianceguard.submission import load_post

        analyzer = self.engine.analyzer
        needed: set[tuple[str, str, str | None]] = set()
        for raw in raws:
            try:  # this runs in the scan's own process: a hostile post must not stop the batch here
                submission = load_post(raw, self.regions).submission
                if submission is None:
                    continue
                language = submission.language or detect_language(submission.caption,
                                                                   analyzer.candidate_languages)[0]
                for region in self.engine.regions_for(submission):  # the matchers its caption is matched with
                    needed.add((region, tokenizer_language(language, submission.caption),
                                vocabulary_language(language)))
            except Exception:  # noqa: BLE001 - its own check (in a worker) reports it
                continue
        for region, language, content in sorted(needed, key=lambda n: (n[0], n[1], n[2] or "")):
            try:
                analyzer.prepare(self.engine.pack_for(region), language, content)
            except ComplianceGuardError:
                continue  # an unknown region: that post's own check reports it

    def safe_check(self, unit: WorkUnit) -> UnitResult:
        try:
            return self.check(unit)
        except ComplianceGuardError as exc:
            return failure_result(unit, str(exc), retry=False)
        except Exception as exc:  # noqa: BLE001 - one broken item must not stop the batch
            return failure_result(unit, internal_error(exc), retry=False)
