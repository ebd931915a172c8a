"""Sponsor-read detection on real transcript text (issue #17). Prints its figures; run with
`.venv/bin/python bench/sponsor_read.py` (optionally `--data PATH`, `--examples N`, `--runs N`).

1. Snippets. Each snippet of ../shared/datasets/sponsor-read-snippets/data.csv (YouTube
   auto-captions, no punctuation; `sentiment` 0 = sponsored read) becomes one timed speech segment
   and goes through the real analyzer for the US pack. The speech analysis says "sponsor read /
   commercial speech" when it reports a timed speech signal (a pack signal, a commercial cue, a
   sponsor-read span) - what the `sponsor-read-disclosed` check reads (the trained caption model
   gives no timed signal; its figure on transcripts is printed to show why it is not used there).
   - As labelled: the dataset's labels as they are (self-promotion counted as commercial speech).
   - Per the issue's definition, on the rows the dataset marks: a sponsor read is speech promoting a
     third party for a benefit; like/subscribe reminders and the creator's own merch, Patreon or
     channels are not. The rows that the transparent keyword buckets below put in those groups are
     left out (no row is relabelled), and only third-party reads count as predictions.
   Target F1 >= 0.85 as labelled; printed beside a plain keyword baseline (documented below).
2. Timed development set, generated here at every run and never stored: pseudo-transcripts made by
   concatenating snippets - ordinary ones (at least 45 s; the first 40 words of each), a sponsored
   one, ordinary ones, another sponsored one, ordinary ones - spoken at 2.5 words a second and cut into auto-caption lines of
   8-12 words that ignore snippet boundaries; the sponsored snippets' times are the truth. Reported:
   time-overlap precision / recall / F1 of the reads found (the `sponsor read` mentions) against the
   truth, and segment recall (a true read counts as found when at least half of it is covered; "any
   overlap" is printed too). Beside it, the keyword baseline marks each caption line holding a
   keyword (cue sentences only). Targets: segment recall >= 0.90, time F1 >= 0.70. Three seeds;
   the median is printed.
3. False alarms: the snippets labelled not sponsored that are long transcripts (200+ words), timed
   the same way: sponsor reads found per hour and the share of the time inside one, beside the
   keyword baseline's cue lines. An upper bound: some of these "ordinary" transcripts hold a real
   sponsor read the labels do not mark (use --examples to print what was found).

Every figure is measured `--runs` times (3) and the median printed, with the load average.
The snippets measure; nothing was fitted to them, and they are never copied into the project.
"""

from __future__ import annotations

import argparse
import collections
import csv
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from complianceguard.analyze import Analyzer  # noqa: E402
from complianceguard.model import Mention, Segment, Submission, TimeSpan  # noqa: E402
from complianceguard.packs.loader import PackLibrary  # noqa: E402
from complianceguard.signal_model import default_model  # noqa: E402
from metrics import row, scores  # noqa: E402  (bench/metrics.py)

DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "sponsor-read-snippets" / "data.csv"
# Plain keyword baseline: case-insensitive substrings, no negation, no context.
KEYWORDS = ("sponsor", "code", "discount", "percent off", "% off", "link below", "link in the description",
            "free trial")
# Coarse, transparent buckets (reporting, and the definition view's exclusions; they change no prediction).
MISS_BUCKETS = (
    ("like/subscribe/outro reminder", ("subscribe", "thumbs up", "hit like", "the bell", "comment", "thanks for watching")),
    ("creator's own merch/Patreon/other channel", ("patreon", "merch", "store", "other channel", "second channel",
                                                   "other video")),
)
WORDS_PER_S = 2.5
ORDINARY_S = 45.0
ORDINARY_WORDS = 40  # an ordinary snippet's first words only (some run to 4,000 words)


