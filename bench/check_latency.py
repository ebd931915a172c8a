"""Benchmark (issue #16): a creator's `complianceguard check --caption ... --region GB`, from process
start to exit. Target: <= 0.5 s wall.

Runs the real CLI in a fresh process `--runs` times (default 3) with a warm cache folder (what a
creator has from the second check on) and compiled bytecode (what `pip install` leaves: the first,
cache-filling run compiles it into a temporary PYTHONPYCACHEPREFIX, so no checkout is written to and
a PYTHONDONTWRITEBYTECODE in the environment does not make every run compile the package's sources
again; `--source-only` measures that way) and prints the median wall and CPU time, the machine's load
average beside them (on a shared machine wall time also measures the neighbours), and where the
time goes: the slowest imports (`python -X importtime`, cumulative, top-level packages) and the
stages of the check itself timed in one process (imports, pack loading, matcher compilation, the
check), each the median of `--runs` processes.

    .venv/bin/python bench/check_latency.py
    .venv/bin/python bench/check_latency.py --runs 5 --caption "Loving this serum #ad" --region DE
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAPTION = "Loving my new serum from @glowskincare, use code GLOW20 for 20% off #skincare"
TARGET_S = 0.5

# The stages of one check, each timed (wall and CPU s) after the one before, in a fresh process.
STAGES = r"""
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time(); marks = {}
def mark(name):
    marks[name] = (time.perf_counter(), time.process_time())
from complianceguard.batch.work import ScanSettings, settings_engine
from complianceguard.model import Submission
mark("import cli-side modules")
from complianceguard.packs.loader import PackLibrary
library = PackLibrary(); library.for_region(sys.argv[2])
mark("load packs")
engine = settings_engine(ScanSettings(regions=(sys.argv[2],), read_media=False, asr_backend="none", ocr_fps=None),
                         library)
mark("import the engine and analyzer (spaCy)")
post = Submission(id="caption", regions=[sys.argv[2]], caption=sys.argv[1], platform="instagram")
engine.evaluate(post)
mark("first check (pipeline, cue book, language model, matchers)")
engine.evaluate(post.model_copy(update={"id": "again"}))
mark("second check (warm)")
last, out = (t0, c0), {}
for name, at in marks.items():
    out[name] = {"wall": round(at[0] - last[0], 3), "cpu": round(at[1] - last[1], 3)}; last = at
print(json.dumps(out))
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _top_imports(stderr: str, count: int) -> list[tuple[str, float]]:
    """The slowest top-level imports of an `-X importtime` log (cumulative seconds)."""
    found = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if match and len(match.group(2)) <= 1:  # a top-level import, not one nested in another
            found.append((match.group(3), int(match.group(1)) / 1e6))
    return sorted(found, key=lambda item: -item[1])[:count]


def _median_stages(runs: list[subprocess.CompletedProcess]) -> dict | str:
    """Each stage's median wall and CPU seconds over the runs (one run's stages are noisy)."""
    failed = [r for r in runs if r.returncode != 0]
    if failed:
        return failed[0].stderr[-500:]
    timings = [json.loads(r.stdout) for r in runs]
    return {stage: {clock: round(statistics.median(t[stage][clock] for t in timings), 3) for clock in ("wall", "cpu")}
            for stage in timings[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--caption", default=CAPTION)
    parser.add_argument("--region", default="GB")
    parser.add_argument("--source-only", action="store_true",
                        help="no bytecode: every run compiles the package's modules from source")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cg-check-") as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COMPLIANCEGUARD_CACHE": str(Path(tmp) / "cache")}
        if args.source_only:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "bytecode")
        command = [sys.executable, "-m", "complianceguard", "check", "--caption", args.caption,
                   "--region", args.region]
        first = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # fills the cache
        if first.returncode not in (0, 1):
            sys.exit(f"check failed (exit {first.returncode}):\n{first.stderr[-2000:]}")
        walls, cpus = [], []
        for _ in range(args.runs):
            started, cpu_before = time.perf_counter(), _children_cpu()
            subprocess.run(command, capture_output=True, text=True, env=env, check=False)
            walls.append(time.perf_counter() - started)
            cpus.append(_children_cpu() - cpu_before)
        imports = subprocess.run([sys.executable, "-X", "importtime", *command[1:]], capture_output=True,
                                 text=True, env=env, check=False)
        stages = [subprocess.run([sys.executable, "-c", STAGES, args.caption, args.region], capture_output=True,
                                 text=True, env=env, check=False) for _ in range(args.runs)]
    print(json.dumps({
        "command": f"complianceguard check --caption ... --region {args.region}", "runs": args.runs,
        "wall_s_median": round(statistics.median(walls), 3), "wall_s": [round(w, 3) for w in walls],
        "cpu_s_median": round(statistics.median(cpus), 3), "target_wall_s": TARGET_S,
        "load_avg_1m": round(os.getloadavg()[0], 1),
        "bytecode": "none (compiled from source every run)" if args.source_only else "compiled once, as installed",
        "slowest_top_level_imports_s": dict(_top_imports(imports.stderr, 12)),
        "stages_s_median": _median_stages(stages),
    }, indent=2))


if __name__ == "__main__":
    main()
