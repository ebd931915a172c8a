"""The verdicts of the generated benchmark captions, as a small digest to compare against (issue #16).

Speed work must not change a verdict. This regenerates the captions `bench/caption_throughput.py`
scans (its generator, its fixed seed), checks each one the way a scan's worker does (`Checker.check`:
the CSV row loaded, the post evaluated, its 2.0 record written and expanded again), and writes one
line per post: its id and verdict, then per region the region's verdict and one letter per rule of
the pack, in the pack's rule order (p pass, f fail, w warn, i inconclusive, n not-applicable, - no
finding). `tests/data/caption-verdicts.json` keeps a SHA-256 per block of 1,000 such lines for
100,000 posts and the lines themselves for the first 2,000, so a difference names the post and
rule where the table reaches and the block where it does not.

The digest is of today's packs and rules: a pack or rule change that moves a verdict on purpose
means recording it again (the digest names the packs' hashes it was made with):

    .venv/bin/python tests/verdict_digest.py --write            # 100,000 posts, all cores
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIGEST = ROOT / "tests" / "data" / "caption-verdicts.json"
BLOCK = 1000  # posts per block hash
TABLE = 2000  # posts whose lines the digest keeps in full
COUNT = 100_000  # posts the benchmark scans
LETTERS = {"pass": "p", "fail": "f", "warn": "w", "inconclusive": "i", "not-applicable": "n"}


def _generator():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import caption_throughput
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return caption_throughput


def pack_hashes() -> dict[str, str]:
    """Pack id -> SHA-256 of every built-in pack: what the recorded verdicts were made with."""
    from complianceguard.packs.loader import PackLibrary

    return {p.pack.id: p.sha256 for p in sorted(PackLibrary().packs, key=lambda p: p.pack.id)}


_RAWS: list = []  # the posts being checked (set before worker processes fork, so they inherit them)
_CHECKER = None  # one per process, built on its first block
_RECORDS = False  # --records: whole item records instead of verdict lines (a stricter A/B check while optimising)


def _block(bounds: tuple[int, int]) -> list[str]:
    """The verdict lines of posts start..stop-1."""
    global _CHECKER
    from complianceguard.batch.work import Checker, ScanSettings, WorkUnit, unit_key

    if _CHECKER is None:
        _CHECKER = Checker.from_settings(ScanSettings(read_media=False, asr_backend="none", ocr_fps=None))
    found = []
    for index in range(*bounds):
        raw = _RAWS[index]
        result = _CHECKER.check(WorkUnit(index, raw, unit_key(raw)))
        if _RECORDS:
            found.append(re.sub(r'"source_file":"[^"]*",', "", result.item_json))  # a temporary folder's name
        else:
            found.append(verdict_line(_CHECKER.item(result.item_json), _CHECKER.catalogue))
    return found


def verdict_line(item, catalogue: dict) -> str:
    """`post-000001 fail GB f npppn... DE p nnnn...`: the item's verdict, each region's, and each rule's status."""
    parts = [item.id, item.verdict]
    for region, result in item.regions.items():
        statuses = {f.rule: f.status for f in result.findings}
        codes = list(catalogue.get(result.pack, {})) or list(statuses)
        parts += [region, result.verdict, "".join(LETTERS.get(statuses.get(c, ""), "-") for c in codes) or "-"]
    return " ".join(parts)


def lines(count: int, jobs: int = 1) -> Iterator[str]:
    """The verdict lines of the first `count` captions, in order, checked by `jobs` processes."""
    from complianceguard.submission import read_posts

    with tempfile.TemporaryDirectory(prefix="cg-verdicts-") as tmp:
        posts = _generator().write_captions(Path(tmp) / "posts.csv", count)
        _RAWS[:] = list(read_posts([posts]))
    blocks = [(start, min(start + BLOCK, count)) for start in range(0, count, BLOCK)]
    if jobs <= 1:
        for bounds in blocks:
            yield from _block(bounds)
        return
    with get_context("fork").Pool(jobs) as pool:
        for block in pool.imap(_block, blocks):
            yield from block


def block_hash(block: list[str]) -> str:
    return hashlib.sha256("\n".join(block).encode("utf-8")).hexdigest()


