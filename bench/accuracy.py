"""Accuracy on real public data (issue: batch at scale, benchmark 5). Prints its figures; run with
`.venv/bin/python bench/accuracy.py` (optionally `--data-dir DIR`, `--examples N`,
`--dataset youtube|instagram`).

1. youtube-affiliate-disclosures: item-level affiliate-disclosure precision / recall / F1. Each
   video's description (its sentences, one per line) goes through the real engine for the US pack
   as an affiliate post; the video counts as disclosing when the analyzer finds an accepted or an
   insufficient label, not negated, whose pack term is not a sponsorship, advertising, gift or
   partnership label (the dataset labels affiliate disclosures only: bare "affiliate link" notes,
   which the US pack reports as insufficient, commission explanations and channel-support notes;
   "sponsored by X" is "none" there). The rows below it count any label, and accepted labels only.
   Target F1 >= 0.90; the dataset's published keyword baseline reaches 0.64. Its labels are silver
   (rebuilt from cluster ids): some "Click link: <url>" lines count as disclosures, and some real
   commission notes do not.
2. instagram-sponsored-captions, real captions only (`synthetic` False; the sponsored ones had
   their disclosure markers stripped): "likely commercial" precision / recall / F1. Each caption
   goes through the real engine for the US pack with the relationship undeclared; it is likely
   commercial when the pack's rules apply (applicability "likely"). Target F1 >= 0.76 (the dataset
   paper's TF-IDF + logistic regression trained on *real* captions) with the shipped model, which is
   trained on the synthetic rows only (scripts/train_commercial_model.py). Rows beside it: the
   engine without the model (packs and commercial cues), the model alone, and "flag every post"
   (on this balanced set it scores F1 0.667 with no discrimination at all, so read F1 with the
   precision and the model's ROC AUC, also printed).

Every figure is measured `--runs` times (3) and the median printed (the accuracy figures are
deterministic; the times vary), with the load average before and after.

Each is printed beside a plain keyword baseline (documented below) run in the same script. The
datasets measure; nothing here was fitted to them. They are read from ../shared/datasets relative
to the repository root and never copied into the project.
"""

from __future__ import annotations

import argparse
import collections
import csv
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from complianceguard.engine import Engine
from complianceguard.model import ItemResult, Submission
from complianceguard.packs.loader import PackLibrary  # noqa: E402
from complianceguard.signal_model import default_model  # noqa: E402
from metrics import row, scores  # noqa: E402  (bench/metrics.py)

MODEL_TERM = "commercial model:"

# Plain keyword baselines: case-insensitive substrings, no negation, no context.
DISCLOSURE_KEYWORDS = ("affiliate", "commission", "sponsor", "#ad", "disclosure", "disclaimer")
# The dataset labels affiliate disclosures only (affiliate link notes, commission explanations and
# "buying through this link supports the channel"); "sponsored by X", "#ad", gifts and collabs are
# "none" there. The headline lens therefore drops the engine's disclosure mentions whose matched pack
# term is a sponsorship, advertising, gift, partnership, employment or own-brand label, and keeps every
# other one (the US pack's other labels explain an affiliate link, a commission, a payment or channel
# support). The list is the US pack's labels of those kinds, by kind, not the ones seen to misfire.
SPONSORSHIP_TERMS = frozenset({
    # sponsorship, advertising, partnership
    "ad", "advertisement", "sponsored", "for sponsoring", "#*partner", "#*ambassador", "sp", "spon", "collab",
    "#partner", "ambassador", "#thanks", "#ad", "paid partnership", "paid partnership with", "sponsored post",
    "brand deal",
    # spoken sponsorship statements (issue #17: the US pack's labels for "brought to you by X")
    "brought to you by", "made possible by", "paid for this video", "paid for this episode", "paid for this post",
    # gifts and free products
    "free product", "free products", "gifted", "gifted by", "gifted to me", "i was gifted", "was gifted",
    "sent to me for free", "for free by", "sent me this for free", "sent me these for free", "sent this to me for free",
    "sent me for free", "received this for free", "got this for free from", "product provided by",
    "products provided by",
    # employment and own brand
    "i work at", "i work for", "#*employee", "my own brand", "our own brand", "my own company", "my company",
    "our company", "i founded", "i co-founded", "founder of", "co-founder of"})
# Words that make a sentence a disclosure rather than a bare call to action (for the tally of the
# misses only: why the engine missed a video, not whether it disclosed).
DISCLOSURE_WORDING = re.compile(r"affiliat|commission|earn|paid|pay|money|support|partner|sponsor|associate|"
                                r"provision|commissione|comisi|comiss|afiliad|affili", re.IGNORECASE)
NEGATED = re.compile(r"\b(not|no|never|nothing)\b", re.IGNORECASE)
COMMERCIAL_KEYWORDS = ("code", "% off", "discount", "link in bio", "shop", "sponsor", "partner", "gifted",
                       "giveaway", "#ad")


