"""On-screen text: find text lines first, then read them, then follow them through time.

Why this shape (measured in shared/research/environment-spike.md, section 5): full-frame Tesseract
misses coloured, small and low-contrast overlays because its page-layout analysis is built for
documents; PP-OCR's text *detector* (shipped as ONNX inside rapidocr-onnxruntime) finds them.
RapidOCR's own recogniser reads the detected crops first, in this process; Tesseract (one process
for all the crops of a frame) reads only those it is unsure of (issue 15: a process per frame was
most of the reading time).

Video frames are decoded once, sequentially (per-frame seeking in H.264 is ~10x slower), skipping
the non-reference frames nothing looks at, and sampled at `sample_fps`; a sample whose tiles did not
change since the last OCRed one reuses its reading (a whole-frame difference would hide a small
label appearing). While the picture keeps changing, every other sample is detected at reduced size
and only refined at full size where it finds a line not seen before. The same text followed across
samples becomes one on-screen interval, whose ends are refined by re-reading only the label's box
in the frames between two samples. `STAGES` keeps the seconds per stage for the benchmarks.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # a truncated file is one error line, not FFmpeg's chatter
from complianceguard.extract.limits import check_frame_rate, check_pixel_budget, max_pixels  # noqa: E402

os.environ.setdefault("CV_IO_MAX_IMAGE_PIXELS", str(max_pixels()))  # OpenCV's own backstop (if imported here first)
import cv2  # noqa: E402
import numpy as np
import pytesseract
from rapidfuzz import fuzz

from complianceguard.cache import default_cache, sha256_file, tool_version
from complianceguard.extract.media import ExtractionError
from complianceguard.extract.normalize import without_accents
from complianceguard.extract.ocr_settings import OcrSettings  # noqa: F401 - re-exported

# Debian's Tesseract uses OpenMP; with its default thread count one frame took 6x longer on these
# 2 cores (environment-spike.md §5.2). Parallelism belongs to processes, not to OpenMP. The limit is
# given to the Tesseract process only: set in this process's environment, it also capped the OpenMP
# runtime CTranslate2 loads later, and CTranslate2's non-MKL kernels (the path it takes on AMD CPUs)
# then split the work for `intra_threads` threads while one ran, leaving half the encoder output
# unwritten (NaN or garbage; issue #13, tests/test_whisper_convert.py::test_ocr_import_*).
TESSERACT_ENV = {"OMP_THREAD_LIMIT": "1"}
_pytesseract_subprocess_args = pytesseract.pytesseract.subprocess_args


def _tesseract_subprocess_args(include_stdout: bool = True) -> dict:
    """pytesseract's Popen arguments with Tesseract's own environment (it has no env parameter)."""
    kwargs = _pytesseract_subprocess_args(include_stdout)
    kwargs["env"] = {**os.environ, **TESSERACT_ENV}
    return kwargs


pytesseract.pytesseract.subprocess_args = _tesseract_subprocess_args

OCR_VERSION = "3"  # bump when readings change for the same settings (part of cache keys)


@dataclass(frozen=True)
class Reading:
    """One text line read in one frame, with how visible it is."""

    text: str
    box: tuple[int, int, int, int]  # x, y, width, height in frame pixels
    confidence: float  # 0-1
    reader: str  # tesseract | rapidocr
    text_height_px: int  # height of the ink, not of the detector's padded box
    contrast: float  # WCAG 2.x contrast ratio of the text against its local background (1-21)


@dataclass(frozen=True)
class OverlayText:
    """A text line on screen: still images have no interval; video text has [start_s, end_s)."""

    reading: Reading
    frame_width: int
    frame_height: int
    start_s: float | None = None
    end_s: float | None = None
    frame_s: float | None = None  # the frame the reading (and a thumbnail) comes from


@dataclass(frozen=True)
class OverlayResult:
    texts: list[OverlayText]
    frames_total: int
    frames_sampled: int
    frames_ocred: int
    width: int
    height: int
    duration_s: float | None
    seconds: float = 0.0


class Stages:
    """Wall and CPU seconds spent per stage (decode, detector, reader:rapidocr, reader:tesseract),
    summed over threads, for benchmarks' breakdowns; `reset()` before, `snapshot()` after."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - wall, time.thread_time() - cpu)

    def add(self, name: str, wall: float, cpu: float, calls: int = 1) -> None:
        with self._lock:
            self.wall[name] += wall
            self.cpu[name] += cpu
            self.calls[name] += calls

    def reset(self) -> None:
        with self._lock:
            self.wall.clear(), self.cpu.clear(), self.calls.clear()

    def snapshot(self) -> dict[str, tuple[float, float, int]]:
        with self._lock:
            return {k: (self.wall[k], self.cpu[k], self.calls[k]) for k in self.wall}