def record(count: int = COUNT, jobs: int = 1) -> dict:
    packs = pack_hashes()  # before the posts: the packs the workers load
    table, hashes, block = [], [], []
    for number, line in enumerate(lines(count, jobs)):
        if number < TABLE:
            table.append(line)
        block.append(line)
        if len(block) == BLOCK:
            hashes.append(block_hash(block))
            block = []
    if block:
        hashes.append(block_hash(block))
    return {"about": "tests/verdict_digest.py", "posts": count, "block": BLOCK, "packs": packs,
            "block_sha256": hashes, "first_posts": table}


def difference(recorded: dict, count: int, jobs: int = 1) -> str | None:
    """None when the first `count` posts' verdicts are the recorded ones; else the first difference."""
    packs_now = pack_hashes()
    changed = sorted(k for k in {*packs_now, *recorded["packs"]} if packs_now.get(k) != recorded["packs"].get(k))
    stale = (f" (the packs {', '.join(changed)} changed since the digest was recorded: if that change moves "
             f"verdicts on purpose, record them again with `python tests/verdict_digest.py --write`)"
             if changed else "")
    block: list[str] = []
    for number, line in enumerate(lines(count, jobs)):
        if number < len(recorded["first_posts"]) and line != recorded["first_posts"][number]:
            return _explain(recorded["first_posts"][number], line, recorded) + stale
        block.append(line)
        if len(block) == recorded["block"] or number == count - 1:
            index = number // recorded["block"]
            if len(block) == recorded["block"] and block_hash(block) != recorded["block_sha256"][index]:
                return (f"the verdicts of posts {index * recorded['block']}..{number} differ from the recorded "
                        f"ones (block {index}; beyond the recorded table, so the post is not named)" + stale)
            block = []
    return None


def _explain(expected: str, got: str, recorded: dict) -> str:
    """Which post, region and rule changed, from two verdict lines."""
    was, now = expected.split(" "), got.split(" ")
    post = was[0]
    if was[:2] != now[:2]:
        prefix = f"{post}: verdict {was[1]} is now {now[1]}"
    else:
        prefix = f"{post}"
    regions_was = {was[i]: (was[i + 1], was[i + 2]) for i in range(2, len(was), 3)}
    regions_now = {now[i]: (now[i + 1], now[i + 2]) for i in range(2, len(now), 3)}
    from complianceguard.packs.loader import PackLibrary

    library = PackLibrary()
    for region, (verdict, letters) in regions_was.items():
        other = regions_now.get(region)
        if other is None:
            return f"{prefix}: region {region} is no longer checked"
        if other == (verdict, letters):
            continue
        codes = [r.code for r in library.for_region(region).pack.rules]
        for position, (a, b) in enumerate(zip(letters, other[1], strict=False)):
            if a != b:
                code = codes[position] if position < len(codes) else f"rule #{position + 1}"
                return (f"{prefix}: {region} {code} was {_status(a)}, is now {_status(b)} "
                        f"(region {verdict} -> {other[0]})")
        return f"{prefix}: {region} verdict {verdict} is now {other[0]} (rules {letters} -> {other[1]})"
    return f"{prefix}: expected `{expected}`, got `{got}`"


def _status(letter: str) -> str:
    return {v: k for k, v in LETTERS.items()}.get(letter, "no finding")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help=f"record the verdicts into {DIGEST.relative_to(ROOT)}")
    parser.add_argument("--posts", type=int, default=COUNT)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--records", type=Path, help="write the whole item records (JSON lines) here instead: a "
                        "stricter comparison between two versions of the code (diff the files)")
    args = parser.parse_args()
    if args.records:
        global _RECORDS
        _RECORDS = True
        with args.records.open("w", encoding="utf-8") as out:
            for line in lines(args.posts, args.jobs):
                out.write(line + "\n")
        return
    if args.write:
        recorded = record(args.posts, args.jobs)
        DIGEST.write_text(json.dumps(recorded, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"recorded {args.posts} posts into {DIGEST} ({DIGEST.stat().st_size} bytes)")
        return
    problem = difference(json.loads(DIGEST.read_text("utf-8")), args.posts, args.jobs)
    print(problem or f"the verdicts of {args.posts} posts are the recorded ones")
    sys.exit(1 if problem else 0)


if __name__ == "__main__":
    main()
