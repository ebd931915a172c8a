"""One pass per post (issue #16): what no region pack changes is analysed once per post, and the
verdicts are the very ones of analysing every region's pack on its own; mentions say how they were
found (issue #20); speech in its own language is matched with that language's words (issue #15)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from complianceguard import analyze
from complianceguard.analyze import (Analyzer, _brand_mentions, _brand_names, _doc, normalize, tokenizer_language,
                                     vocabulary_language)
from complianceguard.batch.work import Checker, ScanSettings
from complianceguard.commercial import signal_mentions
from complianceguard.extract.normalize import HANDLE
from complianceguard.model import ItemResult, Segment, Submission
from complianceguard.report.view import expand_item
from complianceguard.scan import plan
from complianceguard.signal_model import model_mentions
from complianceguard.sponsor_reads import read_mentions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from caption_throughput import write_captions  # noqa: E402 - the benchmark's own generator

GENERATED = 1000  # captions: every style, language and region mix of the benchmark, in seconds


def per_pack_mentions(analyzer: Analyzer, segments: list[Segment], pack, language: str | None,
                      submission: Submission) -> list:
    """The slow way, as the analyzer worked before one pass: everything found again for every
    region's pack, nothing shared between packs (the oracle the one-pass analysis must equal)."""
    found = []
    tagged = frozenset(h.lower().lstrip("@") for s in segments if s.channel in ("caption", "overlay")
                       for h in HANDLE.findall(s.text))
    for segment in segments:
        if segment.channel == "metadata" or not segment.text:
            continue
        own = segment.language or language
        normalized = normalize(segment.text)
        found.extend(analyzer._segment_mentions(segment, normalized, pack, tokenizer_language(own, normalized.text),
                                                vocabulary_language(own), _brand_names(submission), tagged))
        found.extend(_brand_mentions(segment, submission))
    cues = signal_mentions(segments, found, lambda text: _doc(tokenizer_language(language, text), text))
    denials = [m for m in found if m.kind == "denial" and m.span]
    found.extend(c for c in cues if not (c.span and any(
        d.segment == c.segment and d.span.start < c.span.end and c.span.start < d.span.end for d in denials)))
    found.extend(r.model_copy(update={"matcher": "read"}) for r in read_mentions(segments, submission.brand))
    if not any(m.kind in ("signal", "brand", "label", "insufficient") and not m.negated for m in found):
        found.extend(model_mentions(segments, vocabulary_language(language)))
    return found


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return plan([write_captions(tmp_path_factory.mktemp("posts") / "posts.csv", GENERATED)])


def _checker(library, cwd: Path) -> Checker:
    settings = ScanSettings(read_media=False, asr_backend="none", ocr_fps=None, cwd=str(cwd))
    return Checker(settings.engine(library), None, settings.cwd)


def test_one_pass_gives_every_item_exactly_as_per_pack_analysis(library, generated, monkeypatch, tmp_path):
    fast = _checker(library, tmp_path)
    fast_items = [fast.check(unit) for unit in generated]
    slow = _checker(library, tmp_path)
    analyzer = slow.engine.analyzer
    monkeypatch.setattr(analyzer, "mentions", lambda segments, pack, language, submission: per_pack_mentions(
        analyzer, segments, pack, language, submission))
    monkeypatch.setattr(analyze, "_classify", analyze._classify.__wrapped__)  # language told afresh for each post
    slow_items = [slow.check(unit) for unit in generated]
    verdicts = {r.verdict for r in fast_items}
    assert {"pass", "fail", "warn"} <= verdicts and "error" not in verdicts  # the generator's mix, all checked
    assert [r.verdict for r in fast_items] == [r.verdict for r in slow_items]
    assert [r.item_json for r in fast_items] == [r.item_json for r in slow_items]  # mentions and findings too


def test_every_generated_record_expands_to_the_item_the_engine_wrote(library, generated, tmp_path):
    """The compact record skips re-expanding findings with the engine's keys: it must stay lossless."""
    checker = _checker(library, tmp_path)
    for unit in generated[:300]:
        result = checker.check(unit)
        item = ItemResult.model_validate(expand_item(json.loads(result.item_json), checker.catalogue))
        assert checker.engine.evaluate(_submission(unit, checker)) == item


def _submission(unit, checker) -> Submission:
    from complianceguard.submission import load_post

    return load_post(unit.raw, checker.regions).submission


@pytest.fixture(scope="module")
def de(library):
    return library.for_region("DE")


def test_each_mention_says_how_it_was_found(library, de):
    analyzer = Analyzer([de])
    post = Submission(id="t", regions=["DE"], caption="", brand_handles=["@glow"])
    segments = [Segment(id="caption", channel="caption", text="#ad Neue Creme @glow, mit code GLOW20 und 20 % Rabatt"),
                Segment(id="speech:1:1", channel="speech", text="this video is sponsered by glow")]
    found = {(m.matcher, m.kind, m.text) for m in analyzer.mentions(segments, de, "de", post)}
    assert ("phrase", "insufficient", "#ad") in found or ("phrase", "label", "#ad") in found
    assert ("pattern", "signal", "code GLOW20") in found  # the discount-code token pattern
    assert ("brand", "brand", "@glow") in found
    assert any(matcher == "cue" for matcher, _, _ in found)
    fuzzy = [m for m in analyzer.mentions(segments, de, "de", post) if m.matcher == "fuzzy"]
    assert fuzzy and all(85 <= m.score <= 100 for m in fuzzy)  # the raw ratio, beside the confidence
    assert all(m.score is None for m in analyzer.mentions(segments, de, "de", post) if m.matcher != "fuzzy")


def test_the_trained_signal_says_it_is_the_model(library, de):
    analyzer = Analyzer([de])
    caption = "Obsessed with this new collection, go check out their website for the new drop, link in my bio"
    post = Submission(id="t", regions=["DE"], caption=caption)
    found = analyzer.mentions([Segment(id="caption", channel="caption", text=caption)], de, "en", post)
    assert all(m.matcher is not None for m in found)
    assert {m.matcher for m in found if m.term.startswith("commercial model")} <= {"model"}


def test_speech_in_its_own_language_is_matched_with_that_languages_words(library, de):
    """#15: a German sponsor read in an English post: the German denial is the speech's words."""
    analyzer = Analyzer([de])
    post = Submission(id="t", regions=["DE"], caption="Morning routine")
    heard = Segment(id="speech:1:1", channel="speech", text="keine Werbung, wir lieben es", language="de")
    unknown_language = heard.model_copy(update={"language": None})
    denials = [m for m in analyzer.mentions([heard], de, "en", post) if m.kind == "denial"]
    assert [(m.text, m.language) for m in denials] == [("keine Werbung", "de")]
    assert not [m for m in analyzer.mentions([unknown_language], de, "en", post) if m.kind == "denial"]