def load(path: Path) -> list[tuple[str, bool]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        sys.exit(f"{path}: cannot read ({exc.strerror}); pass --data")
    if not rows or not {"text", "sentiment"} <= set(rows[0]):
        sys.exit(f"{path}: expected columns 'text' and 'sentiment'")
    return [(r["text"], r["sentiment"].strip() == "0") for r in rows]


def timed_signals(found: list[Mention]) -> list[Mention]:
    return [m for m in found if m.kind == "signal" and m.channel == "speech" and m.time and not m.negated]


def signals(analyzer: Analyzer, pack, text: str) -> list[Mention]:
    """The snippet as one transcript line, through the speech path (fuzzy label search included)."""
    segment = Segment(id="speech:1", channel="speech", text=text, media="snippet", time=TimeSpan(start_s=0, end_s=30))
    post = Submission(id="snippet", regions=["US"], caption="")
    return timed_signals(analyzer.mentions([segment], pack, "en", post))


def bucket(text: str) -> str:
    lowered = text.lower()
    for name, words in MISS_BUCKETS:
        if any(w in lowered for w in words):
            return name
    return "fewer than 25 words" if len(lowered.split()) < 25 else "other (product pitch without a cue, segue)"


def excluded_by_definition(text: str) -> bool:
    return bucket(text) in {name for name, _ in MISS_BUCKETS}


def median(values: list[float]) -> float:
    return statistics.median(values)


def snippets(analyzer: Analyzer, pack, rows: list[tuple[str, bool]], runs: int, examples: int) -> None:
    times, cpu, found = [], [], []
    for _ in range(runs):
        analyzer_cache_clear()
        started, cpu_started = time.perf_counter(), time.process_time()
        found = [signals(analyzer, pack, text) for text, _ in rows]
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    truth = [sponsored for _, sponsored in rows]
    predicted = [bool(f) for f in found]
    keyword = [any(k in text.lower() for k in KEYWORDS) for text, _ in rows]
    print(f"1. sponsor-read snippets: {len(rows)} snippets, {sum(truth)} sponsored reads; speech analysis "
          f"{median(times) / len(rows) * 1000:.2f} ms per snippet, {median(cpu) / len(rows) * 1000:.2f} ms of CPU "
          f"(median of {runs})")
    print(row("speech analysis, as labelled", scores(predicted, truth), width=48))
    print(row("keyword baseline " + "/".join(KEYWORDS[:3]) + "/..., as labelled", scores(keyword, truth), width=48))
    model = default_model()
    caption_model = [model.score(text).commercial for text, _ in rows]
    print(row("  caption model on transcripts (not used)", scores(caption_model, truth), width=48))
    keep = [n for n, (text, sponsored) in enumerate(rows) if not (sponsored and excluded_by_definition(text))]
    third_party = [any(m.category != "self-promotion" for m in f) for f in found]
    print(f"  per the issue's definition: {len(rows) - len(keep)} labelled reads left out as reminders or "
          f"self-promotion (keyword buckets), {len(keep)} rows")
    print(row("speech analysis, third-party reads", scores([third_party[n] for n in keep], [truth[n] for n in keep]),
              width=48))
    print(row("keyword baseline, same rows", scores([keyword[n] for n in keep], [truth[n] for n in keep]), width=48))
    print("  target F1 >= 0.85 as labelled; the issue's keyword baseline F1 0.75")
    cues = collections.Counter(m.term.removeprefix("commercial cue: ") for n, f in enumerate(found) if truth[n]
                               for m in {m.term: m for m in f}.values())
    print("  cues in true positives:", ", ".join(f"{c} {n}" for c, n in cues.most_common(8)))
    misses = collections.Counter(bucket(text) for (text, sponsored), p in zip(rows, predicted) if sponsored and not p)
    print("  false negatives by kind:", ", ".join(f"{k} {n}" for k, n in misses.most_common()))
    for what, wanted in (("false positive", (True, False)), ("false negative", (False, True))):
        shown = [(text, f) for (text, t), p, f in zip(rows, predicted, found) if (p, t) == wanted][:examples]
        for text, f in shown:
            why = f[0].context.split(" in \"")[0] if f else ""
            print(f"    {what}: {text[:200]!r} {why}")


def analyzer_cache_clear() -> None:
    """Each run measures the analysis, not the caches filled by the run before."""
    from complianceguard import analyze, commercial, signal_model
    for cached in (analyze._doc, analyze._pattern_matches, commercial.assess, commercial._assess_tokens,
                   signal_model.score):
        cached.cache_clear()


# ----------------------------------------------------------------------------------------------
# Timed development set


def pseudo_transcripts(rows: list[tuple[str, bool]], seed: int, by_definition: bool
                       ) -> list[tuple[list[Segment], list[tuple[float, float]]]]:
    rng = random.Random(seed)
    reads = [t for t, s in rows if s and not (by_definition and excluded_by_definition(t))]
    ordinary = [" ".join(t.split()[:ORDINARY_WORDS]) for t, s in rows if not s]
    rng.shuffle(reads)
    out = []
    for n in range(0, len(reads) - 1, 2):
        words: list[str] = []
        truth: list[tuple[float, float]] = []

        def ordinary_part() -> None:
            start = len(words)
            while (len(words) - start) / WORDS_PER_S < ORDINARY_S:
                words.extend(rng.choice(ordinary).split())

        ordinary_part()
        for read in reads[n:n + 2]:
            start = len(words)
            words.extend(read.split())
            truth.append((start / WORDS_PER_S, len(words) / WORDS_PER_S))
            ordinary_part()
        out.append((timed_lines(words, rng, f"t{n}"), truth))
    return out


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(e1, e2) - max(s1, s2)) for s1, e1 in a for s2, e2 in b)


def time_scores(cases: list[tuple[list[tuple[float, float]], list[tuple[float, float]]]]) -> dict[str, float]:
    """cases: (predicted spans, true spans) per transcript."""
    overlap = predicted = true = 0.0
    found = any_found = segments = 0
    for spans, truth in cases:
        spans = _merge(spans)
        overlap += _overlap(spans, truth)
        predicted += sum(e - s for s, e in spans)
        true += sum(e - s for s, e in truth)
        for segment in truth:
            covered = _overlap(spans, [segment])
            segments += 1
            found += covered >= 0.5 * (segment[1] - segment[0])
            any_found += covered > 0
    p = overlap / predicted if predicted else 0.0
    r = overlap / true if true else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "segment_recall": found / segments, "any_overlap": any_found / segments}