def read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except OSError as exc:
        sys.exit(f"{path}: cannot read ({exc.strerror}); pass --data-dir")


def disclosures(item: ItemResult) -> list[tuple[str, str]]:
    """(text, pack term) of each label or insufficient label found in the description."""
    return [(m.text, m.term) for m in item.mentions if m.channel == "caption" and m.kind in ("label", "insufficient")
            and not m.negated and not m.disguise]


def median_scores(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def fresh_caches() -> None:
    """Each run measures the analysis, not the caches filled by the run before."""
    from complianceguard import analyze, commercial, signal_model
    for cached in (analyze._doc, analyze._pattern_matches, commercial.assess, commercial._assess_tokens,
                   signal_model.score):
        cached.cache_clear()


def roc_auc(scores_: list[float], truth: list[bool]) -> float:
    """Mann-Whitney AUC: the chance that a sponsored post scores above an ordinary one."""
    ranked = sorted(range(len(scores_)), key=lambda i: scores_[i])
    ranks = [0.0] * len(scores_)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and scores_[ranked[j + 1]] == scores_[ranked[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[ranked[k]] = (i + j) / 2 + 1
        i = j + 1
    positives = sum(truth)
    negatives = len(truth) - positives
    return (sum(r for r, t in zip(ranks, truth) if t) - positives * (positives + 1) / 2) / (positives * negatives)


def youtube(engine: Engine, folder: Path, examples: int, runs: int = 1) -> None:
    sentences = read_csv(folder / "youtube_sentences_labelled.csv")
    items = read_csv(folder / "youtube_items_labelled.csv")
    by_video: dict[str, list[str]] = collections.defaultdict(list)
    labelled: dict[str, list[dict[str, str]]] = collections.defaultdict(list)
    for s in sentences:
        by_video[s["id"]].append(s["sentence"])
        if s["is_disclosure"] == "1":
            labelled[s["id"]].append(s)
    truth = [i["disclosure_present"] == "1" for i in items]
    times = []
    for _ in range(runs):
        fresh_caches()
        found: list[list[tuple[str, str]]] = []
        accepted: list[bool] = []
        cues: list[bool] = []
        started = time.perf_counter()
        for i in items:
            post = Submission(id=i["id"], platform="youtube", regions=["US"], caption="\n".join(by_video[i["id"]]),
                              relationship="affiliate")
            item = engine.evaluate(post)
            found.append(disclosures(item))
            accepted.append(any(m.kind == "label" and m.channel == "caption" and not m.negated and not m.disguise
                                for m in item.mentions))
            cues.append(any(m.term.startswith(("commercial cue:", MODEL_TERM)) for m in item.mentions))
        times.append(time.perf_counter() - started)
    elapsed = statistics.median(times)
    predicted = [bool(f) for f in found]
    affiliate = [any(term.lower() not in SPONSORSHIP_TERMS for _, term in f) for f in found]
    keyword = [any(k in "\n".join(by_video[i["id"]]).lower() for k in DISCLOSURE_KEYWORDS) for i in items]
    print(f"1. youtube-affiliate-disclosures: {len(items)} videos, {sum(truth)} disclose "
          f"({sum(truth) / len(items):.2%}); engine {elapsed / len(items) * 1000:.1f} ms per description "
          f"(median of {runs})")
    print(row("engine, affiliate disclosure (US)", scores(affiliate, truth)))
    print(row("  any label or insufficient label", scores(predicted, truth)))
    print(row("  accepted label only", scores(accepted, truth)))
    print(row("keyword baseline " + "/".join(DISCLOSURE_KEYWORDS[:3]) + "/...", scores(keyword, truth)))
    print("  target F1 >= 0.88; published keyword baseline F1 0.64")
    kinds = ("has_affiliate_link_disclosure", "has_explanation_disclosure", "has_channel_support_disclosure")
    for kind in kinds:
        rows = [n for n, i in enumerate(items) if i[kind] == "1"]
        hit = sum(affiliate[n] for n in rows)
        print(f"  recall on videos with {kind.removeprefix('has_').removesuffix('_disclosure')} disclosures: "
              f"{hit}/{len(rows)} = {hit / len(rows):.3f}")
    terms = collections.Counter(t.lower() for n, f in enumerate(found) if affiliate[n] and not truth[n]
                                for t in {t for t, term in f if term.lower() not in SPONSORSHIP_TERMS})
    print("  false positives by matched text:", ", ".join(f"{t!r} {c}" for t, c in terms.most_common(10)) or "none")
    missed = [n for n, i in enumerate(items) if truth[n] and not affiliate[n]]
    why = collections.Counter(_miss_reason([s["sentence"] for s in labelled[items[n]["id"]]]) for n in missed)
    print("  false negatives by their labelled sentences: " + ", ".join(f"{w} {c}" for w, c in why.most_common()))
    print(f"  commercial cues or the trained signal find the affiliate post (every description carries affiliate "
          f"links): {sum(cues)}/{len(cues)} = {sum(cues) / len(cues):.3f}")
    _examples("false negative", [(i["id"], by_video[i["id"]]) for n, i in enumerate(items)
                                 if truth[n] and not affiliate[n]], examples, lambda lines: " | ".join(lines)[:300])


def _miss_reason(sentences: list[str]) -> str:
    """Why a labelled disclosure was missed, from its sentences: the silver labels count some bare
    calls to action ("Click link: <url>") and denials ("not affiliated with") as disclosures."""
    worded = [s for s in sentences if DISCLOSURE_WORDING.search(s)]
    if not worded:
        return "no disclosure wording (call to action or link name)"
    if all(NEGATED.search(s) for s in worded):
        return "a denial"
    return "disclosure wording"


def instagram(engine: Engine, folder: Path, examples: int, runs: int = 1) -> None:
    rows = [r for r in read_csv(folder / "synthetic_original.csv") if r["synthetic"] == "False"]
    truth = [r["category"] == "True" for r in rows]
    times, model_times, model_cpu = [], [], []
    for _ in range(runs):
        fresh_caches()
        likely: list[bool] = []
        pack_only: list[bool] = []
        without_model: list[bool] = []
        why: list[str] = []
        started = time.perf_counter()
        for n, r in enumerate(rows):
            post = Submission(id=f"ig-{n}", platform="instagram", regions=["US"], caption=r["Final Data"],
                              relationship="unknown")
            item = engine.evaluate(post)
            region = item.regions["US"]
            likely.append(any(f.status != "not-applicable" for f in region.findings))
            why.append(region.applicability)
            counted = [m for m in item.mentions if m.kind in ("signal", "brand", "label", "insufficient")
                       and not m.negated]
            pack_only.append(any(not m.term.startswith(("commercial cue:", MODEL_TERM, "sponsor read"))
                                 for m in counted))
            without_model.append(any(not m.term.startswith(MODEL_TERM) for m in counted))
        times.append(time.perf_counter() - started)
        model = default_model()
        started, cpu = time.perf_counter(), time.process_time()
        scored = model.score_batch([r["Final Data"] for r in rows])
        model_times.append(time.perf_counter() - started)
        model_cpu.append(time.process_time() - cpu)
    elapsed = statistics.median(times)
    keyword = [any(k in r["Final Data"].lower() for k in COMMERCIAL_KEYWORDS) for r in rows]
    print(f"\n2. instagram-sponsored-captions, real captions: {len(rows)} posts, {sum(truth)} sponsored; "
          f"engine {elapsed / len(rows) * 1000:.2f} ms per caption; model alone "
          f"{statistics.median(model_times) / len(rows) * 1000:.3f} ms per caption in batch "
          f"({statistics.median(model_cpu) / len(rows) * 1000:.3f} ms of CPU; median of {runs})")
    print(row("engine, likely commercial (US)", scores(likely, truth)))
    print(row("  engine without the trained model", scores(without_model, truth)))
    print(row("  of which pack vocabulary alone", scores(pack_only, truth)))
    print(row(f"trained model alone ({model.name} {model.version})", scores([s.commercial for s in scored], truth)))
    print(f"  trained model ROC AUC on the real captions: {roc_auc([s.probability for s in scored], truth):.3f} "
          "(0.5 = chance); trained on the synthetic rows only")
    print(row("flag every post", scores([True] * len(rows), truth)))
    print(row("keyword baseline " + "/".join(COMMERCIAL_KEYWORDS[:3]) + "/...", scores(keyword, truth)))
    print("  target F1 >= 0.76 (the paper's TF-IDF + logistic regression trained on real captions)")
    _examples("false positive", [(r["Final Data"], why[n]) for n, r in enumerate(rows) if likely[n] and not truth[n]],
              examples, lambda w: w[-200:])
    _examples("false negative", [(r["Final Data"], "") for n, r in enumerate(rows) if truth[n] and not likely[n]],
              examples, lambda w: "")


def _examples(what: str, cases: list[tuple[str, object]], count: int, describe) -> None:
    for text, detail in cases[:count]:
        print(f"    {what}: {str(text)[:240]!r} {describe(detail)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--examples", type=int, default=0, help="print this many errors of each kind")
    parser.add_argument("--runs", type=int, default=3, help="measure each figure this many times (median)")
    parser.add_argument("--dataset", choices=("all", "youtube", "instagram"), default="all",
                        help="measure one dataset only")
    args = parser.parse_args()
    engine = Engine(PackLibrary(), regions=["US"])
    print("load average before: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    if args.dataset in ("all", "youtube"):
        youtube(engine, args.data_dir / "youtube-affiliate-disclosures", args.examples, args.runs)
    if args.dataset in ("all", "instagram"):
        instagram(engine, args.data_dir / "instagram-sponsored-captions", args.examples, args.runs)
    print("load average after: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