STAGES = Stages()


# ---------------------------------------------------------------- reading one frame


@lru_cache(maxsize=1)
def _rapidocr():
    """PP-OCR detector and recogniser from the rapidocr wheel (offline), one thread each."""
    from rapidocr_onnxruntime import RapidOCR  # imported late: onnxruntime start-up is ~0.5 s

    # limit_type "max" keeps our downscaled frames as they are ("min" upscales them to 736 px).
    return RapidOCR(det_limit_type="max", intra_op_num_threads=1, inter_op_num_threads=1, print_verbose=False)


def fold(text: str) -> str:
    """Lower case without accents or spacing: OCR drops diacritics ("publicite") and spaces."""
    return re.sub(r"[\s.,:;!|'\"`]+", "", without_accents(text))


def detect_lines(frame: np.ndarray, settings: OcrSettings,
                 detect_width: int | None = None) -> list[tuple[int, int, int, int]]:
    """Text-line boxes (x, y, w, h) in frame pixels, padded a little for the readers; the frame is
    downscaled to `detect_width` (default: the settings') for the detector."""
    height, width = frame.shape[:2]
    scale = min(1.0, (detect_width or settings.detect_width) / width)
    small = cv2.resize(frame, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA) \
        if scale < 1 else frame
    with STAGES.timed("detector"):
        boxes, _ = _rapidocr().text_det(small)
    found = []
    for quad in boxes if boxes is not None else []:
        x0, y0 = (quad.min(axis=0) / scale).astype(int)
        x1, y1 = (quad.max(axis=0) / scale).astype(int)
        pad = max(2, (y1 - y0) // 8)
        x0, y0 = max(0, x0 - pad), max(0, y0 - pad)
        x1, y1 = min(width, x1 + pad), min(height, y1 + pad)
        # Taller than a quarter of the frame: a shape or a texture, not a line of text.
        if settings.min_height_px <= y1 - y0 <= height / 4 and x1 - x0 >= 4:
            found.append((int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
    return found


def _text_mask(crop: np.ndarray) -> np.ndarray:
    """True where the crop's ink is: Otsu on the most contrasted channel; text is the minority class."""
    channels = [crop[..., i] for i in range(3)] + [cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)]
    channel = max(channels, key=lambda c: float(c.std()))
    _, binary = cv2.threshold(channel, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = binary > 0
    return ~mask if mask.mean() > 0.5 else mask


def _relative_luminance(bgr: np.ndarray) -> float:
    """WCAG 2.x relative luminance of an sRGB colour (given as B, G, R 0-255)."""
    srgb = np.asarray(bgr, dtype=float)[::-1] / 255.0
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2])


def prominence(crop: np.ndarray) -> tuple[int, float]:
    """(text height in px, WCAG contrast ratio of the ink against what surrounds it).

    The height is that of the tallest letters (ascenders), not the detector's padded box. The
    background is the ring of pixels just around the ink, so an outline counts as the background
    it gives the letters, as a viewer sees it.
    """
    mask = _text_mask(crop)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    rows, cols = mask.shape
    letters = [stats[i] for i in range(1, count)
               if stats[i][cv2.CC_STAT_AREA] >= 4 and stats[i][cv2.CC_STAT_TOP] > 0
               and stats[i][cv2.CC_STAT_TOP] + stats[i][cv2.CC_STAT_HEIGHT] < rows]
    heights = [int(s[cv2.CC_STAT_HEIGHT]) for s in letters]
    height = int(np.percentile(heights, 90)) if heights else 0
    kernel = np.ones((3, 3), np.uint8)
    ink_u8 = mask.astype(np.uint8)
    ink = cv2.erode(ink_u8, kernel).astype(bool)  # away from anti-aliased edges
    if not ink.any():
        ink = mask
    ring = cv2.dilate(ink_u8, kernel, iterations=3).astype(bool) & ~cv2.dilate(ink_u8, kernel).astype(bool)
    if not ink.any() or not ring.any():
        return height, 1.0
    lighter, darker = sorted((_relative_luminance(np.median(crop[ink], axis=0)),
                              _relative_luminance(np.median(crop[ring], axis=0))), reverse=True)
    return height, round((lighter + 0.05) / (darker + 0.05), 2)


def _for_tesseract(crop: np.ndarray) -> np.ndarray:
    """Dark text on white, about 48 px high, padded: what Tesseract reads best."""
    mask = _text_mask(crop)
    binary = np.where(mask, 0, 255).astype(np.uint8)
    scale = max(1.0, 48 / max(1, crop.shape[0]))
    binary = cv2.resize(binary, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    _, binary = cv2.threshold(binary, 127, 255, cv2.THRESH_BINARY)
    return cv2.copyMakeBorder(binary, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=255)


def _tesseract_mosaic(crops: list[np.ndarray], languages: str) -> list[tuple[str, float]]:
    """Read many crops with one Tesseract call: stack them into one page, one line each."""
    prepared = [_for_tesseract(c) for c in crops]
    width = max(p.shape[1] for p in prepared)
    rows, spans, y = [], [], 0
    for p in prepared:
        padded = cv2.copyMakeBorder(p, 0, 16, 0, width - p.shape[1], cv2.BORDER_CONSTANT, value=255)
        rows.append(padded)
        spans.append((y, y + p.shape[0]))
        y += padded.shape[0]
    with STAGES.timed("reader:tesseract"):  # CPU: the child's, seen from here only as wall time
        data = pytesseract.image_to_data(np.vstack(rows), lang=languages, config="--psm 6",
                                         output_type=pytesseract.Output.DICT)
    words: list[list[tuple[int, str, float]]] = [[] for _ in crops]
    for text, conf, top, left, height in zip(data["text"], data["conf"], data["top"], data["left"],
                                             data["height"]):
        if not text.strip() or float(conf) < 0:
            continue
        middle = top + height / 2
        index = next((i for i, (a, b) in enumerate(spans) if a <= middle < b), None)
        if index is not None:
            words[index].append((left, text, float(conf) / 100))
    results = []
    for found in words:
        found.sort()
        text = " ".join(w for _, w, _ in found)
        results.append((text, float(np.mean([c for _, _, c in found])) if found else 0.0))
    return results


def rapid_read(crops: list[np.ndarray]) -> list[tuple[str, float]]:
    """RapidOCR's recogniser alone on crops (about 30 ms a crop); no detection."""
    with STAGES.timed("reader:rapidocr"):
        results, _ = _rapidocr().text_rec(crops)
    return [(text, float(score)) for text, score in results]


_WORDLIKE = re.compile(r"[^\W\d_]{2,}|[#@][^\W_]+|[^\x00-\x7f]")  # two letters, a tag, or a non-Latin letter


TESSERACT_TRUSTED = 0.70  # Tesseract confidence from which its reading of a longer word is kept
# Tesseract languages RapidOCR's recogniser (PP-OCR, Chinese + Latin) has no letters for.
_RAPID_CANNOT_READ = {"kor", "jpn", "jpn_vert", "kor_vert"}


def _only_latin(text: str) -> bool:
    return all(ord(c) < 0x250 for c in text)


def read_boxes(frame: np.ndarray, boxes: list[tuple[int, int, int, int]],
               settings: OcrSettings) -> list[Reading | None]:
    """Read each box: RapidOCR's recogniser in this process on all crops at once (about 30 ms a
    crop), then Tesseract, in one call for all of them, on the crops it is unsure of, keeping the
    more confident reading; None for a box with nothing readable in it (texture, a shape).
    With a Korean or Japanese pack in play every crop goes to Tesseract too: RapidOCR's model has
    no Hangul or kana and reads them as look-alike letters."""
    if not boxes:
        return []
    crops = [frame[y:y + h, x:x + w] for x, y, w, h in boxes]
    readings = [(text, conf, "rapidocr") for text, conf in rapid_read(crops)]
    every = bool(_RAPID_CANNOT_READ & set(settings.languages.split("+")))
    unsure = [i for i, (text, conf, _) in enumerate(readings)
              if every or conf < settings.tesseract_below or not _only_latin(text)]
    if unsure:
        for i, (text, conf) in zip(unsure, _tesseract_mosaic([crops[i] for i in unsure], settings.languages)):
            # Tesseract's reading stands unless it is unsure too or short ("#ad" gives it little
            # context, so it misreads short words with high confidence) and RapidOCR is surer.
            short = len(re.sub(r"\W", "", text)) <= 4
            if not ((conf < TESSERACT_TRUSTED or short) and readings[i][1] > conf):
                readings[i] = (text, conf, "tesseract")
    found: list[Reading | None] = []
    for box, crop, (text, conf, reader) in zip(boxes, crops, readings):
        text = " ".join(text.split())
        if conf < settings.min_confidence or not _WORDLIKE.search(text):
            found.append(None)
            continue
        height, contrast = prominence(crop)
        found.append(Reading(text, box, round(conf, 3), reader, height, contrast))
    return found


def read_frame(frame: np.ndarray, settings: OcrSettings) -> list[Reading]:
    """Every text line in one frame."""
    return [r for r in read_boxes(frame, detect_lines(frame, settings), settings) if r is not None]


# ---------------------------------------------------------------- images


def read_image(path: Path, settings: OcrSettings = OcrSettings()) -> OverlayResult:
    started = time.perf_counter()
    check_pixel_budget(path, "image")  # from the header: a decompression bomb is never decoded
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is None:
        raise ExtractionError(f"{path}: cannot decode the image (corrupt, truncated or not an image)")
    height, width = frame.shape[:2]
    texts = [OverlayText(r, width, height) for r in read_frame(frame, settings)]
    return OverlayResult(texts, 1, 1, 1, width, height, None, time.perf_counter() - started)


# ---------------------------------------------------------------- video

TRUNCATED_BELOW = 0.9  # decoding fewer of the frames the container announces: the file was cut
INK_SAME = 24.0  # mean grey difference on a text's own pixels below which it is the same text
INK_GONE = 72.0  # ... above which the text is gone; in between, the crop is re-read


@dataclass
class _Track:
    """One text line followed across samples, with the frames it appears and disappears at."""

    reading: Reading  # the most confident reading so far
    best_frame: int
    last_sample: int
    start_frame: int
    reference: np.ndarray  # the grey crop of the last sample where it was seen
    ink: np.ndarray  # where its letters are in that crop
    end_frame: int | None = None  # first frame it is gone (tentative while one missed sample is bridged)
    missed: int = 0


def _grey(crop: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.int16)


def _ink_difference(track: _Track, frame: np.ndarray) -> float:
    """How different the track's own letter pixels look in `frame` (its box crop)."""
    x, y, w, h = track.reading.box
    crop = _grey(frame[y:y + h, x:x + w])
    if crop.shape != track.reference.shape or not track.ink.any():
        return 255.0
    return float(np.abs(crop[track.ink] - track.reference[track.ink]).mean())


def _present(track: _Track, frame: np.ndarray) -> bool:
    """Is the track's text in `frame`? Its letters' pixels decide when clear; otherwise re-read the box."""
    difference = _ink_difference(track, frame)
    if difference < INK_SAME:
        return True
    if difference > INK_GONE:
        return False
    x, y, w, h = track.reading.box
    text, score = rapid_read([frame[y:y + h, x:x + w]])[0]
    return score >= 0.5 and _same_text(text, track.reading.text)


def _first_where(frames: list, track: _Track, present: bool) -> int:
    """Bisect: index of the first frame (array or _Frame) where the text is `present` (len(frames) if none)."""
    lo, hi = 0, len(frames)
    while lo < hi:
        mid = (lo + hi) // 2
        if _present(track, _array(frames[mid])) == present:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _same_text(a: str, b: str) -> bool:
    return fuzz.ratio(fold(a), fold(b)) >= 75


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = min(ax + aw, bx + bw) - max(ax, bx)
    h = min(ay + ah, by + bh) - max(ay, by)
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / min(aw * ah, bw * bh)


def _changed(previous: np.ndarray | None, current: np.ndarray, settings: OcrSettings) -> bool:
    """True when any tile of the small grey frame changed (a global difference hides small labels)."""
    if previous is None:
        return True
    cols, rows = settings.tile_grid
    diff = cv2.absdiff(previous, current).astype(np.float32)
    tiles = diff.reshape(rows, diff.shape[0] // rows, cols, diff.shape[1] // cols).mean(axis=(1, 3))
    return bool(tiles.max() > settings.tile_change)


def _open(path: Path) -> tuple[cv2.VideoCapture, float]:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ExtractionError(f"{path}: cannot open the video (corrupt, truncated or not a video)")
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    try:
        check_pixel_budget(path, "video", (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                           int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))))
        check_frame_rate(path, fps)
    except Exception:
        capture.release()
        raise
    if not fps > 0:
        capture.release()
        raise ExtractionError(f"{path}: the video has no usable frame rate (none is given in its header)")
    return capture, fps


class _Reader:
    """Reads one video's samples in order, following each text line and refining its ends in the
    frames buffered since the previous sample (no seeking: H.264 seeks cost ~0.6 s each)."""

    def __init__(self, settings: OcrSettings):
        self.settings = settings
        self.active: list[_Track] = []
        self.done: list[_Track] = []
        self.ocred = 0
        self.carry: list[tuple[int, np.ndarray | _Frame]] = []  # a coarse sample and the frames before it
        self.known: list[tuple[int, int, int, int]] = []  # the last full-size detection's boxes (read or not)

    def sample(self, index: int, frame: np.ndarray, between: list[tuple[int, np.ndarray | _Frame]], number: int,
               boxes: list[tuple[int, int, int, int]] | None, coarse: bool = False) -> None:
        """Take one sample: `boxes` are its detected lines, None when no tile changed since the
        last read sample; `between` holds (index, frame) pairs buffered since the previous sample.
        `coarse`: the boxes come from a reduced-size detection, which misses small text and draws
        looser boxes: it only follows lines already seen (one still in its box is still there);
        where it finds a line that is not one of them, the frame is detected again at full size."""
        if boxes is not None and coarse and any(all(_overlap(k, b) <= 0.5 for k in self.known) for b in boxes):
            with STAGES.timed("detector:refine"):  # in this thread (also counted in "detector")
                boxes, coarse = detect_lines(frame, self.settings), False  # something new: refine at full size
        if boxes is not None and not coarse:
            self.known = boxes + [t.reading.box for t in self.active]  # what a coarse sample may find
        if boxes is not None:
            readings = self._read(frame, boxes)
            self.ocred += 1
            if coarse:
                readings += [t.reading for t in self.active if t.last_sample == number - 1
                             and not any(_overlap(t.reading.box, b) > 0.5 for b in boxes) and _present(t, frame)]
        else:  # nothing moved anywhere: the same texts, still there
            readings = [t.reading for t in self.active if t.last_sample == number - 1]
        carry, self.carry = self.carry, ([*between, (index, frame)] if coarse else [])
        seen: set[int] = set()
        for reading in readings:
            track = next((t for t in self.active if id(t) not in seen and _overlap(t.reading.box, reading.box) > 0.5
                          and _same_text(t.reading.text, reading.text)), None)
            x, y, w, h = reading.box
            if track is None:
                track = _Track(reading, index, number, index, np.zeros(0), np.zeros(0, bool))
                self._set_reference(track, frame)
                # A line new here may have been on screen, too small for it, at the coarse sample before.
                before = [*carry, *between] if carry and _present(track, _array(carry[-1][1])) else between
                if self.settings.refine and before:
                    position = _first_where([f for _, f in before], track, present=True)
                    track.start_frame = before[position][0] if position < len(before) else index
                self.active.append(track)
            else:
                if reading.confidence > track.reading.confidence and not coarse:  # a coarse box is loose
                    track.reading, track.best_frame = reading, index
                track.last_sample, track.end_frame, track.missed = number, None, 0
                self._set_reference(track, frame)
            seen.add(id(track))
        for track in [t for t in self.active if id(t) not in seen]:
            if track.missed == 0:  # first miss: where did it go? (undone if it is back next sample)
                gone = [*between, (index, frame)] if self.settings.refine else [(index, frame)]
                position = _first_where([f for _, f in gone], track, present=False)
                track.end_frame = gone[position][0] if position < len(gone) else index + 1
            track.missed += 1
            if track.missed > 1:  # a second miss in a row: it is gone
                self.active.remove(track)
                self.done.append(track)

    def finish(self, frames: int, tail: list[tuple[int, np.ndarray]]) -> list[_Track]:
        """Close every track at the end of the video, refining ends in the frames after the last sample."""
        for track in self.active:
            if track.end_frame is None:
                position = _first_where([f for _, f in tail], track, present=False) if tail else 0
                track.end_frame = tail[position][0] if position < len(tail) else frames
        tracks = self.done + self.active
        return sorted(tracks, key=lambda t: (t.start_frame, t.reading.box[1], t.reading.box[0]))

    def _read(self, frame: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> list[Reading]:
        """Re-use the reading of a line whose letters did not change; read the rest."""
        readings: list[Reading | None] = [None] * len(boxes)
        unread = []
        for i, box in enumerate(boxes):
            track = next((t for t in self.active if t.missed == 0 and _overlap(t.reading.box, box) > 0.8), None)
            if track is not None and _ink_difference(track, frame) < INK_SAME:
                readings[i] = track.reading
            else:
                unread.append(i)
        for i, reading in zip(unread, read_boxes(frame, [boxes[i] for i in unread], self.settings)):
            readings[i] = reading
        return [r for r in readings if r is not None]

    @staticmethod
    def _set_reference(track: _Track, frame: np.ndarray) -> None:
        x, y, w, h = track.reading.box
        crop = frame[y:y + h, x:x + w]
        track.reference, track.ink = _grey(crop), _text_mask(crop)


class _Frame:
    """A decoded picture, converted to BGR only when looked at: of the frames kept between samples
    for refining interval ends, only the few a bisection probes ever are."""

    __slots__ = ("_picture", "_array")

    def __init__(self, picture: Any):
        self._picture, self._array = picture, None

    def array(self) -> np.ndarray:
        if self._array is None:
            with STAGES.timed("decode"):
                self._array = self._picture.to_ndarray(format="bgr24")
            self._picture = None
        return self._array


def _array(frame: np.ndarray | _Frame) -> np.ndarray:
    return frame.array() if isinstance(frame, _Frame) else frame


# Codecs whose non-reference frames (B-frames nothing is predicted from) can be left undecoded:
# about half of an H.264 stream's frames, and half its decoding time. Those that sampling or
# refinement look at (every `keep_every`-th frame) are decoded all the same, so the frames read are
# the same as with every frame decoded; were one skipped anyway, the next decoded frame stands in.
SKIP_NONREF_CODECS = {"h264", "hevc"}


class _Decoder:
    """The video stream's pictures in order as (frame index, av.VideoFrame), decoded once in this
    thread (PyAV's FFmpeg; OpenCV cannot skip frames); `packets` counts the stream's frames."""

    def __init__(self, path: Path, fps: float, keep_every: int):
        import av  # PyAV: faster-whisper's dependency, with its own FFmpeg

        self.path, self.fps, self.keep_every, self.packets = path, fps, keep_every, 0
        try:
            self.container = av.open(str(path))
            self.stream = self.container.streams.video[0]
        except (av.error.FFmpegError, IndexError) as error:
            raise ExtractionError(f"{path}: cannot open the video ({error})") from None
        context = self.stream.codec_context
        context.thread_count = 1  # the cores go to detection and speech; one thread wastes least
        self.skipping = context.name in SKIP_NONREF_CODECS

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        import av

        base = self.stream.time_base
        start = self.stream.start_time or 0
        last = -1
        context, skip = self.stream.codec_context, None
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            for packet in self.container.demux(self.stream):
                self.packets += packet.size > 0  # the last, empty one flushes the decoder
                if self.skipping and packet.pts is not None and base is not None:
                    wanted = round(float((packet.pts - start) * base) * self.fps) % self.keep_every == 0
                    if skip != ("DEFAULT" if wanted else "NONREF"):
                        skip = context.skip_frame = "DEFAULT" if wanted else "NONREF"
                for picture in packet.decode():
                    if picture.pts is not None and base is not None:
                        index = max(last + 1, round(float((picture.pts - start) * base) * self.fps))
                    else:
                        index = last + 1
                    last = index
                    STAGES.add("decode", time.perf_counter() - wall, time.thread_time() - cpu)
                    yield index, picture
                    wall, cpu = time.perf_counter(), time.thread_time()
        except av.error.FFmpegError:
            pass  # corrupt or cut data: what was decoded stands; the frame count tells whether it is enough
        finally:
            STAGES.add("decode", time.perf_counter() - wall, time.thread_time() - cpu, 0)
            self.container.close()


def read_video(path: Path, settings: OcrSettings = OcrSettings()) -> OverlayResult:
    """Sample, dedupe, read and track a video's on-screen text into intervals.

    Decoding (FFmpeg) and text detection (onnxruntime) both release the GIL, so a sample's lines
    are detected in a second thread while the next second of video is decoded; samples are then
    taken in order. Frames between samples are kept every `refine_every_s` to refine interval ends.
    """
    started = time.perf_counter()
    capture, fps = _open(path)  # the header checks (pixel budget, frame rate) and the frame count
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    expected = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)  # from the container's index
    capture.release()
    step = max(1, round(fps / settings.sample_fps))
    stride = max(1, round(fps * settings.refine_every_s))
    decoder = _Decoder(path, fps, math.gcd(step, stride) if settings.refine else step)
    cols, rows = settings.tile_grid
    reader = _Reader(settings)
    between: list[tuple[int, _Frame]] = []  # kept frames since the last sample
    pending = None  # the previous sample, waiting for its detection
    previous_small = None
    samples = decoded = 0
    next_sample = next_kept = 0
    last_full = -2  # the last sample detected at full width
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cg-detect") as detector:
        for index, picture in decoder:
            decoded += 1
            if index >= next_sample:
                next_sample = (index // step + 1) * step
                next_kept = (index // stride + 1) * stride
                frame = _Frame(picture).array()
                small = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (cols * 8, rows * 8),
                                   interpolation=cv2.INTER_AREA)
                detection, coarse = None, False
                if _changed(previous_small, small, settings):
                    # Coarse only right after a full-width detection (the picture keeps changing);
                    # a coarse one is no reference for "unchanged": the next change gets a full one.
                    coarse = bool(settings.coarse_width) and last_full == samples - 1
                    if not coarse:
                        previous_small, last_full = small, samples
                    detection = detector.submit(detect_lines, frame, settings,
                                                settings.coarse_width if coarse else None)
                if pending is not None:
                    _take(reader, *pending)
                pending = (index, frame, between, samples, detection, coarse)
                samples += 1
                between = []
            elif settings.refine and index >= next_kept:
                next_kept = (index // stride + 1) * stride
                between.append((index, _Frame(picture)))
        if pending is not None:
            _take(reader, *pending)
    frames = decoder.packets
    if decoded == 0:
        raise ExtractionError(f"{path}: no frame could be decoded (corrupt or truncated video)")
    if expected and frames < TRUNCATED_BELOW * expected:
        raise ExtractionError(f"{path}: truncated or corrupt video: only {frames} of its {expected} frames "
                              f"could be decoded")
    texts = [OverlayText(t.reading, width, height, start_s=round(t.start_frame / fps, 3),
                         end_s=round(t.end_frame / fps, 3), frame_s=round(t.best_frame / fps, 3))
             for t in reader.finish(frames, between) if t.end_frame > t.start_frame]
    return OverlayResult(texts, frames, samples, reader.ocred, width, height, round(frames / fps, 3),
                         time.perf_counter() - started)


def _take(reader: _Reader, index: int, frame: np.ndarray, between: list, number: int, detection, coarse: bool) -> None:
    reader.sample(index, frame, between, number, detection.result() if detection is not None else None, coarse)


@lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    return {"ocr": OCR_VERSION, "rapidocr-onnxruntime": tool_version("rapidocr-onnxruntime"),
            "tesseract": str(pytesseract.get_tesseract_version()), "opencv": cv2.__version__}


def _encode(result: OverlayResult) -> str:
    return json.dumps(asdict(result))


def _decode(text: str) -> OverlayResult:
    data = json.loads(text)
    texts = [OverlayText(**{**t, "reading": Reading(**{**t["reading"], "box": tuple(t["reading"]["box"])})})
             for t in data.pop("texts")]
    return OverlayResult(texts=texts, **data)


def read_overlays(path: Path, kind: str, settings: OcrSettings = OcrSettings()) -> OverlayResult:
    """On-screen text of an image or a video file, from the content-addressed cache when the same
    bytes were read with the same settings and versions before (a re-scan does no OCR)."""
    def compute() -> OverlayResult:
        return read_image(path, settings) if kind == "image" else read_video(path, settings)

    if not path.is_file():
        raise ExtractionError(f"{path}: no such file")
    return default_cache().cached("ocr", sha256_file(path), {"kind": kind, **asdict(settings)}, _versions(),
                                  compute, _encode, _decode)
