"""Benchmark 4 (issue 8): peak memory per worker process during a media scan. Prints MB.

Generates the video batch of bench/cache.py (720p, 20-60 s, on-screen text and speech), then runs
the real CLI (`scan --jobs N`) with an empty cache, so every worker really OCRs frames and
transcribes speech, and samples every process of the scan with psutil every 0.1 s:

- per worker: peak RSS (resident, counting pages shared with the parent after fork) and peak PSS
  (proportional: shared pages split between the processes using them, the honest share of RAM);
- per worker tree: the worker plus the ffmpeg/ffprobe/tesseract processes it starts;
- the parent (planning, journal, report writing).

Target: <= 1.5 GB per worker. Run: .venv/bin/python bench/memory.py [--jobs N] [--videos K]
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cg-bench-memory-") as tmp:
        work = Path(tmp)
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
            "videos": args.videos, "jobs": args.jobs, "wall_s": round(elapsed, 1),
            "workers": [{"pid": pid, "peak_rss_mb": round(p["rss"] / MB), "peak_pss_mb": round(p["pss"] / MB),
                         "peak_with_its_tools_mb": round(p["tree"] / MB)} for pid, p in peaks.items()],
            "parent_peak_pss_mb": round(parent_peak / MB), "worst_worker_pss_mb": round(worst / MB),
            "target_mb": TARGET_MB, "scan_summary": out.strip().splitlines()[0] if out.strip() else ""}))


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
