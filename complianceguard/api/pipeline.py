"""The project's pipeline as the API runs it: the CLI's Engine, items and reports, nothing of its own.

A check answers with the item JSON that `complianceguard check --format json` prints; a job's report
is the batch report of `complianceguard scan` for one item, so every report format renders from it.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the engine imports the analysis stack (seconds): loaded on first use, not at import
    from complianceguard.engine import Engine
    from complianceguard.model import ItemResult, Report, Submission
    from complianceguard.packs.loader import PackLibrary

WARM_UP_CAPTION = "#ad Loving my new serum from @glowskincare, use code GLOW20 #skincare"

# What each report format is served as (a format added to the report package later: octet-stream).
REPORT_MEDIA_TYPES = {
    "json": "application/json", "csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8",
    "sarif": "application/sarif+json", "junit": "application/xml", "md": "text/markdown; charset=utf-8",
}


def report_media_type(fmt: str) -> str:
    return REPORT_MEDIA_TYPES.get(fmt, "application/octet-stream")


class Pipeline:
    """Packs loaded once, an Engine that reads media: on-screen text (OCR) and speech (the chosen ASR backend).

    Both are built on first use (thread-safe), so a process answers /healthz before its packs are loaded;
    the engine is the one `ScanSettings.engine()` builds for `check` and `scan`."""

    def __init__(self, packs: tuple[str, ...] = (), asr_backend: str = "none", asr_model: str | None = None,
                 ocr_fps: float = 1.0):
        self.packs = packs
        self.options: dict[str, Any] = {"packs": [Path(p).name for p in packs], "asr_backend": asr_backend,
                                        "asr_model": asr_model, "ocr_fps": ocr_fps}
        self._asr = (asr_backend, asr_model, ocr_fps)
        self._lock = threading.Lock()
        self._library: PackLibrary | None = None
        self._engine: Engine | None = None

    @property
    def loaded(self) -> bool:
        """The packs are loaded (GET /readyz)."""
        return self._library is not None

    @property
    def library(self) -> PackLibrary:
        if self._library is None:
            with self._lock:
                if self._library is None:
                    from complianceguard.packs.loader import PackLibrary

                    self._library = PackLibrary(extra=[Path(p) for p in self.packs])
        return self._library

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            library = self.library
            with self._lock:
                if self._engine is None:
                    from complianceguard.batch.work import ScanSettings

                    asr_backend, asr_model, ocr_fps = self._asr
                    # the speech model itself loads on first use; it listens for the packs' spoken labels
                    engine = ScanSettings(asr_backend=asr_backend, asr_model=asr_model, ocr_fps=ocr_fps or None,
                                          read_media=True).engine(library)
                    if engine.transcriber is not None:
                        from complianceguard.extract.speech import model_manifest

                        self.options["speech_models"] = model_manifest(engine.transcriber)
                    self._engine = engine
        return self._engine

    def warm_up(self) -> None:
        """Compile every region's matchers and the language identifier now, not on a client's request."""
        from complianceguard.model import Submission

        regions = self.library.regions()
        self.evaluate(Submission(id="warm-up", regions=regions, caption=WARM_UP_CAPTION, relationship="paid"))

    def evaluate(self, submission: Submission) -> ItemResult:
        from complianceguard.scan import evaluate_safely

        return evaluate_safely(self.engine, submission)

    def report(self, item: ItemResult, inputs: dict[str, str], options: dict[str, Any],
               generated_at: dt.datetime) -> Report:
        from complianceguard.scan import build_report

        report = build_report([item], self.library, self.engine, inputs, {**self.options, **options})
        return report.model_copy(update={"generated_at": generated_at.isoformat(timespec="seconds")})

    def write_reports(self, report: Report, folder: Path) -> dict[str, str]:
        """Every report format into `folder` (with frame thumbnails while the media is there):
        format -> file name."""
        from complianceguard.report import FORMATS, write_reports

        written = write_reports(report, folder, list(FORMATS), library=self.library)
        return {fmt: path.name for fmt, path in zip(FORMATS, written, strict=True)}

    def render(self, report_text: str, fmt: str, folder: Path) -> Path:
        """One format again from the saved JSON report, when its file is gone (no thumbnails then)."""
        from complianceguard.report import parse_report, write_reports  # 2.0: items expanded against its rules

        return write_reports(parse_report(report_text), folder, [fmt], library=self.library)[0]
