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
