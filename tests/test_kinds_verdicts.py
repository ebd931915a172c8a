"""Check-kind params added for the verdict audit (issue #14, pack-audit-2026-12 part 1 and 2): the
label before a deal type (GB-3), a hashtag label at the edge of its row (NL-3), labels limited to a
declared relationship (CA-1, CA-4), a label next to a code or link (DE-6), the declared title
(GB-2), and a fix that invents no label where the pack names none."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from complianceguard.engine import NO_LABEL_NAMED, Engine, preferred_label
from complianceguard.extract import described
from complianceguard.model import ItemResult, Submission
from complianceguard.packs.kinds.placement import LabelNextToSignalParams
from complianceguard.packs.loader import PackLibrary
from complianceguard.submission import load_all


@pytest.fixture(scope="module")
def engine(library: PackLibrary) -> Engine:
    return Engine(library)


def check(engine: Engine, region: str, caption: str, **fields) -> ItemResult:
    media = fields.pop("media", None)
    duration = fields.pop("duration_s", None)
    overlay = fields.pop("overlay", [])
    submission = Submission(id="post", regions=[region], caption=caption, **{"relationship": "paid", **fields})
    extraction = described(submission, media, duration, overlay, []) if media else None
    return engine.evaluate(submission, extraction)


def finding(item: ItemResult, region: str, code: str):
    return next(f for f in item.regions[region].findings if f.rule == code)


# --- label-placement: label_first, at_run_edge ----------------------------------------------------

def test_a_deal_type_before_the_label_fails_and_after_it_passes(engine):
    late = finding(check(engine, "GB", "Gifted – Ad. Loving my new serum", relationship="gifted"), "GB", "GB110")
    assert late.status == "fail" and "'Gifted' comes before it" in late.message
    assert finding(check(engine, "GB", "Ad – Gifted. Loving my new serum", relationship="gifted"),
                   "GB", "GB110").status == "pass"


def test_a_late_label_with_no_deal_type_before_it_is_not_a_label_first_failure(engine):
    item = check(engine, "GB", "Loving my new serum from @glowskincare #ad")
    assert finding(item, "GB", "GB110").status == "pass"
    assert finding(item, "GB", "GB104").status == "warn"  # the start is only advised


@pytest.mark.parametrize("caption, status", [
    ("Mijn nieuwe serum #ad #skincare #glow", "pass"),
    ("Mijn nieuwe serum #skincare #glow #ad", "pass"),
    ("Mijn nieuwe serum #skincare #ad #glow", "fail"),
    ("#ad mijn nieuwe serum #skincare #glow", "pass"),
])
def test_a_hashtag_label_must_lead_or_end_its_row(engine, caption, status):
    result = finding(check(engine, "NL", caption, language="nl"), "NL", "NL104")
    assert result.status == status
    if status == "fail":
        assert "hashtag 2 of a row of 3" in result.message


# --- label-present: counts_only_for --------------------------------------------------------------

def test_a_gift_label_does_not_count_on_a_paid_post(engine):
    result = finding(check(engine, "CA", "#Gifted Loving this serum from @glowskincare"), "CA", "CA101")
    assert result.status == "fail"
    assert "'#Gifted' counts only for 'gifted' posts, not for this paid one" in result.message
    assert any(e.text == "#Gifted" and "counts only for" in (e.reason or "") for e in result.evidence)


def test_a_gift_label_counts_on_a_gift_and_on_an_undeclared_post(engine):
    gifted = check(engine, "CA", "#Gifted Loving this serum from @glowskincare", relationship="gifted")
    assert finding(gifted, "CA", "CA101").status == "pass"
    undeclared = check(engine, "CA", "#Gifted Loving this serum from @glowskincare", relationship="unknown")
    assert finding(undeclared, "CA", "CA101").status == "pass"  # the label itself says it was a gift


def test_ad_alone_on_an_affiliate_post_warns_and_a_partner_hashtag_passes(engine):
    alone = check(engine, "CA", "#ad My favourite serum, link in bio", relationship="affiliate")
    assert finding(alone, "CA", "CA112").status == "warn" and finding(alone, "CA", "CA101").status == "pass"
    partner = check(engine, "CA", "#ad #GlowPartner My favourite serum", relationship="affiliate")
    assert finding(partner, "CA", "CA112").status == "pass"


# --- label-next-to-signal -------------------------------------------------------------------------

def test_a_discount_code_far_from_the_label_warns_and_one_beside_it_passes(engine):
    far = check(engine, "DE", "Werbung | Meine Morgenroutine mit @glowskincare, ich liebe dieses Serum und "
                "nutze es jeden Tag. Mit dem Rabattcode GLOW15 spart ihr", language="de")
    result = finding(far, "DE", "DE111")
    assert result.status == "warn" and "Rabattcode GLOW15" in result.message and "within 3 words" in result.message
    near = check(engine, "DE", "Meine Morgenroutine. Werbung: Rabattcode GLOW15 auf mein Serum", language="de")
    assert finding(near, "DE", "DE111").status == "pass"


def test_a_post_without_a_code_or_without_a_label_is_not_judged_for_proximity(engine):
    assert finding(check(engine, "DE", "Werbung | Mein Serum", language="de"), "DE", "DE111").status == \
        "not-applicable"
    unlabelled = check(engine, "DE", "Mein Serum, Rabattcode GLOW15", language="de")
    assert finding(unlabelled, "DE", "DE111").status == "not-applicable"
    assert finding(unlabelled, "DE", "DE108").status == "fail"  # label-present reports the missing label


def test_label_next_to_signal_needs_something_to_look_for():
    with pytest.raises(ValidationError, match="needs 'cues' or 'signals'"):
        LabelNextToSignalParams(max_words_between=3)


# --- label-in-title -------------------------------------------------------------------------------

def test_a_declared_title_without_a_label_warns_and_with_one_passes(engine):
    bare = check(engine, "GB", "#ad My routine", platform="youtube", title="My morning routine with Glow")
    result = finding(bare, "GB", "GB111")
    assert result.status == "warn" and "My morning routine with Glow" in result.message
    labelled = check(engine, "GB", "#ad My routine", platform="youtube", title="#ad My morning routine")
    result = finding(labelled, "GB", "GB111")
    assert result.status == "pass" and result.evidence[0].text == "#ad" and result.evidence[0].kind == "title label"


def test_no_title_is_not_applicable_and_an_unread_thumbnail_is_inconclusive(engine):
    assert finding(check(engine, "GB", "#ad My routine"), "GB", "GB111").status == "not-applicable"
    item = check(engine, "GB", "#ad My routine", platform="youtube", title="My morning routine",
                 thumbnail="thumb.jpg")
    result = finding(item, "GB", "GB111")
    assert result.status == "inconclusive" and "thumb.jpg" in result.message and "not read" in result.message


def test_title_labels_stay_out_of_the_caption_rules(engine):
    """A label in the title is not a caption label: GB101 still fails a caption without one."""
    item = check(engine, "GB", "Loving my new serum from @glowskincare", title="#ad Loving my new serum")
    assert finding(item, "GB", "GB101").status == "fail"
    assert finding(item, "GB", "GB111").status == "pass"
    assert "#ad" not in [m.text for m in item.mentions]


def test_a_manifest_declares_title_and_thumbnail(tmp_path):
    (tmp_path / "thumb.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "a.post.yaml").write_text("id: a\nregions: [GB]\ncaption: '#ad hi'\ntitle: '#ad My video'\n"
                                          "thumbnail: thumb.jpg\n", encoding="utf-8")
    (tmp_path / "b.post.yaml").write_text("id: b\nregions: [GB]\ncaption: hi\nthumbnail: ../outside.jpg\n",
                                          encoding="utf-8")
    loaded = {item.label.rpartition("/")[2]: item for item in load_all([tmp_path])}
    post = loaded["a.post.yaml"].submission
    assert post.title == "#ad My video" and post.thumbnail.endswith("thumb.jpg")
    assert "field thumbnail" in loaded["b.post.yaml"].error
    (tmp_path / "posts.csv").write_text("id,regions,caption,title,thumbnail\nc,GB,#ad hi,#ad My video,\n",
                                        encoding="utf-8")
    row = next(item for item in load_all([tmp_path / "posts.csv"]))
    assert (row.submission.title, row.submission.thumbnail) == ("#ad My video", None)  # empty cell: none


# --- the fix names no label the pack does not name ------------------------------------------------

def test_a_pack_without_a_preferred_label_gets_no_invented_one(tmp_path, library):
    assert preferred_label(library.for_region("GB"), "en") == "#ad"
    pack = tmp_path / "zz.yaml"
    pack.write_text("""
