"""Benchmark 1 (issue 8): caption throughput through the real CLI. Prints items/s.

Generates N realistic mixed captions (default 100,000) as one CSV of posts: seven languages,
labels first, buried, missing, negated or unclear, discount codes, brand handles, denials, the
platform flag, declared and undeclared relationships, one to three regions each from the 29 packs.
Then runs `python -m complianceguard scan posts.csv --jobs <cores> --format json` as a user would,
in a fresh process, and prints wall time and items/s (start-up, loading, checking and writing the
report all included), with the CPU time the scan used and the machine's load average (on a shared
machine wall time also measures the neighbours). Target (issue #16): >= 5,000 items/s on 2 cores
and <= 2.5 KB of report.json per post.

    .venv/bin/python bench/caption_throughput.py                 # 100,000 captions, --jobs = cores
    .venv/bin/python bench/caption_throughput.py --items 20000 --jobs 1 --format json,csv
    .venv/bin/python bench/caption_throughput.py --runs 3             # the median of three scans
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LABELS = {
    "en": ["#ad", "Ad", "#advert", "#sponsored", "Paid partnership with", "#gifted", "AD |"],
    "de": ["Werbung", "Anzeige", "#werbung", "Unbezahlte Werbung", "#ad"],
    "fr": ["Publicité", "#publicité", "Collaboration commerciale", "#sponsorisé"],
    "es": ["Publicidad", "#publi", "#ad", "Patrocinado por"],
    "it": ["Pubblicità", "#adv", "#ad", "Sponsorizzato da"],
    "nl": ["#reclame", "#advertentie", "Adverteren", "#spon"],
    "pt": ["#publicidade", "Publi", "#ad", "parceria paga"],
}
WEAK = ["#sp", "#spon", "#collab", "#partner", "thanks to", "#ambassador", "#sponsored"]
DENIALS = {"en": "not sponsored, just love it", "de": "keine Werbung, selbst gekauft",
           "fr": "pas sponsorisé", "es": "no es publicidad", "it": "non è pubblicità",
           "nl": "geen reclame", "pt": "não é publi"}
BODIES = {
    "en": ["My new favourite serum, it keeps my skin glowing all day long",
           "Morning run done, these shoes make every kilometre feel easy",
           "Three ways to style the new autumn jacket, which one is yours?",
           "Cooking a quick pasta salad with fresh tomatoes and basil tonight",
           "Honest review of the headphones I used for a whole month of travel"],
    "de": ["Mein neuer Lieblingslippenstift hält den ganzen Tag",
           "Heute zeige ich euch meine Morgenroutine mit der neuen Creme",
           "Die Laufschuhe sind unglaublich bequem, perfekt für lange Strecken"],
    "fr": ["Ma nouvelle crème préférée pour une peau éclatante toute la journée",
           "Trois façons de porter la nouvelle veste d'automne"],
    "es": ["Mi nuevo sérum favorito, mi piel brilla todo el día",
           "Tres formas de combinar la nueva chaqueta de otoño"],
    "it": ["Il mio nuovo siero preferito, la pelle è luminosa tutto il giorno",
           "Tre modi per indossare la nuova giacca autunnale"],
    "nl": ["Mijn nieuwe favoriete serum, mijn huid straalt de hele dag",
           "Drie manieren om de nieuwe herfstjas te dragen"],
    "pt": ["Meu novo sérum favorito, a pele fica radiante o dia todo",
           "Três formas de usar a nova jaqueta de outono"],
}
REGIONS_BY_LANGUAGE = {
    "en": ["GB", "US", "IE", "CA", "AU", "NZ", "IN", "SG", "AE"], "de": ["DE", "AT"], "fr": ["FR", "BE", "CA"],
    "es": ["ES", "MX"], "it": ["IT"], "nl": ["NL", "BE"], "pt": ["PT", "BR"],
}
OTHER_REGIONS = ["EU", "PL", "SE", "DK", "NO", "FI", "CZ", "JP", "KR", "CN"]
TAGS = ["#skincare", "#glow", "#ootd", "#running", "#foodie", "#travel", "#beauty", "#fitness", "#style", "#tech"]
BRANDS = [("Glow Skincare", "@glowskincare"), ("Acme Run", "@acmerun"), ("Lip Co", "@lipco"),
          ("Nordic Tea", "@nordictea")]
PLATFORMS = ["instagram", "instagram", "tiktok", "youtube", "youtube-shorts", "facebook", "x"]
RELATIONSHIPS = ["paid", "paid", "gifted", "affiliate", "unknown", "unknown", "none", "employee", "own-brand"]
FIELDS = ["id", "platform", "regions", "caption", "relationship", "brand", "brand_handles", "paid_partnership_tag"]


def caption_row(number: int, rng: random.Random) -> dict[str, str]:
    """One post: a body in one language, a disclosure placed well, badly or not at all, extras."""
    language = rng.choice(list(BODIES))
    body = rng.choice(BODIES[language])
    brand, handle = rng.choice(BRANDS)
    tags = rng.sample(TAGS, rng.randint(0, 6))
    style = rng.random()
    label = rng.choice(LABELS[language])
    if style < 0.30:
        caption = f"{label} {body} {handle} {' '.join(tags)}"  # upfront
    elif style < 0.45:
        caption = f"{body} {handle}\n.\n.\n{' '.join(tags + [label] + rng.sample(TAGS, 3))}"  # buried in tags
    elif style < 0.55:
        caption = f"{body} {rng.choice(WEAK)} {handle}"  # unclear label
    elif style < 0.62:
        caption = f"{body}, {DENIALS[language]} {' '.join(tags)}"  # denial
    elif style < 0.72:
        caption = f"{body} use code GLOW{rng.randint(10, 40)} for a discount, link in bio"  # signals only
    else:
        caption = f"{body} {' '.join(tags)}"  # nothing
    if rng.random() < 0.15:
        caption = caption + " " + " ".join(rng.sample(BODIES["en"], 2))  # long: beyond the fold
    regions = rng.sample(REGIONS_BY_LANGUAGE[language], min(len(REGIONS_BY_LANGUAGE[language]), rng.randint(1, 2)))
    if rng.random() < 0.3:
        regions.append(rng.choice(OTHER_REGIONS))
    return {
        "id": f"post-{number:06d}", "platform": rng.choice(PLATFORMS), "regions": ";".join(dict.fromkeys(regions)),
        "caption": caption, "relationship": rng.choice(RELATIONSHIPS), "brand": brand if rng.random() < 0.5 else "",
        "brand_handles": handle, "paid_partnership_tag": "true" if rng.random() < 0.2 else "false",
    }


def write_captions(path: Path, count: int, seed: int = 8) -> Path:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        for number in range(count):
            writer.writerow(caption_row(number, rng))
    return path


def _children_cpu() -> float:
    """CPU seconds used by finished child processes (the CLI and its workers), user + system: on a
    machine shared with other work it says what the scan cost where wall time cannot."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _scan(posts: Path, out: Path, jobs: int, formats: str, cache: Path) -> tuple[float, float, str]:
    """One scan in a fresh process: (wall s, CPU s of it and its workers, its summary line)."""
    command = [sys.executable, "-m", "complianceguard", "scan", str(posts), "--out", str(out),
               "--jobs", str(jobs), "--format", formats, "--quiet", "--fresh"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COMPLIANCEGUARD_CACHE": str(cache)}
    started, cpu_before = time.perf_counter(), _children_cpu()
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
    if result.returncode not in (0, 1, 2) or not (out / "report.json").is_file() and "json" in formats:
        sys.exit(f"scan failed (exit {result.returncode}):\n{result.stderr[-2000:]}")
    return elapsed, cpu, result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--runs", type=int, default=1, help="scans of the same posts; the median is printed")
    parser.add_argument("--format", default="json", help="report formats written by the scan (default: json)")
    parser.add_argument("--keep", type=Path, help="keep the CSV and reports in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cg-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        posts = write_captions(work / "posts.csv", args.items)
        out = work / "reports"
        runs = [_scan(posts, out, args.jobs, args.format, work / "cache") for _ in range(max(1, args.runs))]
        walls, cpus = sorted(r[0] for r in runs), sorted(r[1] for r in runs)
        elapsed, cpu, summary = statistics.median(walls), statistics.median(cpus), runs[-1][2]
        if "json" in args.format:
            with (out / "report.json").open() as handle:
                count = sum(1 for line in handle if line.startswith('    {"id":"post-'))  # one item per line
            if count != args.items:
                sys.exit(f"the report holds {count} items, expected {args.items}")
        size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
        report_bytes = (out / "report.json").stat().st_size if (out / "report.json").is_file() else 0
        journal_bytes = (out / "scan.journal").stat().st_size if (out / "scan.journal").is_file() else 0
        print(json.dumps({"items": args.items, "jobs": args.jobs, "formats": args.format, "runs": len(runs),
                          "cores": os.cpu_count(), "wall_s": round(elapsed, 2),
                          "wall_s_runs": [round(r[0], 2) for r in runs],
                          "items_per_s": round(args.items / elapsed), "target_items_per_s": 5000,  # issue #16
                          "cpu_s": round(cpu, 1), "cpu_ms_per_item": round(cpu * 1000 / args.items, 3),
                          "load_avg_1m": round(os.getloadavg()[0], 1),
                          "report_mb": round(size / 1e6, 1),
                          "report_json_bytes_per_post": round(report_bytes / args.items),
                          "target_bytes_per_post": 2500,
                          "journal_bytes_per_post": round(journal_bytes / args.items), "scan_summary": summary}))


if __name__ == "__main__":
    main()
