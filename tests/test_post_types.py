"""Post types (feed, carousel, story, video, live, audio): the field in manifests, CSV and the API,
media order, the three check kinds (label-on-every-frame, live-repeat, audio-disclosure),
`when: post_types`, and per-frame evidence in the reports."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from complianceguard.api.schemas import SubmissionIn
from complianceguard.engine import Engine
from complianceguard.errors import PackError
from complianceguard.extract import described
from complianceguard.model import Coverage, ItemResult, Submission, post_type_of
from complianceguard.packs.cases import evaluate_case
from complianceguard.packs.loader import BUILTIN_RULES, PackLibrary
from complianceguard.packs.schema import Case
from complianceguard.report.csv_report import report_csv
from complianceguard.report.json_report import report_json
from complianceguard.scan import build_report
from complianceguard.submission import load_all


@pytest.fixture(scope="module")
def engine(library: PackLibrary) -> Engine:
    return Engine(library)


def evaluate(engine: Engine, region: str, **case) -> ItemResult:
    """A post described as a pack case describes it (frames, overlay per frame, timed speech)."""
    return evaluate_case(engine, Case(**{"caption": "", **case}), region)


def finding(item: ItemResult, region: str, code: str):
    return next(f for f in item.regions[region].findings if f.rule == code)


# --- carousels and stories ---------------------------------------------------------------------

def test_carousel_with_the_label_on_one_image_fails_where_every_image_needs_it(engine):
    item = evaluate(engine, "KR", caption="새로운 세럼 후기", post_type="carousel", media="image", frames=3,
                    overlay=[{"text": "광고", "frame": 1}, {"text": "세럼", "frame": 2}])
    result = finding(item, "KR", "KR121")
    assert result.status == "fail" and item.regions["KR"].verdict == "fail"
    assert "images 2 and 3 of 3" in result.message
    by_frame = {ev.frame: ev for ev in result.evidence}
    assert by_frame[1].kind == "label" and by_frame[1].text == "광고" and by_frame[1].media == "frame-1.jpg"
    assert by_frame[2].kind == by_frame[3].kind == "missing-label"
    assert by_frame[3].media == "frame-3.jpg"


def test_carousel_label_in_the_caption_covers_every_image_in_kr(engine):
    item = evaluate(engine, "KR", caption="#광고 새로운 세럼 후기", media="image", frames=3,
                    overlay=[{"text": "광고", "frame": 1}])
    assert item.post_type == "carousel" and item.post_type_source == "inferred from the media"
    assert finding(item, "KR", "KR121").status == "pass"


@pytest.mark.parametrize("region, code, label", [
    ("DE", "DE121", "Werbung"), ("GB", "GB121", "#ad"), ("US", "US121", "#ad"), ("NZ", "NZ121", "Ad"),
    ("IT", "IT121", "Pubblicità"), ("KR", "KR122", "광고"), ("NL", "NL121", "#ad"),
])
def test_story_with_every_frame_labelled_passes(engine, region, code, label):
    item = evaluate(engine, region, post_type="story", media="image", frames=3,
                    overlay=[{"text": label, "frame": n} for n in (1, 2, 3)])
    result = finding(item, region, code)
    assert result.status == "pass", result.message
    assert sorted({ev.frame for ev in result.evidence}) == [1, 2, 3]


@pytest.mark.parametrize("region, code, label, status", [
    ("DE", "DE121", "Werbung", "fail"), ("GB", "GB121", "#ad", "fail"), ("US", "US121", "#ad", "fail"),
    ("IT", "IT121", "Pubblicità", "warn"),  # every story item: R-E:212 is [L-M], so a warning
])
def test_story_labelled_on_the_first_frame_only_fails(engine, region, code, label, status):
    item = evaluate(engine, region, post_type="story", media="image", frames=3,
                    overlay=[{"text": label, "frame": 1}, {"text": "Glow", "frame": 2}])
    result = finding(item, region, code)
    assert result.status == status and "frames 2 and 3 of 3" in result.message


@pytest.mark.parametrize("region, code, label", [("US", "US121", "#ad"), ("GB", "GB121", "#ad")])
def test_a_story_case_without_frames_is_a_one_frame_story(engine, region, code, label):
    """A case writer who gives a story's screen text but no `frames` still gets the frame judged."""
    unlabelled = evaluate(engine, region, post_type="story", media="image", relationship="paid",
                          overlay=[{"text": "My new serum"}])
    assert finding(unlabelled, region, code).status == "fail"
    labelled = evaluate(engine, region, post_type="story", media="image", relationship="paid",
                        overlay=[{"text": f"{label} My new serum"}])
    assert finding(labelled, region, code).status == "pass"