id: zz-test
version: 1.0.0
name: A pack whose labels name no preferred one
region: ZZ
languages: [en]
sources: {s: {title: t, publisher: p, url: "https://example.org", confidence: low}}
vocabulary: {en: {labels: [advert]}}
rules:
  - {code: ZZ101, name: label-present, check: label-present, message: m, why: w, example: {bad: b, good: g},
     fix: "Put `{label}` first.", source: {ref: s}, confidence: low}
""", encoding="utf-8")
    item = Engine(PackLibrary(extra=[pack])).evaluate(Submission(id="p", regions=["ZZ"], caption="Hi @glow",
                                                                 relationship="paid"))
    result = finding(item, "ZZ", "ZZ101")
    assert result.status == "fail" and result.fix == f"Put `{NO_LABEL_NAMED}` first."
    assert "ZZ" not in item.fixed_caption


def test_when_declares_limits_a_rule_to_posts_declaring_the_imagery(tmp_path):
    """NO-3 (C6): Norway's retouch mark stays on screen for the whole film of a retouched ad only."""
    pack = tmp_path / "zz.yaml"
    pack.write_text("""
id: zz-test
version: 1.0.0
name: A retouch-mark timing rule
region: ZZ
languages: ["no"]
sources: {s: {title: t, publisher: p, url: "https://example.org", confidence: low}}
vocabulary: {"no": {labels: [reklame]}}
rules:
  - {code: ZZ101, name: mark-whole-film, check: video-timing, scopes: [overlay], params: {min_fraction: 1},
     when: {media: [video], declares: [retouched]}, message: m, why: w, example: {bad: b, good: g}, fix: f,
     source: {ref: s}, confidence: low}
""", encoding="utf-8")
    zz = Engine(PackLibrary(extra=[pack]))

    def run(retouched: bool) -> str:
        post = Submission(id="p", regions=["ZZ"], caption="Reklame", relationship="paid", retouched=retouched)
        item = zz.evaluate(post, described(post, "video", 30.0, [("REKLAME", 0.0, 10.0)], []))
        return finding(item, "ZZ", "ZZ101")

    assert run(True).status == "fail"
    plain = run(False)
    assert plain.status == "not-applicable" and "does not declare retouched" in plain.message
