"""Video pipeline benchmark (issue 8, benchmark 2). Prints its figures; run with
`.venv/bin/python bench/video_pipeline.py`.

On 60-second 720p videos with on-screen labels and speech (drawn and spoken with espeak-ng by
the fixture generators, ground truth known), two pipelines read the same files:

- project: `Engine(read_media=True)` with the default faster-whisper transcriber, as the CLI builds
  it (text detection and crop OCR on tile-deduped samples, tracked into intervals; faster-whisper
  int8 with VAD);
- naive: openai-whisper's `transcribe()` on the whole audio track (the project's converted tiny.en
  checkpoint, beam 5 as the project uses, otherwise its defaults) and full-frame Tesseract on one
  frame every second, with no dedupe and no tracking.

Both feed the same pack matcher (the naive readings go in through `described()`, the entry point
for clients that did their own OCR and ASR), so the recalls differ only by what each pipeline read.
Printed: wall time of each (models loaded first, cold caches), the speed ratio (target >= 3x), and
both recalls: drawn labels found on screen, and spoken disclosures found in speech.
Timings are wall-clock on whatever else the machine runs: the load average is printed beside them.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import pytesseract

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "fixtures"), str(ROOT / "bench")]

import make_overlays as fx  # noqa: E402
import ocr as ocr_bench  # noqa: E402  (bench/ocr.py: the media cache, truth matching, cold cache)

from complianceguard.engine import Engine  # noqa: E402
from complianceguard.extract import described, ocr_languages  # noqa: E402
from complianceguard.extract.speech import make_transcriber  # noqa: E402
from complianceguard.extract.whisper_convert import load as load_openai_whisper  # noqa: E402
from complianceguard.model import ItemResult, Submission  # noqa: E402
from complianceguard.packs.loader import PackLibrary  # noqa: E402

# English speech (tiny.en is English-only); the on-screen labels are labels in one of these packs.
REGIONS = ["US", "GB", "AU", "DE", "FR"]
SPEED_TARGET = 3.0
SPEECH_SLACK_S = 1.0  # a spoken disclosure counts as heard when a label is found within this of it

label, text, W, Y = fx.label, fx.text, fx.WHITE, fx.YELLOW
VIDEOS: tuple[fx.VideoSpec, ...] = (
    fx.VideoSpec("pipeline60-gradient.mp4", 60, "gradient", (
        fx.ad(0.0, 3.0, cap=20),
        text("Morning routine", fx.SERIF_BOLD, 40, W, "top-center", style="outline", start_s=3.48, end_s=9.0),
        label("Paid partnership", "en", fx.SANS, 34, W, "top-left", style="outline", start_s=10.4, end_s=16.2),
        label("Werbung", "de", fx.BOLD, 40, Y, "center", start_s=30.2, end_s=33.0),
        text("Link in bio", fx.SANS, 28, Y, "bottom-center", style="outline", start_s=40.0, end_s=46.0),
        label("#sponsored", "en", fx.BOLD, 22, W, "bottom-right", start_s=44.56, end_s=49.8)),
        seed=301, crf=30, speech=(
            (1.0, "Hi everyone, welcome back to my channel.", "casual"),
            (6.0, "This video is sponsored by Glow Skincare.", "disclosure"),
            (22.0, "I have been using this serum every morning for six weeks.", "casual"),
            (38.0, "Use my code GLOW for twenty percent off.", "sponsor-read"),
            (50.0, "This is a paid advertisement for Glow Skincare.", "disclosure"))),
    fx.VideoSpec("pipeline60-texture.mp4", 60, "texture", (
        text("Summer vibes", fx.SERIF_BOLD, 50, W, "center", style="outline", start_s=0.0, end_s=9.6),
        label("#Ad", "en", fx.SERIF, 30, Y, "top-left", style="outline", start_s=2.24, end_s=6.08),
        label("Paid partnership with Glow", "en", fx.SANS, 26, W, "bottom-left", style="plate",
              start_s=12.4, end_s=18.52),
        text("Adventure awaits", fx.BOLD, 30, W, "top-left", style="outline", intent="near-miss",
             start_s=28.0, end_s=34.0),
        label("publicité", "fr", fx.SERIF_BOLD, 32, fx.BLACK, "center", style="plate", plate=(255, 255, 255, 230),
              start_s=47.04, end_s=52.2)),
        seed=302, palette="forest", crf=30, speech=(
            (0.5, "Today's video is sponsored by Acme Protein.", "disclosure"),
            (12.0, "The first shoe is light and fast, with a firm heel and a wide toe box.", "casual"),
            (45.0, "Thanks to Acme for sponsoring this video.", "disclosure"))),
)


# --- the naive pipeline -------------------------------------------------------------------------

@lru_cache(maxsize=1)
def openai_whisper_model():
    return load_openai_whisper()  # the project's tiny.en, converted once to an openai-whisper checkpoint


def naive_speech(video: Path) -> list[tuple[str, float, float]]:
    """openai-whisper on the whole audio track, every segment it returns."""
    import whisper

    result = whisper.transcribe(openai_whisper_model(), str(video), language="en", fp16=False, beam_size=5)
    return [(s["text"].strip(), s["start"], s["end"]) for s in result["segments"] if s["text"].strip()]


def naive_overlay(video: Path, languages: str) -> tuple[list[tuple[str, float, float]], int]:
    """Full-frame Tesseract on one frame a second; each text line is on screen for that second."""
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS)
    step = max(1, round(fps))
    found, index, read = [], 0, 0
    while capture.grab():
        if index % step == 0:
            ok, frame = capture.retrieve()
            if not ok:
                break
            data = pytesseract.image_to_data(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), lang=languages,
                                             output_type=pytesseract.Output.DICT)
            read += 1
            lines: dict[tuple[int, int, int], list[str]] = {}
            for word, conf, *where in zip(data["text"], data["conf"], data["block_num"], data["par_num"],
                                          data["line_num"]):
                if word.strip() and float(conf) >= 0:
                    lines.setdefault(tuple(where), []).append(word)
            found.extend((" ".join(words), index / fps, (index + step) / fps) for words in lines.values())
        index += 1
    capture.release()
    return found, read


@dataclass
class Run:
    pipeline: str
    case: ocr_bench.Case
    item: ItemResult
    seconds: float
    cpu: float
    detail: str


def run_naive(engine: Engine, case: ocr_bench.Case) -> Run:
    post = submission(case)
    started, cpu = time.perf_counter(), ocr_bench.cpu_seconds()
    speech = naive_speech(case.path)
    asr_s = time.perf_counter() - started
    languages = [code for region in REGIONS for code in engine.pack_for(region).pack.languages]
    overlay, frames = naive_overlay(case.path, ocr_languages(languages))
    ocr_s = time.perf_counter() - started - asr_s
    item = engine.evaluate(post, described(post, "video", case.truth["duration_s"], overlay, speech))
    seconds = time.perf_counter() - started
    return Run("naive", case, item, seconds, ocr_bench.cpu_seconds() - cpu,
               f"ASR {asr_s:.1f} s, OCR {ocr_s:.1f} s on {frames} of {case.truth['frames']} frames")


def run_project(engine: Engine, case: ocr_bench.Case) -> Run:
    started, cpu = time.perf_counter(), ocr_bench.cpu_seconds()
    item = engine.evaluate(submission(case))
    seconds = time.perf_counter() - started
    if item.errors:
        print(f"  project pipeline error on {case.name}: {item.errors}")
    return Run("project", case, item, seconds, ocr_bench.cpu_seconds() - cpu, ocr_bench.frames_of(item))


def submission(case: ocr_bench.Case) -> Submission:
    return Submission(id=case.name, platform="youtube", regions=REGIONS, language="en", caption="",
                      media=[str(case.path)], relationship="paid")


# --- scoring ------------------------------------------------------------------------------------

def spoken(run: Run) -> tuple[int, int, int, list[str]]:
    """(disclosures heard, disclosures said, speech labels away from any disclosure, what went wrong)."""
    said = [s for s in run.case.truth["speech"] if s["kind"] == "disclosure"]
    heard = [m for m in run.item.mentions if m.kind == "label" and m.channel == "speech" and m.time]

    def near(m, s) -> bool:
        return m.time.start_s <= s["end_s"] + SPEECH_SLACK_S and m.time.end_s >= s["start_s"] - SPEECH_SLACK_S

    missed = [s for s in said if not any(near(m, s) for m in heard)]
    stray = [m for m in heard if not any(near(m, s) for s in said)]
    transcript = {s.id: s.text for s in run.item.segments if s.channel == "speech"}
    notes = [f"disclosure not heard at {s['start_s']:g} s: {s['text']!r}; transcript there: "
             f"{[t.text for t in run.item.segments if t.channel == 'speech' and t.time and abs(t.time.start_s - s['start_s']) < 3]}"
             for s in missed]
    notes += [f"speech label {m.term!r} at {m.time.start_s:g} s in {transcript.get(m.segment, m.context)!r}, "
              "away from any spoken disclosure" for m in stray]
    return len(said) - len(missed), len(said), len(stray), notes


def on_screen(run: Run) -> tuple[int, int, int, list[str]]:
    """(labels found, labels drawn, label mentions matching no drawn label, what went wrong)."""
    scored = ocr_bench.score(run.case, run.item, run.seconds)
    notes = [f"label not found: {ocr_bench.describe(o.drawn)}" for o in scored.labels if not o.found]
    notes += [f"label {m.term!r} in {s.text!r} matches nothing drawn" for m, s in scored.stray]
    return sum(o.found for o in scored.labels), len(scored.labels), len(scored.stray), notes


def warm_up(project: Engine, naive: Engine) -> None:
    """Load every model before anything is timed (faster-whisper, RapidOCR, openai-whisper, spaCy)."""
    short = ROOT / "fixtures" / "media" / "spoken-disclosure-start.mp4"
    post = Submission(id="warm", platform="youtube", regions=REGIONS, language="en", media=[str(short)],
                      relationship="paid")
    project.evaluate(post)
    naive_speech(short)
    naive.evaluate(post, described(post, "video", 20.0, [("#ad", 0.0, 1.0)], [("sponsored", 0.0, 1.0)]))


def main() -> None:
    cases = [ocr_bench.generated(spec) for spec in VIDEOS]
    library = PackLibrary()
    # As `complianceguard scan` builds it: the default backend and model, OCR with default settings.
    project = Engine(library, read_media=True, transcriber=make_transcriber("faster-whisper", None))
    naive = Engine(library)
    with ocr_bench.cold_cache():
        warm_up(project, naive)
        print(f"video pipeline benchmark: {len(cases)} videos of 60 s, 720p, 25 fps, with speech; regions "
              f"{' '.join(REGIONS)}; {os.cpu_count()} cores")
        runs: list[Run] = []
        for case in cases:
            for pipeline in (run_project, run_naive):
                run = pipeline(project if pipeline is run_project else naive, case)
                runs.append(run)
                print(f"  {run.pipeline:7} {case.name:36} {run.seconds:6.1f} s wall, {run.cpu:6.1f} s CPU  "
                      f"({run.detail}; load average {os.getloadavg()[0]:.1f})", flush=True)
    print()
    totals, cpu_totals = {}, {}
    for pipeline in ("project", "naive"):
        mine = [r for r in runs if r.pipeline == pipeline]
        screen = [on_screen(r) for r in mine]
        speech = [spoken(r) for r in mine]
        labels_found, labels = sum(s[0] for s in screen), sum(s[1] for s in screen)
        said_found, said = sum(s[0] for s in speech), sum(s[1] for s in speech)
        seconds = sum(r.seconds for r in mine)
        totals[pipeline] = seconds
        cpu_totals[pipeline] = sum(r.cpu for r in mine)
        print(f"{pipeline:7}: {seconds:6.1f} s wall ({cpu_totals[pipeline]:.1f} s CPU) for {len(mine)} videos; recall {labels_found + said_found}/"
              f"{labels + said} = {(labels_found + said_found) / (labels + said):.2f} (on screen "
              f"{labels_found}/{labels}, in speech {said_found}/{said}); labels matching nothing drawn or "
              f"said: {sum(s[2] for s in screen)} on screen, {sum(s[2] for s in speech)} in speech")
        for run, notes in zip(mine * 2, [s[3] for s in screen] + [s[3] for s in speech]):
            for note in notes:
                print(f"    {run.case.name}: {note}")
    ratio = totals["naive"] / totals["project"]
    print(f"speed ratio naive / project: {ratio:.1f}x in wall time (target >= {SPEED_TARGET:g}x) "
          f"{'met' if ratio >= SPEED_TARGET else 'NOT met'}; {cpu_totals['naive'] / cpu_totals['project']:.1f}x in CPU time")


if __name__ == "__main__":
    main()
