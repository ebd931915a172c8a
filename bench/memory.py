"""Benchmark 4 (issue 8): peak memory per worker process during a media scan. Prints MB.

Generates the video batch of bench/cache.py (720p, 20-60 s, on-screen text and speech), then runs
the real CLI (`scan --jobs N`) with an empty cache, so every worker really OCRs frames and
transcribes speech, and samples every process of the scan with psutil every 0.1 s:

- per worker: peak RSS (resident, counting pages shared with the parent after fork) and peak PSS
  (proportional: shared pages split between the processes using them, the honest share of RAM);
- per worker tree: the worker plus the ffmpeg/ffprobe/tesseract processes it starts;
- the parent (planning, journal, report writing).

Target: <= 1.5 GB per worker. Run: .venv/bin/python bench/memory.py [--jobs N] [--videos K]

`--long-hours H`: instead, one H-hour video (32x32, silent AAC, as probe-2026-12.md row 17), scanned
with one worker: its sound is decoded and transcribed in bounded chunks (extract/speech.py CHUNK_S),
so the peak must not grow with the length (it was 1.94 GB for 2 hours when the track was decoded whole).
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

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cache import ROOT, build_batch  # noqa: E402  (the same generated batch as benchmark 3)

MB = 1024 * 1024
TARGET_MB = 1536


def memory(process: psutil.Process) -> tuple[int, int]:
    """(RSS, PSS) in bytes; PSS falls back to RSS where /proc/<pid>/smaps is unreadable."""
    try:
        info = process.memory_full_info()
        return info.rss, getattr(info, "pss", info.rss)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return 0, 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--long-hours", type=float, help="one video this many hours long instead (row 17)")
    args = parser.parse_args()
    if args.long_hours:
        args.jobs = 1
    with tempfile.TemporaryDirectory(prefix="cg-bench-memory-") as tmp:
        work = Path(tmp)
        if args.long_hours:
            build_long(work / "batch", args.long_hours)
        else:
            build_batch(work / "batch", args.videos)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COMPLIANCEGUARD_CACHE": str(work / "cache")}
        started = time.perf_counter()
        scan = subprocess.Popen([sys.executable, "-m", "complianceguard", "scan", str(work / "batch"),
                                 "--out", str(work / "out"), "--format", "json", "--jobs", str(args.jobs),
                                 "--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        parent = psutil.Process(scan.pid)
        peaks: dict[int, dict[str, int]] = {}  # worker pid -> peak rss, pss, tree (worker + its tools)
        parent_peak = 0
        while scan.poll() is None:
            parent_peak = max(parent_peak, memory(parent)[1])
            try:
                workers = parent.children()
            except psutil.NoSuchProcess:
                break
            for worker in workers:
                if worker.pid not in peaks and "python" not in " ".join(_cmdline(worker)):
                    continue  # a tool the parent started itself, not a worker
                rss, pss = memory(worker)
                tree = pss + sum(memory(child)[1] for child in _children(worker))
                peak = peaks.setdefault(worker.pid, {"rss": 0, "pss": 0, "tree": 0})
                peak["rss"], peak["pss"], peak["tree"] = max(peak["rss"], rss), max(peak["pss"], pss), \
                    max(peak["tree"], tree)
            time.sleep(0.1)
        out, err = scan.communicate()
        elapsed = time.perf_counter() - started
        if scan.returncode not in (0, 1):
            sys.exit(f"scan failed (exit {scan.returncode}):\n{err[-3000:]}")
        worst = max((p["pss"] for p in peaks.values()), default=0)
        print(json.dumps({
            "videos": f"one of {args.long_hours:g} h" if args.long_hours else args.videos, "jobs": args.jobs, "wall_s": round(elapsed, 1),
            "workers": [{"pid": pid, "peak_rss_mb": round(p["rss"] / MB), "peak_pss_mb": round(p["pss"] / MB),
                         "peak_with_its_tools_mb": round(p["tree"] / MB)} for pid, p in peaks.items()],
            "parent_peak_pss_mb": round(parent_peak / MB), "worst_worker_pss_mb": round(worst / MB),
            "target_mb": TARGET_MB, "scan_summary": out.strip().splitlines()[0] if out.strip() else ""}))


def build_long(folder: Path, hours: float) -> None:
    """One post with a `hours`-long 32x32 video at 1 fps and a silent AAC track (small, quick to make)."""
    folder.mkdir(parents=True, exist_ok=True)
    seconds = str(round(hours * 3600))
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=32x32:r=1",
                    "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", seconds, "-c:v", "libx264",
                    "-preset", "ultrafast", "-c:a", "aac", "-b:a", "8k", str(folder / "long.mp4")], check=True)
    manifest = {"id": "long", "platform": "youtube", "regions": ["GB"], "caption": "A long stream",
                "media": ["long.mp4"], "relationship": "paid"}
    (folder / "long.post.json").write_text(json.dumps(manifest))


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return []


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


if __name__ == "__main__":
    main()
