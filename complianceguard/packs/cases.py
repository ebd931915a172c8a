"""Run the pass/fail cases written in pack files (as SQLFluff's YAML test cases).

A `pass` case must leave its rule passing (or not applicable); a `fail` case must make it fail
or warn. `complianceguard rules test` and the test suite both use this.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from complianceguard.engine import Engine
from complianceguard.extract import Extraction, described
from complianceguard.model import Finding, ItemResult, Submission
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
        if self.case.status is not None:
            return self.finding.status == self.case.status
        return self.finding.status in ("fail", "warn")

    def describe(self) -> str:
        got = self.finding.status if self.finding else "rule not evaluated"
        detail = f" ({self.finding.message})" if self.finding else ""
        return f"{self.pack} {self.rule} expected {self.expected}, got {got}: {self.case.caption!r}{detail}"


FRAME_SUFFIX = {"image": ".jpg", "video": ".mp4", "audio": ".mp3"}


def frame_files(case: Case) -> list[str]:
    """A case with media describes that many files (`frames`, one when not given), in order;
    nothing is read from them. A story case without `frames` is a one-frame story, so the
    every-frame rules judge its one frame instead of finding no frames to judge."""
    if case.media not in FRAME_SUFFIX:
        return []
    return [f"frame-{n}{FRAME_SUFFIX[case.media]}" for n in range(1, (case.frames or 1) + 1)]


def on_frames(case: Case, submission: Submission, extraction: Extraction) -> Extraction:
    """Put each described text on the frame it names (`frame: 2`); a one-frame post's texts are on it."""
    if not submission.media:
        return extraction
    by_id = {f"{channel}:{n}": item for channel, items in (("overlay", case.overlay), ("speech", case.speech))
             for n, item in enumerate(items, 1)}
    segments = []
    for segment in extraction.segments:
        item = by_id.get(segment.id) if segment.media == "described" else None
        frame = item.frame if item and item.frame else (1 if item and len(submission.media) == 1 else None)
        segments.append(segment.model_copy(update={"media": submission.media[frame - 1]}) if frame else segment)
    return replace(extraction, segments=segments)


def evaluate_case(engine: Engine, case: Case, region: str, submission_id: str = "post") -> ItemResult:
    """The item a case describes, checked for one region: its media are the described frames and
    texts (nothing is read from files). Pack cases and the tests that write posts as cases use it."""
    submission = Submission(
        id=submission_id, regions=[region], media=frame_files(case),
        **case.model_dump(exclude={"note", "status", "media", "duration_s", "overlay", "speech", "frames"}),
    )
    extraction = on_frames(case, submission, described(
        submission, case.media, case.duration_s,
        [t.as_tuple() for t in case.overlay], [t.as_tuple() for t in case.speech],
    ))
    return engine.evaluate(submission, extraction)


def run_cases(library: PackLibrary, resolved: ResolvedPack) -> list[CaseResult]:
    pack = resolved.pack
    if pack.abstract or not pack.region:
        return []
    engine = Engine(library, pinned={pack.region: resolved})
    results = []
    for rule in pack.rules:
        for expected, cases in (("pass", rule.cases.pass_), ("fail", rule.cases.fail)):
            for number, case in enumerate(cases, 1):
                item = evaluate_case(engine, case, pack.region, f"{rule.code}-{expected}-{number}")
                findings = item.regions[pack.region].findings
                finding = next((f for f in findings if f.rule == rule.code), None)
                results.append(CaseResult(resolved.ref, rule.code, expected, case, finding))
    return results