def test_nl_story_needs_the_first_and_the_last_item_only(engine):
    first_last = evaluate(engine, "NL", post_type="story", media="image", frames=4,
                          overlay=[{"text": "#ad", "frame": 1}, {"text": "#ad", "frame": 4}])
    assert finding(first_last, "NL", "NL121").status == "pass"
    first_only = evaluate(engine, "NL", post_type="story", media="image", frames=4,
                          overlay=[{"text": "#ad", "frame": 1}])
    assert finding(first_only, "NL", "NL121").status == "fail"


def test_story_rules_do_not_apply_to_other_post_types(engine):
    item = evaluate(engine, "GB", caption="#ad my serum", media="image", frames=2,
                    overlay=[{"text": "#ad", "frame": 1}])
    assert item.post_type == "carousel"
    assert finding(item, "GB", "GB121").status == "not-applicable"


def test_frames_not_read_are_inconclusive_with_per_frame_evidence(engine, tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    for name in ("3.jpg", "1.jpg", "2.jpg"):
        (batch / name).write_bytes(b"not decoded: media reading is off")
    (batch / "s.post.yaml").write_text("regions: [GB]\ncaption: ''\nrelationship: paid\npost_type: story\n"
                                       "media: [3.jpg, 1.jpg, 2.jpg]\n")
    [loaded] = list(load_all([batch]))
    item = engine.evaluate(loaded.submission)  # OCR never ran: on-screen text not read
    result = finding(item, "GB", "GB121")
    assert result.status == "inconclusive"
    assert [(ev.frame, Path(ev.media).name, ev.kind) for ev in result.evidence] == [
        (1, "3.jpg", "not-read"), (2, "1.jpg", "not-read"), (3, "2.jpg", "not-read")]


# --- live recordings ---------------------------------------------------------------------------

def test_live_with_a_ten_minute_gap_fails_in_kr(engine):
    item = evaluate(engine, "KR", caption="#광고 라이브", post_type="live", media="video", duration_s=1500,
                    overlay=[{"text": "광고", "start_s": 0, "end_s": 10},
                             {"text": "광고", "start_s": 610, "end_s": 620},
                             {"text": "광고", "start_s": 900, "end_s": 910},
                             {"text": "광고", "start_s": 1190, "end_s": 1200},
                             {"text": "광고", "start_s": 1490, "end_s": 1500}])
    result = finding(item, "KR", "KR123")
    assert result.status == "fail" and item.regions["KR"].verdict == "fail"
    assert "from 10 s to 610 s" in result.message and "600 s" in result.message
    gaps = [ev for ev in result.evidence if ev.kind == "gap"]
    assert [(g.time.start_s, g.time.end_s) for g in gaps] == [(10, 610)]


def test_live_labelled_every_five_minutes_passes_in_kr(engine):
    item = evaluate(engine, "KR", caption="#광고 라이브", post_type="live", media="video", duration_s=900,
                    overlay=[{"text": "광고", "start_s": t, "end_s": t + 10} for t in (0, 290, 580, 890)])
    assert finding(item, "KR", "KR123").status == "pass"


def test_in_live_needs_the_label_on_screen_the_whole_time(engine):
    ticker = evaluate(engine, "IN", caption="#ad live", post_type="live", media="video", duration_s=1200,
                      overlay=[{"text": "#ad", "start_s": 0, "end_s": 1200}])
    assert finding(ticker, "IN", "IN121").status == "pass"
    now_and_then = evaluate(engine, "IN", caption="#ad live", post_type="live", media="video", duration_s=1200,
                            overlay=[{"text": "#ad", "start_s": t, "end_s": t + 60} for t in (0, 300, 600, 900)])
    assert finding(now_and_then, "IN", "IN121").status == "fail"


def test_live_rules_skip_recorded_videos(engine):
    item = evaluate(engine, "KR", caption="#광고 리뷰", media="video", duration_s=1500,
                    overlay=[{"text": "광고", "start_s": 0, "end_s": 10}])
    assert item.post_type == "video"
    assert finding(item, "KR", "KR123").status == "not-applicable"


# --- audio-only posts --------------------------------------------------------------------------

@pytest.mark.parametrize("region, code, said", [
    ("US", "US123", "This episode is sponsored by Glow Skincare."),
    ("IT", "IT122", "Pubblicità: questo episodio è sponsorizzato da Glow."),
])
def test_audio_only_with_a_spoken_label_at_the_start_passes(engine, region, code, said):
    item = evaluate(engine, region, caption="Episode 12", media="audio", duration_s=1200,
                    speech=[{"text": said, "start_s": 1, "end_s": 5},
                            {"text": "Welcome back.", "start_s": 5, "end_s": 9}])
    assert item.post_type == "audio"
    result = finding(item, region, code)
    assert result.status == "pass", result.message
    assert result.evidence and result.evidence[0].time.start_s == 1


def test_audio_only_labelled_in_the_show_notes_only_fails_in_us(engine):
    item = evaluate(engine, "US", caption="#ad Episode 12", post_type="audio", media="audio", duration_s=1200,
                    speech=[{"text": "Welcome back to the show.", "start_s": 0, "end_s": 3}])
    assert finding(item, "US", "US123").status == "fail"


def test_audio_label_said_late_is_advice_where_the_window_is_our_reading(engine):
    item = evaluate(engine, "IT", caption="Episodio 12", post_type="audio", media="audio", duration_s=1200,
                    speech=[{"text": "Benvenuti.", "start_s": 0, "end_s": 2},
                            {"text": "Pubblicità: Glow.", "start_s": 600, "end_s": 603}])
    assert finding(item, "IT", "IT122").status == "warn"


def test_in_audio_breaks_need_the_label_before_and_after(engine):
    speech = [{"text": "This episode is sponsored by Glow.", "start_s": 0, "end_s": 4},
              {"text": "Today: skincare.", "start_s": 4, "end_s": 300},
              {"text": "And we're back.", "start_s": 360, "end_s": 600}]
    item = evaluate(engine, "IN", caption="#ad Episode", post_type="audio", media="audio", duration_s=600,
                    speech=speech)
    result = finding(item, "IN", "IN122")
    assert result.status == "warn" and "break at 300-360 s" in result.message
    assert any(ev.kind == "break" for ev in result.evidence)


# --- the field: manifests, CSV, the API, inference ---------------------------------------------

def test_manifest_parses_post_type_and_keeps_media_order(tmp_path):
    for name in ("c.jpg", "a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "one.post.yaml").write_text("regions: [KR]\ncaption: hi\npost_type: Carousel\n"
                                            "media: [c.jpg, a.jpg, b.jpg]\n")
    (tmp_path / "two.post.json").write_text(json.dumps({"regions": ["GB"], "caption": "hi", "post_type": "reel"}))
    results = {r.label: r for r in load_all([tmp_path])}
    one = results[str(tmp_path / "one.post.yaml")].submission
    assert one.post_type == "carousel"
    assert [Path(m).name for m in one.media] == ["c.jpg", "a.jpg", "b.jpg"]
    error = results[str(tmp_path / "two.post.json")].error
    assert "field post_type: 'reel' is not one of" in error


def test_csv_parses_post_type_and_keeps_media_order(tmp_path):
    for name in ("f2.jpg", "f1.jpg"):
        (tmp_path / name).write_bytes(b"x")
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerow(["id", "regions", "caption", "post_type", "media"])
    writer.writerow(["s1", "DE", "", "Story", "f2.jpg; f1.jpg"])
    writer.writerow(["p1", "DE", "Werbung", "", ""])
    (tmp_path / "posts.csv").write_text(rows.getvalue())
    loaded = {r.submission.id: r.submission for r in load_all([tmp_path / "posts.csv"])}
    assert loaded["s1"].post_type == "story"
    assert [Path(m).name for m in loaded["s1"].media] == ["f2.jpg", "f1.jpg"]
    assert loaded["p1"].post_type is None


def test_api_submission_accepts_post_type():
    assert SubmissionIn.model_validate({"regions": ["GB"], "post_type": "live"}).post_type == "live"
    assert "post_type" in SubmissionIn.model_json_schema()["properties"]
    with pytest.raises(ValueError):
        SubmissionIn.model_validate({"regions": ["GB"], "post_type": "reel"})


@pytest.mark.parametrize("declared, kinds, expected", [
    (None, [], "feed"), (None, ["image"], "feed"), (None, ["image", "image"], "carousel"),
    (None, ["video"], "video"), (None, ["image", "video"], "video"), (None, ["audio"], "audio"),
    (None, ["audio", "image"], "feed"), ("story", ["image", "image"], "story"), ("live", ["video"], "live"),
])
def test_post_type_inferred_from_media_unless_declared(declared, kinds, expected):
    post = Submission(id="p", regions=["GB"], post_type=declared)
    assert post_type_of(post, kinds)[0] == expected


@pytest.mark.parametrize("post_type, unread", [
    ("video", ["overlay", "speech"]), ("story", ["overlay", "speech"]), ("live", ["overlay", "speech"]),
    ("audio", ["speech"]), ("carousel", ["overlay"]),
])
@pytest.mark.parametrize("region, code", [("KR", "KR101"), ("DE", "DE101"), ("US", "US101")])
def test_a_declared_video_story_or_podcast_without_its_files_is_inconclusive_not_fail(
        engine, post_type, unread, region, code):
    """Its label may be on the pictures or said: those were not read, so no FAIL is claimed."""
    item = evaluate(engine, region, caption="My new serum from @glowskincare", relationship="paid",
                    post_type=post_type)
    result = finding(item, region, code)
    assert result.status == "inconclusive" and item.regions[region].verdict == "inconclusive"
    assert "no media file given" in result.message
    assert {c.channel for c in result.coverage if not c.read} <= set(unread)


def test_a_declared_video_labelled_in_its_caption_only_cannot_have_its_video_rules_checked(engine):
    """DE109 asks for the label in the video from its start: with no file that is not known, so no
    pass is claimed either (sixth-round probe: it passed as though there were no video)."""
    item = evaluate(engine, "DE", caption="Werbung | Mein Test vom Kuizo", relationship="paid",
                    post_type="video", platform="youtube", language="de")
    assert finding(item, "DE", "DE109").status == "inconclusive"
    assert item.regions["DE"].verdict == "inconclusive"


@pytest.mark.parametrize("case", [
    {},  # a caption only: a feed post (a creator's draft)
    {"post_type": "feed"},
    {"post_type": "video", "media": "video", "duration_s": 20},  # described, with nothing on it
    {"post_type": "video", "speech": [{"text": "My morning routine", "start_s": 0, "end_s": 2}]},
])
def test_a_caption_only_post_or_a_described_video_without_a_label_still_fails(engine, case):
    item = evaluate(engine, "DE", caption="Mein neues Serum von @glowskincare", relationship="paid", **case)
    assert finding(item, "DE", "DE101").status == "fail"


# --- pack validation ---------------------------------------------------------------------------

def _pack_with(tmp_path: Path, rule_update: dict) -> Path:
    data = yaml.safe_load((BUILTIN_RULES / "gb.yaml").read_text())
    data["id"] = "broken"
    rule = next(r for r in data["rules"] if r["code"] == "GB121")
    rule.update(rule_update)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


@pytest.mark.parametrize("update, expected", [
    ({"when": {"post_types": ["reel"]}}, "rule GB121, field when.post_types.0"),
    ({"params": {"which_frames": "some"}}, "param 'which_frames' must be 'every', 'first-and-last' or 'first'"),
    ({"check": "live-repeat", "params": {}}, "needs exactly one of 'max_gap_s' or 'continuous: true'"),
    ({"check": "live-repeat", "params": {"max_gap_s": -5}}, "seconds must not be negative"),
])
def test_bad_post_type_rules_are_refused_with_file_rule_and_field(tmp_path, update, expected):
    with pytest.raises(PackError) as error:
        PackLibrary(extra=[_pack_with(tmp_path, update)])
    assert expected in str(error.value) and "GB121" in str(error.value)


# --- reports -----------------------------------------------------------------------------------

def test_reports_show_per_frame_evidence(engine, library):
    item = evaluate(engine, "GB", post_type="story", media="image", frames=2,
                    overlay=[{"text": "#ad", "frame": 1}])
    report = build_report([item], library, engine, {}, {})
    data = json.loads(report_json(report))
    story = next(f for f in data["items"][0]["regions"]["GB"]["findings"] if f["rule"] == "GB121")
    assert [(ev["frame"], ev["media"], ev["kind"]) for ev in story["evidence"]] == [
        (1, "frame-1.jpg", "label"), (2, "frame-2.jpg", "missing-label")]
    assert data["items"][0]["post_type"] == "story"
    row = next(r for r in csv.DictReader(io.StringIO(report_csv(report))) if r.get("rule") == "GB121")
    assert "overlay frame 1 (frame-1.jpg)" in row["where"] and "overlay frame 2 (frame-2.jpg)" in row["where"]
    html = pytest.importorskip("complianceguard.report.html")
    page = html.render_html(report)
    assert "frame 2" in page and "frame-2.jpg" in page and "no label" in page


def test_live_gap_is_inconclusive_when_speech_was_not_read(library):
    engine = Engine(library)
    post = Submission(id="live", regions=["KR"], caption="#광고 라이브", relationship="paid", post_type="live")
    extraction = described(post, "video", 1200, [("광고", 0.0, 10.0), ("광고", 900.0, 1200.0)], [])
    unread = Coverage(channel="speech", read=False, detail="speech not transcribed")
    coverage = {**extraction.coverage, "speech": unread}
    item = engine.evaluate(post, replace(extraction, coverage=coverage))
    result = finding(item, "KR", "KR123")
    assert result.status == "inconclusive" and "not transcribed" in result.message
