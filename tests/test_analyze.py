"""Matching a pack's vocabulary: hashtags, negation, denials, language, signals."""

from __future__ import annotations

import pytest

from complianceguard.analyze import Analyzer, detect_language
from complianceguard.model import Segment, Submission


@pytest.fixture(scope="module")
def gb(library):
    return library.for_region("GB")


def mentions(library, pack, caption, language="en", **fields):
    analyzer = Analyzer([pack])
    post = Submission(id="t", regions=[pack.pack.region], caption=caption, **fields)
    return analyzer.mentions([Segment(id="caption", channel="caption", text=caption)], pack, language, post)


def kinds(found):
    return [(m.kind, m.text) for m in found]


def test_hashtag_and_bare_forms_of_a_label(library, gb):
    found = mentions(library, gb, "Ad | my routine #ad #Advert")
    assert [t for k, t in kinds(found) if k == "label"] == ["Ad", "#ad", "#Advert"]


def test_label_inside_another_hashtag_is_not_a_label(library, gb):
    found = mentions(library, gb, "#adventure #badge #admin")
    assert not [m for m in found if m.kind == "label"]


def test_denial_is_a_denial_not_a_label(library, gb):
    found = mentions(library, gb, "Not sponsored! Loving my new serum")
    assert kinds(found)[0][0] == "denial"
    assert not [m for m in found if m.kind in ("label", "insufficient")]


def test_negated_label_is_marked(library, gb):
    found = mentions(library, gb, "This was never an ad, just love it")
    labels = [m for m in found if m.kind == "label"]
    assert labels and all(m.negated for m in labels)


def test_unrelated_no_before_a_label_does_not_negate_it(library, gb):
    found = mentions(library, gb, "No filter needed #ad")
    assert [m.negated for m in found if m.kind == "label"] == [False]


def test_discount_code_and_brand_handle_are_signals(library, gb):
    found = mentions(library, gb, "Save 20% with code GLOW20 @glowskincare", brand_handles=["@glowskincare"])
    assert {"signal", "brand"} <= {m.kind for m in found}
    assert any(m.text == "code GLOW20" for m in found)
    phrase = mentions(library, gb, "Use my code GLOW20, link in bio")
    assert [m.kind for m in phrase] == ["signal", "signal"]


def test_language_detection_ignores_hashtags_and_handles():
    assert detect_language("#ad Mein neues Serum von @glowskincare", ("de", "en"))[0] == "de"
    assert detect_language("#ad Loving my new serum", ("de", "en"))[0] == "en"
    assert detect_language("#ad #werbung", ("de", "en")) == (None, 0.0)


def test_the_language_model_copy_in_the_cache_is_py3langids_own(tmp_path, monkeypatch):
    """py3langid's LZMA model is decompressed once into the cache (0.8 s saved per process start):
    the copy must load to the very arrays py3langid's loader gives."""
    import numpy as np
    from py3langid import modelio
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    from complianceguard import analyze

    monkeypatch.setenv("COMPLIANCEGUARD_CACHE", str(tmp_path))
    analyze._langid_model.cache_clear()
    try:
        first = analyze._langid_model()  # writes the copy
        assert list((tmp_path / "models").glob("py3langid-*.npz"))
        analyze._langid_model.cache_clear()
        copy = analyze._langid_model()  # reads it
    finally:
        analyze._langid_model.cache_clear()
    own = modelio.load_model(MODEL_DIR / MODEL_FILE)
    for ours in (first, copy):
        assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(ours, own, strict=True))


# Vocabulary per language (issue #17) ---------------------------------------------------------


def test_the_german_signal_code_does_not_fire_on_english_text(library):
    """The base pack's German signal "Code" fired on English "writing code" (every language's words
    were matched against every text): it caused most false alarms in transcripts."""
    us, de = library.for_region("US"), library.for_region("DE")
    for pack in (us, de):
        found = mentions(library, pack, "I spent the weekend writing code")
        assert not [m for m in found if m.kind == "signal"], [(m.term, m.language) for m in found]
        spoken = Analyzer([pack]).mentions(
            [Segment(id="speech:1", channel="speech", text="I spent the weekend writing code", media="v")],
            pack, "en", Submission(id="t", regions=[pack.pack.region]))
        assert not [m for m in spoken if m.kind == "signal"]


def test_the_code_false_alarm_is_gone_end_to_end_with_the_language_detected(engine):
    from complianceguard.model import Submission as Post
    item = engine.evaluate(Post(id="t", regions=["DE", "US"], caption="I spent the weekend writing code",
                                relationship="unknown"))
    assert item.language == "en"
    assert not [m for m in item.mentions if m.kind == "signal"]
    assert all(r.applicability.startswith("relationship not declared and no commercial signals") for r in
               item.regions.values())


def test_a_german_signal_still_applies_to_german_text(library):
    de = library.for_region("DE")
    found = mentions(library, de, "Mit dem Code bekommt ihr zehn Prozent", language="de")
    assert [(m.kind, m.term, m.language) for m in found if m.kind == "signal"] == [("signal", "Code", "de")]


def test_language_bound_words_apply_only_to_their_language_unless_cross_language(library):
    de = library.for_region("DE")
    # "shop now" is an English signal, not marked cross-language: not a signal in a German post
    assert not [m for m in mentions(library, de, "Das neue Serum shop now", language="de") if m.kind == "signal"]
    # "link in bio" is marked cross_language in the base pack: it is one in any language
    found = mentions(library, de, "Das neue Serum, link in bio", language="de")
    assert [(m.term, m.language) for m in found if m.kind == "signal"] == [("link in bio", "en")]
    # an English denial is language-bound too, unless marked ("not sponsored" is)
    found = mentions(library, de, "Mein Lieblingsserum, not sponsored", language="de")
    assert [(m.kind, m.term) for m in found] == [("denial", "not sponsored")]


def test_labels_of_any_language_are_found_so_the_language_rules_can_judge_them(library):
    """A label in the wrong language is what label-language rules look for: '#ad' in a German post."""
    de = library.for_region("DE")
    found = mentions(library, de, "#ad Mein neues Serum", language="de")
    assert [(m.kind, m.text, m.language) for m in found if m.kind == "insufficient"] == [("insufficient", "#ad", "en")]


def test_every_language_applies_when_the_language_is_unknown(library):
    us = library.for_region("US")
    found = mentions(library, us, "Code GLOW", language=None)
    assert ("Code", "de") in {(m.term, m.language) for m in found if m.kind == "signal"}


def test_mentions_record_their_language_and_pack(library, gb):
    found = mentions(library, gb, "#ad my routine, link in bio")
    assert {(m.term, m.language, m.pack) for m in found if m.term in ("ad", "#ad", "link in bio")} == {
        ("ad", "en", gb.ref), ("link in bio", "en", gb.ref)}


def test_a_cross_language_marker_is_inherited_by_packs_that_extend_the_base(library):
    assert "link in bio" in library.for_region("DE").pack.vocabulary["en"].cross_language
    assert "link in bio" in library.for_region("US").pack.vocabulary["en"].cross_language
