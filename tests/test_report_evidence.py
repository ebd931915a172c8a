"""Evidence says one thing per field (schema 2.1), older reports still render, the HTML report shows
how each mention was found and draws timing windows from the evidence, and every check kind's usual
outcomes come from the check-kind registry.

tests/data/old-reports/ holds two reports written by complianceguard before 2.1 (at commit 4a907c3,
schema 2.0 and the same items as 1.0): eight pack-case posts whose evidence carries 2.0's one
`note` in each of its meanings (the line a match is in, a gap, a break, a frame without a label,
the title, a disguise, a sponsor read's cue score, a placement's reason).
"""

from __future__ import annotations

import inspect
import json

import pytest
from click.testing import CliRunner

from complianceguard.cli import main
from complianceguard.engine import Engine
from complianceguard.errors import InputError
from complianceguard.extract import described
from complianceguard.model import REPORT_SCHEMA_VERSION, Evidence, ItemResult, Report, Submission, ToolInfo
from complianceguard.packs.kinds import CHECKS
from complianceguard.packs.loader import PackLibrary
from complianceguard.report import load_report, parse_report
from complianceguard.report.html import render_html, timeline
from complianceguard.report.json_report import report_json
from complianceguard.report.text import render_item
from complianceguard.report.view import kind_outcomes, library_catalogue, pack_catalogue
from conftest import ROOT
from report_schema import reports_match_the_schema, validate_report  # noqa: F401 - autouse

OLD_REPORTS = ROOT / "tests" / "data" / "old-reports"
FORMATS = "json,csv,md,junit,sarif,html"


def video_item(engine: Engine, overlay: list[tuple], duration_s: float = 30.0, region: str = "GB") -> ItemResult:
    """A paid video post whose on-screen text is described (no media is read)."""
    submission = Submission(id="video", platform="youtube", regions=[region], relationship="paid",
                            caption="My morning routine with @glowskincare")
    return engine.evaluate(submission, described(submission, "video", duration_s, overlay, []))


def evidence(item: ItemResult) -> list[tuple[str, Evidence]]:
    return [(f.rule, e) for r in item.regions.values() for f in r.findings for e in f.evidence]


# ------------------------------------------------------------------------ one meaning per field


def test_a_label_on_screen_carries_its_line_and_how_it_was_found(engine):
    item = video_item(engine, [("Sponsored: #ad for Glow", 12, 20)])
    (rule, ev), *_ = [(r, e) for r, e in evidence(item) if e.kind == "label" and e.channel == "overlay"]
    assert ev.context == "Sponsored: #ad for Glow" and ev.context[ev.span.start:ev.span.end] == ev.text == "#ad"
    assert ev.matcher == "phrase" and ev.pack == item.regions["GB"].pack and ev.term == "ad"
    assert ev.reason is None and ev.disguise == []


def test_timing_rules_give_their_window_gap_and_media_length_as_fields(engine):
    item = video_item(engine, [("#ad", 16, 20)])
    windows = [(r, e) for r, e in evidence(item) if e.kind == "window"]
    gb109 = [e for r, e in windows if r == "GB109"]
    assert gb109, windows
    assert (gb109[0].time.start_s, gb109[0].time.end_s) == (0.0, 10)
    assert gb109[0].duration_s == 30.0 and gb109[0].reason == "a label must begin within the first 10 s"
    assert gb109[0].text == "" and gb109[0].context is None


def test_a_negated_or_disguised_caption_label_keeps_reason_and_disguise_apart(check):
    item = check("This is not an #ad, just love it", "GB")
    negated = [e for _, e in evidence(item) if e.reason == "negated"]
    assert negated and all(e.context is None and e.disguise == [] for e in negated)
    item = check("#\u0430d Loving my new serum", "GB")  # a Cyrillic a
    disguised = [e for _, e in evidence(item) if e.disguise]
    assert disguised and "Cyrillic Small Letter A" in disguised[0].disguise[0]
    assert disguised[0].reason is None  # the disguise is not worded into another field


