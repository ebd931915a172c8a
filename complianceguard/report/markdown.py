"""A short Markdown summary a creator or reviewer pastes into a ticket: the counts, a table of the
items that do not pass in each region with the rule codes, the fixes and corrected captions, the
input errors, and the not-legal-advice notice. Text from posts and packs is escaped, so an item id
or a message cannot break the table or inject markup.
"""

from __future__ import annotations

import re
from pathlib import Path

from complianceguard.model import VERDICT_ORDER, Report
from complianceguard.report import atomic_write

SHOWN = ("fail", "inconclusive", "warn")
# Escaped: what could end a table cell, make a link, emphasis or HTML. Backticks are kept: packs
# write labels in fixes as `#ad`, which renders as code; a stray one only changes local styling.
_SPECIAL = re.compile(r"([\\*_\[\]<>|~])")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # ESC ]0; ... would drive a terminal that `cat`s the file


def _visible(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def esc(text: str) -> str:
    """Backslash-escape the Markdown punctuation that matters here; newlines become spaces (one table row, one line)."""
    return _SPECIAL.sub(r"\\\1", _visible(" ".join(str(text).split())))


def _fence(text: str) -> str:
    text = _visible(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def report_markdown(report: Report) -> str:
    rank = {v: n for n, v in enumerate(VERDICT_ORDER)}
    counts = ", ".join(f"{report.summary[v]} {v}" for v in VERDICT_ORDER if report.summary.get(v)) or "none"
    packs = ", ".join(f"{esc(p.id)}@{esc(p.version)}" for p in report.packs) or "none"
    out = [
        "# Ad-disclosure check: complianceguard report", "",
        f"> **Not legal advice.** {esc(report.notice)}", "",
        f"**{len(report.items)} posts:** {counts}  ",
        f"Generated {esc(report.generated_at)} by {esc(report.tool.name)} {esc(report.tool.version)}; "
        f"packs: {packs}. SHA-256 of every pack and input file: see report.json.", "",
    ]
    out += _changes(report)
    rows = sorted(((item, region, res) for item in report.items for region, res in item.regions.items()
                   if res.verdict != "pass"), key=lambda t: rank[t[2].verdict])
    if rows:
        out += ["| Post | Region | Verdict | Rules |", "|---|---|---|---|"]
        for item, region, res in rows:
            codes = ", ".join(f"{f.rule} ({f.status}{_decided(f)})" for f in res.findings if f.status in SHOWN)
            out.append(f"| {esc(item.id)} | {esc(region)} | **{res.verdict}** | {esc(codes)} |")
        out += ["", "## Fixes", ""]
        for item, region, res in rows:
            fixes = list(dict.fromkeys((f.rule, f.fix) for f in res.findings if f.status in SHOWN and f.fix))
            if not fixes and region not in item.fixed_caption:
                continue
            out.append(f"**{esc(item.id)}** ({esc(region)})")
            out += [f"- {esc(code)}: {esc(fix)}" for code, fix in fixes]
            if region in item.fixed_caption:
                out += ["", "Corrected caption:", "", _fence(item.fixed_caption[region])]
            out.append("")
    else:
        out += ["Every post passes in every region checked.", ""]
    out += _decisions(report)
    errors = [*report.errors, *(e for item in report.items for e in item.errors)]
    if errors:
        out += ["## Input errors", ""] + [f"- {esc(e)}" for e in errors] + [""]
    return "\n".join(out).rstrip("\n") + "\n"


def _changes(report: Report) -> list[str]:
    """What changed since the previous report in the same folder (report/changes.py), at the top."""
    changes = getattr(report, "changes", None)
    if changes is None:
        return []
    from complianceguard.report.changes import describe

    out = ["## What changed since the previous report", "",
           f"Compared with the report.json this scan replaced (generated {esc(changes.previous_generated_at)}, "
           f"SHA-256 {changes.previous_sha256[:12]}…).", ""]
    groups = describe(changes)
    for heading, lines in groups:
        out += [f"**{esc(heading)}** ({len(lines)})", ""] + [f"- {esc(line)}" for line in lines] + [""]
    if not groups:
        out += ["Nothing changed.", ""]
    return out


def _decided(finding: object) -> str:
    """'; overruled by NAME' when a reviewer's decision stands on the finding."""
    from complianceguard.review import standing

    note = standing(finding)
    return f"; {'confirmed' if note.decision == 'confirm' else 'overruled'} by {note.reviewer}" if note else ""


def _decisions(report: Report) -> list[str]:
    """Every reviewer's decision beside the finding it is about, machine status kept."""
    rows = []
    for item in report.items:
        for region, res in item.regions.items():
            for f in res.findings:
                for r in getattr(f, "reviews", None) or []:
                    state = "applied" if r.state == "applied" else f"dropped: {r.note or 'the post changed'}"
                    rows.append(f"| {esc(item.id)} | {esc(region)} | {esc(f.rule)} | {esc(f.status)} | "
                                f"**{esc(r.decision)}** | {esc(r.reviewer)} | {esc(r.time)} | {esc(r.reason)} | "
                                f"{esc(state)} |")
    if not rows:
        return []
    return ["## Review decisions", "",
            "| Post | Region | Rule | Machine status | Decision | Reviewer | When | Reason | State |",
            "|---|---|---|---|---|---|---|---|---|", *rows, ""]


def write(report: Report, out_dir: Path) -> Path:
    path = out_dir / "report.md"
    atomic_write(path, report_markdown(report))
    return path
