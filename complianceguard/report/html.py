"""One self-contained HTML file a legal team can open, file and click through.

Everything is inlined (CSS, a few lines of JS, SVG timelines); nothing is fetched, so the page opens
offline and shows the same thing years later. Text from the report (captions, transcripts, messages)
is escaped by Jinja2's autoescaping; the only markup built here is the caption highlighting, which
splits the text at span offsets and escapes every piece before wrapping it. A Content-Security-Policy
allows only the page's own script (by hash), so even a hostile caption that slipped through could not
run. Rendering is deterministic: the same report gives byte-identical HTML.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from complianceguard.model import VERDICT_ORDER, Evidence, Finding, ItemResult, Mention, Report
from complianceguard.report import atomic_write

TEMPLATES = Path(__file__).parent / "templates"
NON_PASSING = ("fail", "warn", "inconclusive")
STATUS_RANK = {"fail": 0, "inconclusive": 1, "warn": 2, "pass": 3, "not-applicable": 4}
VERDICT_RANK = {verdict: rank for rank, verdict in enumerate(VERDICT_ORDER)}
# Highlight classes, strongest first: a span that is both a problem and a found label shows as a problem.
HIGHLIGHT_PRIORITY = ("problem", "found", "signal")
TIMED_CHANNELS = ("overlay", "speech")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    cls: str
    title: str


def highlight(text: str, spans: list[Span]) -> Markup:
    """`text` escaped, with each span wrapped in <mark class=...>; overlaps take the strongest class.

    The text is cut at every span edge; each piece is escaped on its own, and only whole pieces are
    wrapped, so no markup is ever made from unescaped text.
    """
    size = len(text)
    spans = [Span(max(0, min(s.start, size)), max(0, min(s.end, size)), s.cls, s.title) for s in spans]
    spans = [s for s in spans if s.start < s.end]
    edges = sorted({0, size, *(s.start for s in spans), *(s.end for s in spans)})
    pieces: list[tuple[str | None, tuple[str, ...], str]] = []
    for a, b in zip(edges, edges[1:]):
        covering = [s for s in spans if s.start <= a and s.end >= b]
        cls = next((c for c in HIGHLIGHT_PRIORITY if any(s.cls == c for s in covering)), None)
        titles = tuple(dict.fromkeys(s.title for s in covering if s.cls == cls and s.title))
        if pieces and pieces[-1][0] == cls and pieces[-1][1] == titles:
            pieces[-1] = (cls, titles, pieces[-1][2] + text[a:b])
        else:
            pieces.append((cls, titles, text[a:b]))
    out = Markup("")
    for cls, titles, piece in pieces:
        if cls is None:
            out += escape(piece)
        else:
            out += Markup('<mark class="{}" title="{}">{}</mark>').format(cls, "; ".join(titles), piece)
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:60] or "item"


def _secs(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") + " s"


def _safe_url(url: str | None) -> str | None:
    """Only http(s) URLs become links (a pack could carry `javascript:`)."""
    return url if url and re.match(r"https?://", url, re.IGNORECASE) else None


def _problem_keys(item: ItemResult) -> dict[tuple, list[str]]:
    """Evidence of non-passing findings, keyed by where it points, with the rule codes that cite it."""
    keys: dict[tuple, list[str]] = {}
    for result in item.regions.values():
        for finding in result.findings:
            if finding.status not in NON_PASSING:
                continue
            for ev in finding.evidence:
                if not ev.text:  # a window, gap, break or frame: a stretch or place, nothing read to mark
                    continue
                rules = keys.setdefault(_evidence_key(ev), [])
                if finding.rule not in rules:
                    rules.append(finding.rule)
    return keys


def _evidence_key(ev: Evidence | Mention) -> tuple:
    span = (ev.span.start, ev.span.end) if ev.span else None
    time = (ev.time.start_s, ev.time.end_s) if ev.time else None
    return (ev.channel, span, time)


def caption_spans(item: ItemResult) -> list[Span]:
    spans: list[Span] = []
    for key, rules in _problem_keys(item).items():
        channel, span, _ = key
        if channel == "caption" and span:
            spans.append(Span(span[0], span[1], "problem", "problem: " + ", ".join(rules)))
    for m in item.mentions:
        if m.channel != "caption" or m.span is None:
            continue
        if m.kind == "label" and not m.negated:
            spans.append(Span(m.span.start, m.span.end, "found", f"ad label '{m.term}'"))
        elif m.kind in ("insufficient", "denial"):
            spans.append(Span(m.span.start, m.span.end, "problem", f"{m.kind} '{m.term}'"))
        elif m.kind in ("signal", "brand"):
            spans.append(Span(m.span.start, m.span.end, "signal", f"{m.kind} '{m.term}'"))
    return spans


def segment_spans(item: ItemResult, segment_id: str, problems: dict[tuple, list[str]]) -> list[Span]:
    spans = []
    for m in item.mentions:
        if m.segment != segment_id or m.span is None:
            continue
        rules = problems.get(_evidence_key(m))
        if rules or m.kind in ("insufficient", "denial"):
            spans.append(Span(m.span.start, m.span.end, "problem", "problem: " + ", ".join(rules or [m.kind])))
        elif m.kind == "label" and not m.negated:
            spans.append(Span(m.span.start, m.span.end, "found", f"ad label '{m.term}'"))
        elif m.kind in ("signal", "brand"):
            spans.append(Span(m.span.start, m.span.end, "signal", f"{m.kind} '{m.term}'"))
    return spans


def excerpt(caption: str, start: int, end: int, title: str, context: int = 40) -> Markup:
    """The caption around characters start..end, with that span marked as a problem."""
    lo = max(0, start - context)
    hi = min(len(caption), end + context)
    return (Markup("…" if lo > 0 else "") + highlight(caption[lo:hi], [Span(start - lo, end - lo, "problem", title)])
            + Markup("…" if hi < len(caption) else ""))


def provenance(ev: Evidence) -> str | None:
    """How a piece of evidence was found, compactly: the matcher, the pack and vocabulary term, the
    raw score (a fuzzy ratio is not a confidence), e.g. "fuzzy · gb-asa@1.2.0 'ad' · score 91"."""
    if ev.matcher is None:
        return None
    parts = [ev.matcher]
    if ev.pack:
        parts.append(f"{ev.pack} '{ev.term}'" if ev.term else ev.pack)
    elif ev.term:
        parts.append(f"'{ev.term}'")
    if ev.score is not None:
        parts.append(f"score {ev.score:g}")
    return " · ".join(parts)


def evidence_view(ev: Evidence, caption: str | None) -> dict:
    """What the template shows for one piece of evidence."""
    view: dict = {"channel": ev.channel, "kind": ev.kind, "text": ev.text, "reason": ev.reason, "term": ev.term,
                  "disguise": ev.disguise, "how": provenance(ev), "confidence": ev.confidence, "time": None,
                  "excerpt": None, "line": None, "media": ev.media, "overlay": ev.overlay, "thumbnail": ev.thumbnail,
                  "frame": ev.frame}
    if ev.time is not None:
        view["time"] = f"{_secs(ev.time.start_s)} – {_secs(ev.time.end_s)}"
    if ev.channel == "caption" and ev.span is not None and caption is not None:
        start, end = ev.span.start, ev.span.end
        view["excerpt"] = excerpt(caption, start, end, ev.kind)
        view["where"] = f"characters {start}–{end}"
    elif ev.context and ev.context != ev.text:  # the transcript line or on-screen text the match is in
        spans = []
        if ev.span is not None and ev.context[ev.span.start:ev.span.end] == ev.text:
            spans = [Span(ev.span.start, ev.span.end, "problem", ev.kind)]
        view["line"] = highlight(ev.context, spans)
    return view


@dataclass
class Timeline:
    duration: float
    width: int = 960
    lanes: list[dict] = field(default_factory=list)
    ticks: list[dict] = field(default_factory=list)
    windows: list[dict] = field(default_factory=list)
    height: int = 0


LANE_H = 26
LABEL_W = 96
TOP = 8


def timeline(item: ItemResult) -> Timeline | None:
    """An SVG-ready layout of timed segments and label mentions, or None when nothing is timed.

    The media's length is the one timing evidence names (`duration_s` of a window, gap or break),
    else the latest time seen; the shaded windows are the `window` evidence of the timing rules that
    did not pass (where the rule wanted the label). Both only shape the drawing, never a verdict.
    """
    segments = [s for s in item.segments if s.time is not None]
    mentions = [m for m in item.mentions if m.time is not None and m.kind in ("label", "insufficient", "denial")]
    if not segments and not mentions:
        return None
    ends = [s.time.end_s for s in segments] + [m.time.end_s for m in mentions]
    windows: set[tuple[float, float, str, str]] = set()
    for result in item.regions.values():
        for finding in result.findings:
            for ev in finding.evidence:
                if ev.duration_s is not None:
                    ends.append(ev.duration_s)
                if ev.kind == "window" and ev.time is not None and finding.status in NON_PASSING:
                    windows.add((ev.time.start_s, ev.time.end_s, finding.rule, ev.reason or ""))
    duration = max(ends) or 1.0
    tl = Timeline(duration=duration)
    top = TOP + (16 if windows else 0)
    plot_w = tl.width - LABEL_W - 16

    def x(t: float) -> float:
        return round(LABEL_W + plot_w * max(0.0, min(t, duration)) / duration, 2)

    problems = _problem_keys(item)
    lane_names = [c for c in TIMED_CHANNELS if any(s.channel == c for s in segments)]
    for row, channel in enumerate([*lane_names, "labels"]):
        bars = []
        if channel == "labels":
            for m in mentions:
                rules = problems.get(_evidence_key(m))
                cls = "problem" if rules or m.kind != "label" or m.negated else "found"
                what = f"{m.channel} {m.kind} '{m.text}'" + (f" ({', '.join(rules)})" if rules else "")
                bars.append({"cls": cls, "title": f"{_secs(m.time.start_s)}–{_secs(m.time.end_s)}: {what}",
                             "start": m.time.start_s, "end": m.time.end_s})
        else:
            for s in segments:
                if s.channel == channel:
                    bars.append({"cls": channel, "title": f"{_secs(s.time.start_s)}–{_secs(s.time.end_s)}: {s.text}",
                                 "start": s.time.start_s, "end": s.time.end_s})
        y = top + row * (LANE_H + 6)
        for bar in bars:
            bar["x"] = x(bar["start"])
            bar["w"] = max(round(x(bar["end"]) - bar["x"], 2), 2.0)
            bar["y"] = y
            bar["h"] = LANE_H
        tl.lanes.append({"name": channel, "y": y, "text_y": y + LANE_H / 2 + 4, "bars": bars})
    plot_bottom = top + len(tl.lanes) * (LANE_H + 6)
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600) if duration / s <= 10), 7200)
    t = 0.0
    while t <= duration + 1e-9:
        tl.ticks.append({"x": x(t), "label": _secs(t), "y1": top - 4, "y2": plot_bottom})
        t += step
    for start, end, rule, reason in sorted(windows):
        tl.windows.append({"x": x(start), "w": round(x(end) - x(start), 2), "y": top - 4, "h": plot_bottom - top + 4,
                           "label": f"{rule}: {reason}" if reason else rule,
                           # a window at the start is labelled from its left edge, one later from its right
                           "label_x": x(start) if start <= 0 else x(end), "anchor": "start" if start <= 0 else "end",
                           "label_y": top - 8})
    tl.height = plot_bottom + 22
    return tl


def _finding_view(finding: Finding, caption: str | None) -> dict:
    return {"f": finding, "evidence": [evidence_view(ev, caption) for ev in finding.evidence],
            "url": _safe_url(finding.source.url)}


def item_view(item: ItemResult, index: int) -> dict:
    problems = _problem_keys(item)
    regions = []
    for code, result in item.regions.items():
        bad = sorted((f for f in result.findings if f.status in NON_PASSING),
                     key=lambda f: (STATUS_RANK[f.status], f.rule))
        good = [f for f in result.findings if f.status not in NON_PASSING]
        regions.append({"code": code, "result": result, "bad": [_finding_view(f, item.caption) for f in bad],
                        "good": good})
    missing = []  # non-passing caption rules with nothing to point at (e.g. no label at all)
    for code, result in item.regions.items():
        for f in result.findings:
            if f.status in NON_PASSING and not any(ev.channel == "caption" and ev.span for ev in f.evidence) \
                    and any(c.channel == "caption" for c in f.coverage):
                missing.append({"region": code, "rule": f.rule, "status": f.status, "name": f.name})
    transcript = [{"segment": s, "time": f"{_secs(s.time.start_s)} – {_secs(s.time.end_s)}",
                   "text": highlight(s.text, segment_spans(item, s.id, problems))}
                  for s in sorted((s for s in item.segments if s.time is not None),
                                  key=lambda s: (s.time.start_s, s.time.end_s, s.id))]
    headline = None  # the worst problem that points into the caption, for the summary table
    for f in sorted((f for r in item.regions.values() for f in r.findings if f.status in NON_PASSING),
                    key=lambda f: (STATUS_RANK[f.status], f.rule)):
        ev = next((e for e in f.evidence if e.channel == "caption" and e.span), None)
        if ev is not None and item.caption is not None:
            headline = excerpt(item.caption, ev.span.start, ev.span.end, f.rule, context=24)
            break
    rules = sorted({f.rule for r in item.regions.values() for f in r.findings if f.status in NON_PASSING})
    return {
        "item": item,
        "anchor": f"item-{index + 1}-{_slug(item.id)}",
        "caption": highlight(item.caption, caption_spans(item)) if item.caption is not None else None,
        "regions": regions,
        "missing": missing,
        "headline": headline,
        "timeline": timeline(item),
        "transcript": transcript,
        "rules": rules,
        "problem_codes": [(f.rule, f.status, code) for code, r in item.regions.items()
                          for f in sorted(r.findings, key=lambda f: (STATUS_RANK[f.status], f.rule))
                          if f.status in NON_PASSING],
        "region_tokens": " ".join(item.regions),
        "rv_tokens": " ".join(f"{code}:{r.verdict}" for code, r in item.regions.items()),
    }


def summary_view(items: list[dict]) -> dict:
    by_verdict = Counter(i["item"].verdict for i in items)
    regions: dict[str, Counter] = {}
    rules: dict[str, dict] = {}
    for view in items:
        for code, result in view["item"].regions.items():
            regions.setdefault(code, Counter())[result.verdict] += 1
            for f in result.findings:
                if f.status not in NON_PASSING:
                    continue
                row = rules.setdefault(f.rule, {"rule": f.rule, "name": f.name, "pack": f.pack, "region": code,
                                                "fail": set(), "warn": set(), "inconclusive": set()})
                row[f.status].add(view["anchor"])
    rule_rows = [{**row, "fail": len(row["fail"]), "warn": len(row["warn"]),
                  "inconclusive": len(row["inconclusive"])} for row in rules.values()]
    rule_rows.sort(key=lambda r: (-r["fail"], -r["inconclusive"], -r["warn"], r["rule"]))
    return {
        "total": len(items),
        "by_verdict": [(v, by_verdict.get(v, 0)) for v in VERDICT_ORDER],
        "by_region": [(code, [(v, regions[code].get(v, 0)) for v in VERDICT_ORDER], sum(regions[code].values()))
                      for code in sorted(regions)],
        "by_rule": rule_rows,
    }


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "j2", "svg"), default_for_string=True, default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["secs"] = _secs
    env.globals["reviews_of"] = lambda finding: getattr(finding, "reviews", None) or []  # review decisions
    return env


def _csp_hash(source: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii")


def render_html(report: Report, images: dict[str, str] | None = None) -> str:
    """The page; `images` maps thumbnail names to data: URIs (the page fetches nothing)."""
    order = sorted(range(len(report.items)), key=lambda i: (VERDICT_RANK.get(report.items[i].verdict, 0), i))
    items = [item_view(report.items[i], i) for i in order]
    script = (TEMPLATES / "report.js").read_text("utf-8")
    if "</" in script:
        raise ValueError("report.js must not contain '</' (it is inlined in a <script> element)")
    env = _environment()
    all_rules = sorted({r for view in items for r in view["rules"]})
    return env.get_template("report.html.j2").render(
        report=report,
        items=items,
        summary=summary_view(items),
        regions=sorted({code for view in items for code in view["item"].regions}),
        verdicts=list(VERDICT_ORDER),
        rules=all_rules,
        options=sorted((k, v) for k, v in report.options.items() if v not in (None, [], {}, "")),
        script=Markup(script),
        script_hash=_csp_hash(script),
        images=images or {},
        changes=_changes_view(report),
    )


def _changes_view(report: Report) -> dict | None:
    """What changed since the previous report in the same folder (report/changes.py), or None."""
    changes = getattr(report, "changes", None)
    if changes is None:
        return None
    from complianceguard.report.changes import describe

    return {"changes": changes, "groups": describe(changes)}


def thumbnail_uris(report: Report, out_dir: Path) -> dict[str, str]:
    """The thumbnails written beside the report, as data: URIs to inline."""
    names = {e.thumbnail for i in report.items for r in i.regions.values() for f in r.findings
             for e in f.evidence if e.thumbnail}
    return {name: "data:image/jpeg;base64," + base64.b64encode((out_dir / name).read_bytes()).decode("ascii")
            for name in sorted(names) if (out_dir / name).is_file()}


def write(report: Report, out_dir: Path) -> Path:
    path = out_dir / "report.html"
    atomic_write(path, render_html(report, thumbnail_uris(report, out_dir)))
    return path