def test_the_text_report_words_a_gap_as_a_stretch_not_as_a_quoted_line(engine):
    item = video_item(engine, [("#ad", 16, 20)])
    text = render_item(item)
    assert "overlay window at 0-10 s (a label must begin within the first 10 s)" in text
    assert ' in "a label' not in text


# ------------------------------------------------------------------------------ older reports


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_a_stored_older_report_renders_in_every_format(version, tmp_path):
    stored = OLD_REPORTS / f"report-{version}.json"
    assert json.loads(stored.read_text("utf-8"))["schema_version"] == version
    assert '"note"' in stored.read_text("utf-8")  # the evidence as that version wrote it
    out = tmp_path / "rendered"
    result = CliRunner().invoke(main, ["report", "render", str(stored), "--format", FORMATS, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(result.output.strip().splitlines()) == len(FORMATS.split(","))  # a line per report written
    document = validate_report(out / "report.json")  # the current schema
    assert document["schema_version"] == REPORT_SCHEMA_VERSION
    old, again = load_report(stored), load_report(out / "report.json")
    assert again.items == old.items  # nothing read from the old report is lost writing it as 2.1
    page = (out / "report.html").read_text("utf-8")
    assert "no label for 1740 s" in page and "frame 2 of 3: no label" in page
    assert 'in the line &ldquo;<span class="excerpt">This episode is <mark class="problem"' in page


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_an_old_note_is_read_as_the_field_it_meant(version):
    report = load_report(OLD_REPORTS / f"report-{version}.json")
    found = {}
    for item in report.items:
        for rule, ev in evidence(item):
            found.setdefault((item.id, ev.kind, ev.channel), ev)
    line = found[("IN122-fail-1", "label", "speech")]
    assert line.context == "This episode is sponsored by Glow." and line.reason is None
    gap = found[("DE122-fail-1", "gap", "overlay")]
    assert gap.reason == "no label for 1740 s" and gap.context is None
    assert found[("IN122-fail-1", "break", "speech")].reason == "no disclosure before and after it"
    assert found[("DE121-fail-1", "missing-label", "overlay")].reason == "frame 2 of 3: no label"
    assert found[("GB111-fail-1", "title", "metadata")].reason == "the title, as declared"
    assert "Cyrillic Small Letter Ie" in found[("DE107-fail-2", "label", "caption")].reason
    cue = [e for _, e in evidence(next(i for i in report.items if i.id == "US109-pass-1"))
           if e.kind == "signal" and e.reason]
    assert cue and cue[0].reason.startswith("commercial (cue score") and cue[0].context is None


def test_a_2_0_report_from_a_later_minor_version_is_refused_in_one_line_if_it_has_unknown_fields():
    text = (OLD_REPORTS / "report-2.0.json").read_text("utf-8").replace('"schema_version": "2.0"',
                                                                         '"schema_version": "2.9"', 1)
    text = text.replace('"note":', '"remark":', 1)
    with pytest.raises(InputError) as caught:
        parse_report(text, "later.json")
    assert "later.json: not a complianceguard JSON report" in str(caught.value) and "\n" not in str(caught.value)


# ------------------------------------------------------------------------------ the HTML report


def _report(item: ItemResult, library: PackLibrary) -> Report:
    """The item as `report render` reads it back from report.json."""
    header = Report(tool=ToolInfo(name="complianceguard", version="test"), generated_at="2026-12-02T00:00:00+00:00",
                    notice="not legal advice", items=[item])
    return parse_report(report_json(_with_rules(header, library)))


def _with_rules(report: Report, library: PackLibrary) -> Report:
    from complianceguard.report.json_report import with_catalogue

    refs = [r.pack for i in report.items for r in i.regions.values()]
    return with_catalogue(report, library_catalogue(library, refs))


def test_the_html_report_shows_matcher_pack_term_and_score_beside_the_evidence(engine, library):
    item = video_item(engine, [("Sponsored: #ad for Glow", 12, 20)])
    page = render_html(_report(item, library))
    pack = item.regions["GB"].pack
    assert f'<span class="how" title="how it was found: matcher, pack and vocabulary term, raw score">phrase · ' \
           f"{pack} &#39;ad&#39;</span>" in page


def test_a_fuzzy_match_shows_its_raw_score():
    ev = Evidence(channel="speech", kind="label", text="this is an add", matcher="fuzzy", pack="gb-asa@1.3.0",
                  term="this is an ad", score=92.31, confidence=0.8)
    from complianceguard.report.html import provenance

    assert provenance(ev) == "fuzzy · gb-asa@1.3.0 'this is an ad' · score 92.31"
    assert provenance(Evidence(channel="caption", kind="brand", text="@glow", matcher="brand",
                               term="@glow")) == "brand · '@glow'"
    assert provenance(Evidence(channel="overlay", kind="gap", text="")) is None


def test_the_timeline_draws_the_window_from_the_evidence_not_the_message(engine):
    item = video_item(engine, [("#ad", 16, 20)])
    tl = timeline(item)
    assert tl.duration == 30.0  # the media's length from the evidence, though nothing is seen after 20 s
    labels = [w["label"] for w in tl.windows]
    assert "GB109: a label must begin within the first 10 s" in labels
    # The message no longer decides the drawing: the same item with other wording draws the same.
    reworded = item.model_copy(update={"regions": {code: r.model_copy(update={"findings": [
        f.model_copy(update={"message": "reworded"}) for f in r.findings]}) for code, r in item.regions.items()}})
    assert timeline(reworded).windows == tl.windows


# --------------------------------------------------------------------- outcomes from the registry


def test_every_registered_check_kind_declares_its_usual_outcomes():
    undeclared = [name for name, kind in CHECKS.items() if kind.usual is None]
    assert not undeclared, f"declare `usual=` in @check_kind for: {', '.join(undeclared)}"
    assert set(kind_outcomes()) == set(CHECKS)


def test_each_usual_message_is_one_its_kind_gives_word_for_word():
    """A declared message that drifted from the code would only cost compaction, silently: each is
    a literal of the kind's own module."""
    for name, kind in CHECKS.items():
        source = inspect.getsource(inspect.getmodule(kind.run))
        for status, message in kind.usual.items():
            assert status in ("pass", "fail", "warn", "inconclusive", "not-applicable"), (name, status)
            assert message in source, (name, message)


def test_the_catalogue_lists_the_kinds_outcomes_for_every_rule(library):
    for resolved in library.packs:
        if resolved.pack.abstract:
            continue
        for code, entry in pack_catalogue(resolved).items():
            assert entry.get("outcomes", {}) == dict(CHECKS[entry["check"]].usual), (resolved.ref, code)


def test_a_finding_with_its_kinds_usual_message_keeps_no_detail(check, library):
    from complianceguard.report.view import catalogue_of, record_of

    item = check("#ad Loving it", "GB")  # no video, no title: the timing and title rules are not applicable
    report = _with_rules(Report(tool=ToolInfo(name="c", version="t"), generated_at="x", notice="n", items=[item]),
                         library)
    region = json.loads(record_of(item, catalogue_of(report)))["regions"]["GB"]
    usual = [(f.rule, f.status) for f in item.regions["GB"].findings
             if f.message == CHECKS[f.check].usual.get(f.status) and not f.evidence]
    assert {"video-timing", "label-in-title"} & {CHECKS[f.check].name for f in item.regions["GB"].findings
                                                 if (f.rule, f.status) in usual}
    for rule, status in usual:
        assert rule in region.get("usual", {}).get(status, []), (rule, region)
        assert all(f["rule"] != rule for f in region.get("findings", []))
