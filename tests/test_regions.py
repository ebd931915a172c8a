"""Verdicts the research implies for region-specific rules (issue: 29 region packs)."""

from __future__ import annotations

import pytest

from complianceguard.extract import described
from complianceguard.model import Submission
from conftest import statuses


def failing_checks(item, region):
    return {f.check for f in item.regions[region].findings if f.status == "fail"}


ALL_REGIONS = ["US", "GB", "IE", "CA", "AU", "NZ", "IN", "SG", "CN", "JP", "KR", "BR", "MX", "AE", "EU", "DE",
               "AT", "FR", "ES", "IT", "NL", "BE", "PL", "SE", "DK", "NO", "FI", "PT", "CZ"]


def test_all_29_regions_have_packs(library):
    expected = set(ALL_REGIONS)
    assert expected <= set(library.regions())


def test_de_ad_at_the_end_fails(check):
    assert check("Mein neues Serum von @glowskincare #ad", "DE").regions["DE"].verdict == "fail"


def test_fr_retouched_image_needs_image_retouchee(check):
    bare = check("Publicité | Mon nouveau sérum @glowskincare", "FR", retouched=True)
    assert "special-label" in failing_checks(bare, "FR")
    labelled = check("Publicité | Mon nouveau sérum @glowskincare. Image retouchée", "FR", retouched=True)
    assert "special-label" not in failing_checks(labelled, "FR")


def test_kr_korean_first_hashtag_passes_and_english_ad_fails(check):
    assert check("#광고 새로운 세럼 후기 #뷰티", "KR").regions["KR"].verdict == "pass"
    assert check("#AD 새로운 세럼 후기 #뷰티", "KR").regions["KR"].verdict == "fail"


def test_es_english_ad_alone_fails(check):
    assert check("#ad Mi nuevo sérum favorito", "ES").regions["ES"].verdict == "fail"
    assert check("Publicidad | Mi nuevo sérum favorito", "ES").regions["ES"].verdict in ("pass", "warn")


def test_it_adv_as_fourth_hashtag_fails(check):
    item = check("Il mio nuovo siero #skincare #beauty #glow #adv #GlowSkincare", "IT")
    assert "label-placement" in failing_checks(item, "IT")
    leading = check("Il mio nuovo siero #adv #GlowSkincare #skincare #beauty", "IT")
    assert "label-placement" not in failing_checks(leading, "IT")


@pytest.mark.parametrize("seconds_on_screen, verdict", [(2, "fail"), (4, "pass")])
def test_in_short_video_needs_the_label_for_three_seconds(engine, seconds_on_screen, verdict):
    post = Submission(id="v", regions=["IN"], caption="#ad My new serum", relationship="paid", platform="instagram")
    extraction = described(post, "video", 10, [("#ad", 0.0, float(seconds_on_screen))],
                           [("this video is an ad for Glow", 0.0, 2.0), ("ad", 8.5, 10.0)])
    item = engine.evaluate(post, extraction)
    timing = [f for f in item.regions["IN"].findings if f.check == "video-timing" and "overlay" in
              [c.channel for c in f.coverage]]
    assert timing and {f.status for f in timing} == {verdict}, statuses(item, "IN")


@pytest.mark.parametrize("label_from, label_to, status",
                         [(118.0, 182.0, "pass"), (0.0, 5.0, "fail"), (120.0, 140.0, "fail")])
def test_in_long_video_label_covers_the_brand_section(engine, label_from, label_to, status):
    """ASCI, 2 min or more: the label stays for "the entire section where the brand ... is mentioned"
    (R-A:384 [M]): from the first to the last time the brand is named, not the whole video."""
    post = Submission(id="v", regions=["IN"], caption="#ad My weekly vlog", brand="Glow", relationship="paid",
                      platform="instagram")
    extraction = described(post, "video", 300, [("#ad", label_from, label_to)],
                           [("Welcome back to my vlog.", 0.0, 3.0),
                            ("Now the Glow serum: it hydrates my skin.", 120.0, 150.0),
                            ("That was Glow, back to my week.", 175.0, 180.0)])
    item = engine.evaluate(post, extraction)
    assert next(f for f in item.regions["IN"].findings if f.rule == "IN105").status == status, statuses(item, "IN")


@pytest.mark.parametrize("figure_label_to, status", [(30.0, "pass"), (2.0, "fail")])
def test_kr_virtual_figure_label_stays_on_screen_in_a_video(engine, figure_label_to, status):
    """KFTC 2026: "가상인물" near the figure for the whole time it is on screen (R-A:586 [M]); the
    video's length stands in for the figure's time on screen (KR127, special-label `min_fraction`)."""
    post = Submission(id="v", regions=["KR"], caption="가상인물 포함 #광고 새로운 세럼 후기", relationship="paid",
                      platform="instagram", ai_generated=True)
    extraction = described(post, "video", 30, [("광고", 0.0, 30.0), ("가상인물", 0.0, figure_label_to)], [])
    item = engine.evaluate(post, extraction)
    assert next(f for f in item.regions["KR"].findings if f.rule == "KR127").status == status, statuses(item, "KR")


