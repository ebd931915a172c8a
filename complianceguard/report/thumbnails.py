"""Frame thumbnails for on-screen evidence: the frame a label was read from, with its box drawn.

A reviewer must see what the OCR saw. Thumbnails are written beside the report
(`thumbnails/<digest>.jpg`, named by media path, frame time and box, so a re-scan writes the same
names) and each overlay evidence points at its file; the HTML report embeds them.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import cv2
import numpy as np

from complianceguard.model import Evidence, Finding, ItemResult, Report

THUMBNAIL_WIDTH = 480
BOX_COLOUR = (0, 0, 255)  # red, in BGR


def _frame(media: Path, frame_s: float | None) -> np.ndarray | None:
    if frame_s is None:
        return cv2.imread(str(media), cv2.IMREAD_COLOR)
    capture = cv2.VideoCapture(str(media))
    try:
        capture.set(cv2.CAP_PROP_POS_MSEC, frame_s * 1000)
        ok, frame = capture.read()
        return frame if ok else None
    finally:
        capture.release()


def render(media: Path, frame_s: float | None, box: list[int]) -> bytes | None:
    """A JPEG of the frame at `frame_s` (an image: the image) with `box` drawn; None if unreadable.
    Kept in the content-addressed cache, so a re-scan of unchanged media decodes no frame."""
    from complianceguard.cache import default_cache, sha256_file

    settings = {"frame_s": frame_s, "box": list(box), "width": THUMBNAIL_WIDTH, "colour": list(BOX_COLOUR)}
    drawn = default_cache().cached("thumbnail", sha256_file(media), settings, {"opencv": cv2.__version__},
                                   lambda: _draw(media, frame_s, box), _to_text, _from_text)
    return drawn or None


def _to_text(image: bytes | None) -> str:
    return base64.b64encode(image or b"").decode("ascii")


def _from_text(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _draw(media: Path, frame_s: float | None, box: list[int]) -> bytes | None:
    frame = _frame(media, frame_s)
    if frame is None:
        return None
    x, y, w, h = box
    thickness = max(2, frame.shape[1] // 320)
    cv2.rectangle(frame, (x, y), (x + w, y + h), BOX_COLOUR, thickness)
    scale = min(1.0, THUMBNAIL_WIDTH / frame.shape[1])
    if scale < 1:
        frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return encoded.tobytes() if ok else None


def _same_file(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def thumbnail_name(evidence: Evidence) -> str:
    key = f"{evidence.media}|{evidence.overlay.frame_s}|{evidence.overlay.box}"
    return f"thumbnails/{hashlib.sha256(key.encode()).hexdigest()[:16]}.jpg"


def with_thumbnails(report: Report, out_dir: Path) -> Report:
    """The report with a thumbnail written for every on-screen evidence whose media can be read."""
    from complianceguard.report import atomic_write

    rendered: dict[str, bool] = {}

    def visit(evidence: Evidence) -> Evidence:
        if evidence.overlay is None or evidence.media is None or evidence.overlay.reader == "described":
            return evidence
        name = thumbnail_name(evidence)
        if name not in rendered:
            media = Path(evidence.media)
            image = render(media, evidence.overlay.frame_s, evidence.overlay.box) if media.is_file() else None
            if image is not None and not _same_file(out_dir / name, image):
                atomic_write(out_dir / name, image)
            rendered[name] = image is not None or (out_dir / name).is_file()
        return evidence.model_copy(update={"thumbnail": name}) if rendered[name] else evidence

    def finding(f: Finding) -> Finding:
        if not any(e.overlay for e in f.evidence):
            return f
        return f.model_copy(update={"evidence": [visit(e) for e in f.evidence]})

    def item(i: ItemResult) -> ItemResult:
        regions = {code: region.model_copy(update={"findings": [finding(f) for f in region.findings]})
                   for code, region in i.regions.items()}
        return i.model_copy(update={"regions": regions})

    if not any(e.overlay for i in report.items for r in i.regions.values() for f in r.findings for e in f.evidence):
        return report
    return report.model_copy(update={"items": [item(i) for i in report.items]})