def timed(analyzer: Analyzer, pack, rows: list[tuple[str, bool]], runs: int) -> None:
    print("\n2. timed development set (pseudo-transcripts from the snippets, generated now, not stored)")
    post = Submission(id="transcript", regions=["US"], caption="")
    for by_definition in (False, True):
        results: dict[str, list[dict[str, float]]] = {"engine": [], "keyword": []}
        elapsed, cpu, lines, count = [], [], 0, 0
        for seed in range(1, runs + 1):
            transcripts = pseudo_transcripts(rows, seed, by_definition)
            engine_cases, keyword_cases = [], []
            started, cpu_started = time.perf_counter(), time.process_time()
            for segments, truth in transcripts:
                found = analyzer.mentions(segments, pack, "en", post)
                engine_cases.append(([(m.time.start_s, m.time.end_s) for m in found
                                      if m.term == "sponsor read"], truth))
                keyword_cases.append(([(s.time.start_s, s.time.end_s) for s in segments
                                       if any(k in s.text.lower() for k in KEYWORDS)], truth))
            elapsed.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            lines, count = sum(len(s) for s, _ in transcripts), len(transcripts)
            results["engine"].append(time_scores(engine_cases))
            results["keyword"].append(time_scores(keyword_cases))
        label = "per the definition (reminders, self-promotion left out)" if by_definition else "as labelled"
        print(f"  {label}: {count} transcripts, {2 * count} reads, {lines} caption lines; "
              f"{median(elapsed) / lines * 1000:.2f} ms per line, {median(cpu) / lines * 1000:.2f} ms of CPU "
              f"(median of {runs} seeds)")
        for name, what in (("engine", "sponsor-read spans"), ("keyword", "keyword baseline (cue lines)")):
            m = {k: median([r[k] for r in results[name]]) for k in results[name][0]}
            print(f"    {what:<30} time P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}   "
                  f"segment recall {m['segment_recall']:.3f} (any overlap {m['any_overlap']:.3f})   "
                  "F1 by seed " + ", ".join(f"{r['f1']:.3f}" for r in results[name]))
    print("  targets: segment recall >= 0.90, time F1 >= 0.70")


def timed_lines(words: list[str], rng: random.Random, media: str) -> list[Segment]:
    """Auto-caption lines of 8-12 words at WORDS_PER_S, as the development set cuts them."""
    segments, i = [], 0
    while i < len(words):
        size = rng.randint(8, 12)
        segments.append(Segment(id=f"speech:{len(segments) + 1}", channel="speech", text=" ".join(words[i:i + size]),
                                media=media, time=TimeSpan(start_s=i / WORDS_PER_S,
                                                           end_s=min(i + size, len(words)) / WORDS_PER_S)))
        i += size
    return segments


def false_alarms(analyzer: Analyzer, pack, rows: list[tuple[str, bool]], examples: int) -> None:
    long = [text for text, sponsored in rows if not sponsored and len(text.split()) >= 200]
    rng = random.Random(0)
    post = Submission(id="transcript", regions=["US"], caption="")
    hours = engine_s = keyword_s = 0.0
    reads = keyword_lines = 0
    shown = []
    for n, text in enumerate(long):
        segments = timed_lines(text.split(), rng, f"o{n}")
        hours += segments[-1].time.end_s / 3600
        found = [m for m in analyzer.mentions(segments, pack, "en", post) if m.term == "sponsor read"]
        reads += len(found)
        engine_s += sum(m.time.end_s - m.time.start_s for m in found)
        cue_lines = [s for s in segments if any(k in s.text.lower() for k in KEYWORDS)]
        keyword_lines += len(cue_lines)
        keyword_s += sum(s.time.end_s - s.time.start_s for s in cue_lines)
        shown += [f"    {m.text[:160]!r} {(m.why or m.context or '')[:160]}" for m in found]
    print(f"\n3. false alarms: {len(long)} long transcripts labelled not sponsored, {hours:.1f} h")
    print(f"    sponsor-read spans             {reads / hours:.1f} reads per hour, {engine_s / 36 / hours:.2f} % of the time")
    print(f"    keyword baseline (cue lines)   {keyword_lines / hours:.1f} lines per hour, "
          f"{keyword_s / 36 / hours:.2f} % of the time")
    for line in shown[:examples]:
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--examples", type=int, default=0, help="print this many errors of each kind")
    parser.add_argument("--runs", type=int, default=3, help="measure each figure this many times (median)")
    args = parser.parse_args()
    rows = load(args.data)
    pack = PackLibrary().for_region("US")
    analyzer = Analyzer([pack])
    print("load average before: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    snippets(analyzer, pack, rows, args.runs, args.examples)
    timed(analyzer, pack, rows, args.runs)
    false_alarms(analyzer, pack, rows, args.examples)
    print("load average after: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
