"""Benchmark 3 (issue 8): re-scan with a warm cache versus a cold scan. Prints the ratio.

Generates a batch of 60-second 720p video posts with on-screen text and speech (ffmpeg's moving
test pattern with drawtext overlays shown for a few seconds, and an espeak-ng voice-over),
then runs the real CLI twice into two fresh --out folders (so the resume journal plays no part)
with one cache folder:

- cold: empty cache: every video's frames are OCRed and its audio transcribed;
- warm: the same batch again: OCR and ASR come from the content-addressed cache.

Both runs include process start-up; `one_caption_scan_s` is that floor (a scan of one caption),
and `per_video_*_s` are the runs less the floor, per video.
The reports must be identical apart from their timestamp and the warm run must add nothing to the
cache. Target: cold / warm >= 20.

    .venv/bin/python bench/cache.py [--jobs N] [--videos K]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
# (seconds, [(overlay text, from s, to s)], voice-over, caption)
VIDEOS = [
    (60, [("#ad", 1, 6), ("Paid partnership with Glow", 40, 48)],
     "Hi everyone. Today I am reviewing three running shoes. This video is sponsored by Acme.", "My morning run"),
    (60, [("Werbung", 2, 8)], "Welcome back to my kitchen. We are making a quick pasta salad.", "Pasta night"),
    (60, [("#sponsored", 20, 26)], "Use my code GLOW twenty for twenty percent off, link in bio.", "New serum"),
    (60, [], "I went for a long run this morning and the weather was beautiful.", "#ad Weekend run"),
    (60, [("AD", 0, 4)], "This is not sponsored, I bought it with my own money.", "Honest review"),
    (60, [("Link in bio", 5, 15)], "Let me show you how I organise my desk for the week.", "Desk setup"),
]


def make_video(out: Path, seconds: int, overlays: list[tuple[str, int, int]], speech: str) -> Path:
    """A moving 1280x720 test pattern with boxed overlay text at the given times and a voice-over."""
    voice = out.with_suffix(".wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(voice), speech], check=True,
                   capture_output=True)
    draw = ",".join(
        f"drawtext=fontfile={FONT}:text='{text}':fontsize=56:fontcolor=white:box=1:boxcolor=black@0.7:"
        f"boxborderw=12:x=60:y=80:enable='between(t,{start},{end})'" for text, start, end in overlays) or "null"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=1280x720:rate=25:duration={seconds}", "-i", str(voice), "-vf", draw,
                    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "30", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "64k", str(out)], check=True)
    voice.unlink()
    return out


def build_batch(folder: Path, videos: int = len(VIDEOS)) -> int:
    """`videos` video posts (cycling through VIDEOS) under `folder`; returns the post count."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(videos):
        seconds, overlays, speech, caption = VIDEOS[number % len(VIDEOS)]
        name = f"video-{number}.mp4"
        make_video(folder / name, seconds, overlays, f"{speech} Part {number}.")  # each file its own bytes
        manifest = {"id": f"video-{number}", "platform": "instagram", "regions": ["US", "GB"],
                    "caption": caption, "media": [name], "relationship": "paid"}
        (folder / f"video-{number}.post.json").write_text(json.dumps(manifest))
    return videos


def run_scan(batch: Path, out: Path, cache: Path, jobs: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COMPLIANCEGUARD_CACHE": str(cache)}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "complianceguard", "scan", str(batch), "--out", str(out),
                             "--format", "json", "--jobs", str(jobs), "--quiet"], env=env, capture_output=True,
                            text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        sys.exit(f"scan failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    return elapsed


def without_time(out: Path) -> dict:
    report = json.loads((out / "report.json").read_text())
    report.pop("generated_at")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--videos", type=int, default=2 * len(VIDEOS), help="video posts in the batch")
    parser.add_argument("--keep", type=Path, help="keep the batch, cache and reports in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cg-bench-cache-") as tmp:
        work = args.keep or Path(tmp)
        posts = build_batch(work / "batch", args.videos)
        cold = run_scan(work / "batch", work / "out-cold", work / "cache", args.jobs)
        entries = sum(1 for p in (work / "cache").rglob("*") if p.is_file())
        warm = run_scan(work / "batch", work / "out-warm", work / "cache", args.jobs)
        same = without_time(work / "out-cold") == without_time(work / "out-warm")
        grown = sum(1 for p in (work / "cache").rglob("*") if p.is_file()) - entries
        (work / "one").mkdir()
        (work / "one" / "caption.post.json").write_text(json.dumps({"regions": ["US"], "caption": "#ad hi"}))
        floor = run_scan(work / "one", work / "out-one", work / "cache", args.jobs)  # start-up, one caption
        print(json.dumps({"posts": posts, "jobs": args.jobs, "cold_s": round(cold, 2), "warm_s": round(warm, 2),
                          "ratio": round(cold / warm, 1), "target_ratio": 20,
                          "one_caption_scan_s": round(floor, 2),
                          "per_video_cold_s": round((cold - floor) / posts, 2),
                          "per_video_warm_s": round((warm - floor) / posts, 2), "cache_entries": entries,
                          "entries_added_by_warm_run": grown, "reports_identical": same}))
        if not same or grown:
            sys.exit(f"the warm scan did not reuse the cache or gave another report (see {work})")


if __name__ == "__main__":
    main()
