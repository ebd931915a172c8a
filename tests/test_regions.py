"""Verdicts the research implies for region-specific rules (issue: 29 region packs)."""

from __future__ import annotations

import pytest

from complianceguard.extract import described
from complianceguard.model import Submission
from conftest import statuses


def failing_checks(item, region):
    return {f.check for f in item.regions[region].findings if f.status == "fail"}


def test_all_29_regions_have_packs(library):
    expected = {"US", "GB", "IE", "CA", "AU", "NZ", "IN", "SG", "CN", "JP", "KR", "BR", "MX", "AE", "EU", "DE",
                "AT", "FR", "ES", "IT", "NL", "BE", "PL", "SE", "DK", "NO", "FI", "PT", "CZ"}
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