@pytest.mark.parametrize("caption, status", [("Reklame #glowskincare Mitt nye serum", "pass"),
                                             ("#reklame Mitt nye serum #glowskincare", "pass"),
                                             ("Reklame #sommer Mitt nye serum", "fail")])
def test_no_label_names_the_brand_hashtag_after_it(engine, caption, status):
    """Fourth round (NO108): the Norwegian tokenizer keeps "#glowskincare" in one token, where the
    Danish and Swedish ones split off the "#"; "Reklame {advertiser}" must read both the same ("show
    whom advertised for", R-E:341 [H]), so the declared brand's hashtag after the label names it; and
    the brand "Glow Skincare" written as one hashtag anywhere in the post is the brand named."""
    post = Submission(id="p", regions=["NO"], caption=caption, relationship="paid", language="no",
                      brand="Glow Skincare")
    item = engine.evaluate(post)
    assert next(f for f in item.regions["NO"].findings if f.rule == "NO108").status == status, statuses(item, "NO")


@pytest.mark.parametrize("region, caption, language, status", [
    ("IT", "#ad Adoro il mio nuovo siero di @glowskincare", "it", "fail"),
    ("IT", "#ad @glowskincare Adoro il mio nuovo siero", "it", "pass"),
    ("FI", "Mainos Rakastan uutta seerumiani @glowskincare", "fi", "fail"),
    ("FI", "Mainos Glow: rakastan uutta seerumiani @glowskincare", "fi", "pass"),
    ("FI", "Mainos Lumene: rakastan uutta seerumiani", "fi", "pass"),
])
def test_a_sentence_after_the_label_is_not_the_advertiser(engine, region, caption, language, status):
    """Verdict matrix (Dec 2026): `{advertiser}` took any capitalised word after the label for the
    brand, so "#ad Adoro ..." (IT: "#ad" only with the brand, R-E:12) and "Mainos Rakastan ..." (FI:
    "Mainos [Yritys]", R-E:354) passed beside @glowskincare. A capitalised word names the advertiser
    only where the post shows no name of its own (no @handle, no declared brand)."""
    post = Submission(id="p", regions=[region], caption=caption, relationship="paid", language=language)
    item = engine.evaluate(post)
    assert item.regions[region].verdict == status, statuses(item, region)


@pytest.mark.parametrize("caption, language", [
    ("Collaboration commerciale avec @glowskincare : mon nouveau sérum", "fr"),
    ("Entgeltliche Einschaltung: mein neues Serum von @glowskincare", "de"),
    ("#ad my new serum from @glowskincare", "en"),
])
def test_the_eu_pack_alone_reads_national_statutory_words_its_members_do_not_inherit(engine, caption, language):
    """eu.yaml's `not_inherited` labels (fifth round): used alone (--region EU) it reads FR art. 5's
    "Collaboration commerciale" (R-E:139 [H]), AT § 26's "entgeltliche Einschaltung" (R-E:112 [H]) and,
    at low confidence, an English post's "#ad" (R-E:27, 12); the member packs keep their own lists,
    so DE (R-E:68) does not get them, and BE (French labels R-E:267) reads the French one in its own
    vocabulary, as a label no Belgian source names: BE108 warns (thirteenth round)."""
    post = lambda region: Submission(id="p", regions=[region], caption=caption, relationship="paid",  # noqa: E731
                                     language=language)
    assert engine.evaluate(post("EU")).regions["EU"].verdict == "pass"
    member, verdict = {"fr": ("BE", "warn"), "de": ("DE", "fail"), "en": ("DE", "fail")}[language]
    assert engine.evaluate(post(member)).regions[member].verdict == verdict


# Placement rules that judge the caption's own label whatever the picture shows, each with its source.
CAPTION_ITSELF = {"NL126": "R-E:247 [M]: the description's mention must show without 'meer weergeven'"}


@pytest.mark.parametrize("region", ALL_REGIONS)
def test_a_label_seen_with_the_picture_first_is_not_undone_by_a_late_caption_label(engine, library, region):
    """Every pack's caption-placement rules (sixth round): a still image printed with the region's
    label, or a video showing it from its first second, is labelled before anyone reads the caption,
    so the same label buried at the caption's end fails none of them (it failed US102, EU102, KR102
    and 40 others while the same post with no caption label passed them)."""
    from complianceguard.engine import preferred_label

    pack = library.for_region(region)
    language = pack.pack.languages[0]
    label = preferred_label(pack, language) or pack.pack.vocabulary[language].labels[0]
    caption = ("My morning routine with @glowskincare: a month of using it every single day, and honestly "
               "my skin has never felt better, more on that in a later post #skincare #morning " + label)
    placement = [r.code for r in pack.pack.rules if r.check == "label-placement" and r.code not in CAPTION_ITSELF]
    for media, overlay in (("image", [(label, None, None)]), ("video", [(label, 0.0, 30.0)])):
        post = Submission(id="p", regions=[region], caption=caption, relationship="paid", language=language,
                          brand_handles=["@glowskincare"], media=[f"post.{'jpg' if media == 'image' else 'mp4'}"])
        item = engine.evaluate(post, described(post, media, 30.0 if media == "video" else None, overlay, []))
        failed = {f.rule for f in item.regions[region].findings if f.status in ("fail", "warn")}
        assert not failed & set(placement), (media, failed & set(placement))
