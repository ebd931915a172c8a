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


def esc(text: str) -> str:
    """Backslash-escape the Markdown punctuation that matters here; newlines become spaces (one table row, one line)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _fence(text: str) -> str:
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
    rows = sorted(((item, region, res) for item in report.items for region, res in item.regions.items()
                   if res.verdict != "pass"), key=lambda t: rank[t[2].verdict])
    if rows:
        out += ["| Post | Region | Verdict | Rules |", "|---|---|---|---|"]
        for item, region, res in rows:
            codes = ", ".join(f"{f.rule} ({f.status})" for f in res.findings if f.status in SHOWN)
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
    errors = [*report.errors, *(e for item in report.items for e in item.errors)]
    if errors:
        out += ["## Input errors", ""] + [f"- {esc(e)}" for e in errors] + [""]
    return "\n".join(out).rstrip("\n") + "\n"


def write(report: Report, out_dir: Path) -> Path:
    path = out_dir / "report.md"
    atomic_write(path, report_markdown(report))
    return path
