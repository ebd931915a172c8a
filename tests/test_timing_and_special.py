"""The time-based and special-label check kinds, on described media (no OCR/ASR needed)."""

from __future__ import annotations

import pytest

from complianceguard.extract import described
from complianceguard.extract.caption import caption_layout
from complianceguard.model import CharSpan, Mention, Submission, TimeSpan
from complianceguard.packs.kinds import CHECKS, Context
from complianceguard.packs.schema import Rule

video_timing = CHECKS["video-timing"].evaluate
special_label = CHECKS["special-label"].evaluate

INDIA_TIERS = [{"max_duration_s": 15, "min_visible_s": 3}, {"max_duration_s": 120, "min_fraction": 0.333},
               {"min_fraction": 1.0}]


def rule(check: str, params: dict, scopes=("overlay",)) -> Rule:
    return Rule(code="TT101", name="t", check=check, scopes=list(scopes), params=params, message="m", why="w",
                example={"bad": "b", "good": "g"}, fix="f", source={"ref": "s"}, confidence="high")


def context(duration: float | None, label_times: list[tuple[float, float]], media=frozenset({"video"}),
            read=True, **post) -> Context:
    submission = Submission(id="t", regions=["IN"], caption="x", **post)
    extraction = described(submission, next(iter(media), None), duration, [], [])
    coverage = dict(extraction.coverage)
    if not read:
        coverage.pop("overlay", None)
    mentions = [Mention(kind="label", term="ad", language="en", segment=f"overlay:{i}", channel="overlay",
                        text="#ad", time=TimeSpan(start_s=a, end_s=b)) for i, (a, b) in enumerate(label_times)]
    return Context(submission, caption_layout("x", "instagram"), mentions, "en", coverage, media, duration)


@pytest.mark.parametrize("duration, times, expected", [
    (10, [(0, 2)], "fail"),          # up to 15 s: 3 s needed
    (10, [(0, 4)], "pass"),
    (10, [(0, 1.5), (5, 7)], "pass"),  # 3.5 s in total, in two showings
    (60, [(0, 15)], "fail"),         # 15 s-2 min: a third (20 s)
    (60, [(0, 20)], "pass"),
    (300, [(0, 295)], "fail"),       # longer: the whole video (5 s short)
    (300, [(0, 299)], "pass"),       # ... within the 2 s that frame sampling leaves
    (10, [], "fail"),
])
def test_india_tiers(duration, times, expected):
    outcome = video_timing(context(duration, times), rule("video-timing", {"tiers": INDIA_TIERS}))
    assert outcome.status == expected, outcome.detail


def test_start_window_names_the_interval():
    outcome = video_timing(context(60, [(50, 53)]), rule("video-timing", {"start_within_s": 3}))
    assert outcome.status == "fail" and "50-53 s" in outcome.detail and "first 3 s" in outcome.detail
    assert outcome.evidence[0].time == TimeSpan(start_s=50, end_s=53)


def test_repeat_every_and_end_window():
    params = {"repeat_every_s": 300, "end_within_s": 10}
    passed = video_timing(context(900, [(0, 5), (290, 295), (590, 595), (880, 900)]), rule("video-timing", params))
    assert passed.status == "pass"
    failed = video_timing(context(900, [(0, 5), (590, 595), (880, 900)]), rule("video-timing", params))
    assert failed.status == "fail" and "from 5 s to 590 s" in failed.detail


def test_timing_not_applicable_without_video_and_inconclusive_when_unread():
    assert video_timing(context(None, [], media=frozenset()), rule("video-timing", {"min_visible_s": 3})).status \
        == "not-applicable"
    unknown_duration = context(None, [])
    assert video_timing(unknown_duration, rule("video-timing", {"min_visible_s": 3})).status == "inconclusive"


def test_special_label_only_when_declared():
    retouch = rule("special-label", {"flag": "retouched"}, scopes=("caption", "overlay"))
    plain = context(None, [], media=frozenset())
    assert special_label(plain, retouch).status == "not-applicable"
    declared = context(None, [], media=frozenset(), retouched=True)
    assert special_label(declared, retouch).status == "fail"
    mention = Mention(kind="special", category="retouched", term="image retouchée", language="fr", segment="caption",
                      channel="caption", text="Image retouchée", span=CharSpan(start=0, end=15))
    labelled = Context(declared.submission, declared.layout, [mention], "fr", declared.coverage)
    assert special_label(labelled, retouch).status == "pass"
