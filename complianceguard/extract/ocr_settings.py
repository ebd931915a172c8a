"""OCR settings, apart from the OCR module: the engine and the CLI name them for every post, and
importing `extract.ocr` would load OpenCV and pytesseract for posts without media."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OcrSettings:
    """Frame sampling and reading settings; every field is part of the OCR cache key."""

    sample_fps: float = 1.0  # spike: 1 fps + boundary refinement gives exact intervals for labels >= 1 s
    detect_width: int = 512  # frames are downscaled to this width for the detector (cost ~ pixels)
    # While the picture keeps changing, every other video sample is detected at this width instead
    # (0: never), 2.5x cheaper: it follows the lines already seen, and where it finds another one the
    # frame is detected again at full width. It misses text under ~24 px cap height (at 720p): that
    # is found at the full-width samples, 2 s apart, its start refined back over both seconds.
    coarse_width: int = 320
    tile_grid: tuple[int, int] = (16, 9)  # a sample is "unchanged" only when every tile is
    tile_change: float = 6.0  # mean absolute grey difference (0-255) that makes a tile "changed"
    languages: str = "eng"  # Tesseract languages, e.g. "eng+kor" when a Korean pack is in play
    tesseract_below: float = 0.90  # RapidOCR confidence under which Tesseract reads the crop too
    min_confidence: float = 0.50  # readings below this are dropped as noise
    min_height_px: int = 8  # detected boxes lower than this are not text a viewer can read
    refine: bool = True  # refine interval ends between samples
    refine_every_s: float = 0.2  # resolution of that refinement (frames kept between samples)
