"""Run the pass/fail cases written in pack files (as SQLFluff's YAML test cases).

A `pass` case must leave its rule passing (or not applicable); a `fail` case must make it fail
or warn. `complianceguard rules test` and the test suite both use this.
"""

from __future__ import annotations

from dataclasses import dataclass

from complianceguard.engine import Engine
from complianceguard.extract import described
from complianceguard.model import Finding, Submission
from complianceguard.packs.loader import PackLibrary, ResolvedPack
from complianceguard.packs.schema import Case


@dataclass(frozen=True)
class CaseResult:
    pack: str
    rule: str
    expected: str  # pass | fail
    case: Case
    finding: Finding | None

    @property
    def ok(self) -> bool:
        if self.finding is None:
            return False
        if self.expected == "pass":
            return self.finding.status in ("pass", "not-applicable")
        return self.finding.status in ("fail", "warn")

    def describe(self) -> str:
        got = self.finding.status if self.finding else "rule not evaluated"
        detail = f" ({self.finding.message})" if self.finding else ""
        return f"{self.pack} {self.rule} expected {self.expected}, got {got}: {self.case.caption!r}{detail}"


def run_cases(library: PackLibrary, resolved: ResolvedPack) -> list[CaseResult]:
    pack = resolved.pack
    if pack.abstract or not pack.region:
        return []
    engine = Engine(library, pinned={pack.region: resolved})
    results = []
    for rule in pack.rules:
        for expected, cases in (("pass", rule.cases.pass_), ("fail", rule.cases.fail)):
            for number, case in enumerate(cases, 1):
                submission = Submission(
                    id=f"{rule.code}-{expected}-{number}", regions=[pack.region],
                    **case.model_dump(exclude={"note", "media", "duration_s", "overlay", "speech"}),
                )
                extraction = described(
                    submission, case.media, case.duration_s,
                    [t.as_tuple() for t in case.overlay], [t.as_tuple() for t in case.speech],
                )
                item = engine.evaluate(submission, extraction)
                findings = item.regions[pack.region].findings
                finding = next((f for f in findings if f.rule == rule.code), None)
                results.append(CaseResult(resolved.ref, rule.code, expected, case, finding))
    return results
