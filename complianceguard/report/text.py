"""Plain words for creators: what is wrong, where, and the exact fix."""

from __future__ import annotations

import click

from complianceguard.model import Evidence, Finding, ItemResult

MARKS = {"pass": ("PASS", "green"), "fail": ("FAIL", "red"), "warn": ("WARN", "yellow"),
         "inconclusive": ("INCONCLUSIVE", "magenta"), "error": ("ERROR", "red"),
         "not-applicable": ("n/a", "white")}


def _mark(status: str) -> str:
    word, colour = MARKS[status]
    return click.style(word, fg=colour, bold=True)


def _why(ev: Evidence) -> str:
    """The evidence's reason and disguise, as a parenthesis (empty when it has neither)."""
    said = [x for x in (ev.reason, *ev.disguise) if x]
    return f" ({'; '.join(said)})" if said else ""


def _where(finding: Finding, caption: str | None) -> list[str]:
    lines = []
    for ev in finding.evidence:
        if ev.channel == "caption" and ev.span is not None and caption is not None:
            start, end = ev.span.start, ev.span.end
            before = caption[max(0, start - 20):start].replace("\n", " ")
            after = caption[end:end + 20].replace("\n", " ")
            lines.append(f"at characters {start}-{end}: …{before}[{caption[start:end]}]{after}…{_why(ev)}")
        elif ev.time is not None and not ev.text:  # a window, gap or break: a stretch of the media
            lines.append(f"{ev.channel} {ev.kind} at {ev.time.start_s:g}-{ev.time.end_s:g} s{_why(ev)}")
        elif ev.time is not None:
            line = f" in \"{ev.context}\"" if ev.context and ev.context != ev.text else ""
            lines.append(f"{ev.channel} at {ev.time.start_s:g}-{ev.time.end_s:g} s: \"{ev.text}\"{line}"
                         + (f" (match confidence {ev.confidence:.2f})" if ev.confidence < 1 else "") + _why(ev))
        elif ev.channel == "metadata":
            lines.append(ev.text)
    return lines


def render_item(item: ItemResult, verbose: bool = False, show_fix: bool = False) -> str:
    out = [f"{item.id}: {_mark(item.verdict)}"]
    if item.errors:
        out.extend(f"  {e}" for e in item.errors)
    if item.language:
        out.append(f"  content language: {item.language} ({item.language_source})")
    for region, result in item.regions.items():
        out.append(f"\n{region} {_mark(result.verdict)}  ({result.pack}; {result.applicability})")
        for finding in result.findings:
            if finding.status in ("pass", "not-applicable") and not verbose:
                continue
            out.append(f"  {_mark(finding.status)} {finding.rule} {finding.name}: {finding.message}")
            out.extend(f"      {line}" for line in _where(finding, item.caption))
            if finding.fix:
                out.append(f"      fix: {finding.fix}")
            src = finding.source
            section = f", {src.section}" if src.section else ""
            out.append(f"      source: {src.title}{section} ({src.publisher}, {src.year or 'n.d.'}) {src.url}"
                       f" [confidence: {finding.confidence}]")
        if show_fix and region in item.fixed_caption:
            out.append(f"  corrected caption for {region}: {item.fixed_caption[region]}")
    return "\n".join(out)
