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


@pytest.mark.parametrize("region, language, caption, label", [
    ("DE", "de", "Werbung|Mein neues Serum von @glowskin", "Werbung"),
    ("DE", "de", "Anzeige•Mein neues Serum", "Anzeige"),
    ("FR", "fr", "Publicité｜Mon nouveau sérum", "Publicité"),
    ("GB", "en", "#ad|my new serum", "#ad"),
])
def test_a_label_stuck_to_a_separator_is_still_a_word(library, region, language, caption, label):
    found = mentions(library, library.for_region(region), caption, language)
    assert ("label", label) in kinds(found)


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
    """py3langid's LZMA model is unpacked once into the cache, one memory-mapped .npy per array
    (0.8 s saved per process start): the copy must load to the very arrays py3langid's loader gives."""
    import numpy as np
    from py3langid import modelio
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    from complianceguard import analyze

    monkeypatch.setenv("COMPLIANCEGUARD_CACHE", str(tmp_path))
    analyze._langid_model.cache_clear()
    try:
        first = analyze._langid_model()  # writes the copy
        assert list((tmp_path / "models").glob("py3langid-*/nextmove.npy"))
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
    # "promo code" is marked cross_language in the base pack: it is one in any language
    found = mentions(library, de, "Das neue Serum, promo code GLOW", language="de")
    assert [(m.term, m.language) for m in found if m.kind == "signal"] == [("promo code", "en")]
    # a term both the post's language and a cross-language list hold is reported in the post's language
    found = mentions(library, de, "Das neue Serum, link in bio", language="de")
    assert [(m.term.casefold(), m.language) for m in found if m.kind == "signal"] == [("link in bio", "de")]
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


# Matching errors (issue #14): homonyms, negation scope, denials ---------------------------------


@pytest.mark.parametrize("caption", ["Ad hoc thoughts on my routine", "I worked in advertising for years",
                                     "Watching Ad Astra tonight", "adidas shoes on sale", "add this to your cart",
                                     "This video is ad-free", "I hate hidden ads"])
@pytest.mark.parametrize("region", ["GB", "US"])
def test_homonyms_are_not_labels(library, region, caption):
    found = mentions(library, library.for_region(region), caption)
    assert not [m for m in found if m.kind in ("label", "insufficient")], kinds(found)


def test_a_homonym_cancels_only_what_it_overlaps(library, gb):
    found = mentions(library, gb, "Ad hoc review, #ad")
    assert [m.text for m in found if m.kind == "label"] == ["#ad"]


def test_not_labels_are_pack_data_merged_from_the_base(library):
    assert "ad hoc" in library.for_region("GB").pack.vocabulary["en"].not_labels
    assert "pub cachée" in library.for_region("FR").pack.vocabulary["fr"].not_labels


def test_a_negator_must_scope_over_the_label_itself(library, gb):
    assert [m.negated for m in mentions(library, gb, "No BS #ad") if m.kind == "label"] == [False]
    assert [m.negated for m in mentions(library, gb, "no bs, #ad") if m.kind == "label"] == [False]
    # over an article it still negates, in any case
    for caption in ("This was never an ad, just love it", "THIS WAS NEVER AN AD"):
        labels = [m for m in mentions(library, gb, caption) if m.kind == "label"]
        assert labels and all(m.negated for m in labels), caption


def test_a_negator_after_the_label_is_a_denial(library):
    us = library.for_region("US")
    found = mentions(library, us, "Sponsored by nobody, I just love it")
    assert [m.kind for m in found if m.kind in ("denial", "label")] == ["denial"]
    assert not [m for m in found if m.kind == "signal"], "the denial's words are no sponsor cue"


def test_a_denial_of_hidden_advertising_does_not_cancel_the_label(library):
    for region in ("FR", "BE"):
        found = mentions(library, library.for_region(region), "Pas de pub cachée ici : Publicité", language="fr")
        assert [(m.kind, m.text, m.negated) for m in found if m.kind in ("label", "denial")] == [
            ("label", "Publicité", False)], region
    found = mentions(library, library.for_region("FR"), "Pas de pub ici", language="fr")
    assert [m.kind for m in found] == ["denial"]


# Labels naming the advertiser (audit C3) ---------------------------------------------------------


@pytest.mark.parametrize("region,language,caption,named", [
    ("FI", "fi", "Mainos Glow | Uusi seerumini", "Mainos Glow"),
    ("FI", "fi", "#Mainos: @glowskincare uusi seerumini", "#Mainos: @glowskincare"),
    ("FI", "fi", "Mainos / Saatu Glow: uusi seerumini", "Mainos / Saatu Glow"),
    ("SE", "sv", "Reklam för Glow | Mitt nya serum", "Reklam för Glow"),
    ("DK", "da", "REKLAME for Glow", "REKLAME for Glow"),
    ("PL", "pl", "Płatna współpraca z @glow", "Płatna współpraca z @glow"),
])
def test_a_label_with_the_advertiser_is_matched_with_it(library, region, language, caption, named):
    found = mentions(library, library.for_region(region), caption, language=language)
    assert [(m.text, "{advertiser}" in m.term) for m in found if m.kind == "label"] == [(named, True)]


@pytest.mark.parametrize("caption", ["Mainos | Uusi seerumini", "Mainos uusi seerumi", "Mainos: Tänään uusi"])
def test_no_advertiser_after_the_label_leaves_the_plain_label(library, caption):
    found = mentions(library, library.for_region("FI"), caption, language="fi")
    assert [m.term for m in found if m.kind == "label"] == ["mainos"]


def test_the_declared_brand_names_the_advertiser_in_any_case(library):
    found = mentions(library, library.for_region("FI"), "Mainos glow | uusi", language="fi", brand="Glow")
    assert [m.term for m in found if m.kind == "label"] == ["mainos {advertiser}"]


@pytest.mark.parametrize("region,language,caption,fields", [
    ("FI", "fi", "MAINOS: Glow uusi seerumi @glowskincare", {}),
    ("FI", "fi", "MAINOS: Glow uusi seerumi", {"brand": "Glow Skincare"}),
    ("FI", "fi", "MAINOS: glow uusi seerumi", {"brand_handles": ["@glowskincare"]}),
    ("SE", "sv", "Reklam: Glow | Mitt nya serum @glowskincare", {}),
    ("SE", "sv", "Reklam: Glow | Mitt nya serum", {"brand": "Glow Skincare"}),
    ("SE", "sv", "Reklam: Glow | Mitt nya serum", {}),  # a name alone before the heading's separator
    ("FI", "fi", "Kaupallinen yhteistyö: Glow Skincare | Uusi seerumi", {}),
])
def test_a_name_after_a_separator_counts_where_it_starts_a_name_the_post_shows(library, region, language, caption,
                                                                               fields):
    found = mentions(library, library.for_region(region), caption, language=language, **fields)
    assert [m.term for m in found if m.kind == "label"] == [f"{caption.split(':')[0].lower()} {{advertiser}}"]


@pytest.mark.parametrize("caption", ["Mainos ✨ @glowskincare uusi seerumi", "✨MAINOS✨ @glowskincare uusi",
                                     "‼️MAINOS‼️ @glowskincare uusi", "❗️MAINOS❗️ @glowskincare uusi"])
def test_emoji_between_the_label_and_the_advertiser_join_them_as_a_colon_does(library, caption):
    found = mentions(library, library.for_region("FI"), caption, language="fi")
    assert [m.term for m in found if m.kind == "label"] == ["mainos {advertiser}"]


@pytest.mark.parametrize("region,language,caption,fields", [
    ("FI", "fi", "MAINOS: Glow uusi seerumi", {}),  # names nothing the post shows: a sentence after the label
    ("FI", "fi", "MAINOS: Tänään uusi seerumi @glowskincare", {}),  # the handle does not start with it
    ("FI", "fi", "MAINOS: Glow uusi seerumi", {"brand": "Lumo"}),
    ("SE", "sv", "Reklam: Glow mitt nya serum", {}),
    ("FI", "fi", "Mainos: Tänään testasin uuden seerumin", {}),  # a sentence, even with a capital
])
def test_a_capitalised_word_after_a_separator_that_names_nothing_is_refused(library, region, language, caption,
                                                                            fields):
    found = mentions(library, library.for_region(region), caption, language=language, **fields)
    assert [m.term for m in found if m.kind == "label"] == [caption.split(":")[0].lower()]


def test_a_handle_tagged_on_screen_names_the_shortened_advertiser_in_the_caption(library):
    fi = library.for_region("FI")
    caption = "MAINOS: Glow uusi seerumi"
    post = Submission(id="t", regions=["FI"], caption=caption)
    segments = [Segment(id="caption", channel="caption", text=caption),
                Segment(id="overlay:1", channel="overlay", text="@glowskincare", media="a.jpg")]
    found = Analyzer([fi]).mentions(segments, fi, "fi", post)
    assert [m.term for m in found if m.kind == "label" and m.channel == "caption"] == ["mainos {advertiser}"]


def test_needs_advertiser_on_label_present(engine):
    from complianceguard.model import Submission as Post

    def status(region, code, caption, language, **fields):
        item = engine.evaluate(Post(id="t", regions=[region], caption=caption, relationship="paid",
                                    language=language, **fields))
        return next(f.status for f in item.regions[region].findings if f.rule == code)

    assert status("FI", "FI105", "Mainos Glow | Uusi seerumini", "fi") == "pass"
    assert status("FI", "FI105", "Mainos | Uusi seerumini @glow", "fi") == "fail"  # `label`: right after
    assert status("SE", "SE108", "Reklam | Mitt nya serum från @glow", "sv") == "pass"  # `post`: anywhere
    assert status("SE", "SE108", "Reklam | Mitt nya serum", "sv") == "fail"
    assert status("FI", "FI105", "MAINOS: Glow uusi seerumi @glowskincare", "fi") == "pass"
    assert status("FI", "FI105", "MAINOS: Glow uusi seerumi", "fi", brand="Glow Skincare") == "pass"
    assert status("FI", "FI105", "MAINOS: Glow uusi seerumi", "fi") == "fail"
    assert status("SE", "SE108", "Reklam: Glow | Mitt nya serum", "sv", brand="Glow Skincare") == "pass"


# Lower confidence for "or an equivalent" wordings --------------------------------------------------


def test_term_confidence_lowers_a_weaker_labels_match(library):
    fr = library.for_region("FR")
    weak = [m for m in mentions(library, fr, "Glow m'a payé pour ce post", language="fr") if m.kind == "label"]
    canonical = [m for m in mentions(library, fr, "Publicité : mon sérum", language="fr") if m.kind == "label"]
    assert [m.confidence for m in weak] == [0.6] and [m.confidence for m in canonical] == [1.0]


def test_a_typographic_apostrophe_matches_the_straight_one(library, gb):
    assert [m.kind for m in mentions(library, gb, "This isn’t sponsored")] == ["denial"]
    fr = library.for_region("FR")
    assert [m.term for m in mentions(library, fr, "Glow m’a payé pour ce post", language="fr")
            if m.kind == "label"] == ["m'a payé pour"]
    assert [m.kind for m in mentions(library, fr, "Personne ne m’a payé pour ce post", language="fr")] == ["denial"]


def test_homonyms_cancel_fuzzy_matches_in_speech_and_on_screen(library, gb):
    for channel, text in (("speech", "I worked in advertising for ten years"), ("speech", "watch ad astra tonight"),
                          ("overlay", "Ad hoc")):
        found = Analyzer([gb]).mentions([Segment(id="s", channel=channel, text=text, media="v")], gb, "en",
                                        Submission(id="t", regions=["GB"]))
        assert not [m for m in found if m.kind in ("label", "insufficient")], (channel, text, kinds(found))


# A mention's line and how it was judged, each in its own field ---------------------------------------


def test_a_mention_keeps_its_line_in_context_and_its_judgement_in_why(library):
    from complianceguard.model import TimeSpan
    from complianceguard.packs.kinds.base import evidence_of

    us = library.for_region("US")
    note = "verified by rescoring: 0.62 of the two readings' probability"
    line = "this video is sponsored by Glow"
    segments = [Segment(id="caption", channel="caption", text="New serum"),
                Segment(id="speech:1", channel="speech", text=line, media="v.mp4",
                        time=TimeSpan(start_s=1, end_s=3), tentative=note)]
    found = Analyzer([us]).mentions(segments, us, "en", Submission(id="t", regions=["US"], caption="New serum"))
    by_matcher = {m.matcher: m for m in found}
    label, cue, read = by_matcher["phrase"], by_matcher["cue"], by_matcher["read"]
    assert (label.context, label.why, label.tentative) == (line, note, True)  # possibly said, and where
    assert cue.context == line and cue.why.startswith("commercial (cue score") and line not in cue.why
    assert read.context is None and read.why.startswith("sponsor read 1-3 s")  # a read spans lines
    for mention in (label, cue, read):  # evidence copies them: the line as context, the judgement as reason
        evidence = evidence_of(mention, "shown")
        assert (evidence.context, evidence.reason) == (mention.context, f"shown; {mention.why}")
    assert evidence_of(label).context[evidence_of(label).span.start:evidence_of(label).span.end] == label.text


def test_the_language_identifier_defers_the_candidate_columns_with_the_same_scores():
    """`_Columns` defers py3langid's `set_languages` copy: the same language and probability."""
    import numpy as np
    from py3langid.langid import LanguageIdentifier

    from complianceguard import analyze

    ptc, pc, classes, nextmove, row, output = analyze._langid_model()
    candidates = ("de", "en", "fr", "ja", "ko", "pl")
    plain = LanguageIdentifier(np.asarray(ptc), np.asarray(pc), classes, nextmove, output, norm_probs=True, tk_row=row)
    plain.set_languages(list(candidates))
    deferred = analyze._identifier(candidates)
    assert isinstance(deferred.nb_ptc, analyze._Columns)
    for text in ("Loving my new serum, use the code", "Ich liebe dieses Serum sehr", "광고 협찬 받았어요",
                 "本当に素晴らしい製品です", "Kocham to serum, dziękuję"):
        assert deferred.classify(text) == plain.classify(text)


def test_a_brand_partner_hashtag_must_name_a_brand_the_post_shows(library):
    """`#{advertiser}partner` (CA, US): the name inside the hashtag is the brand's (declared, tagged,
    or the start of a tagged handle); the creator's own name is no label (R-A:230 [M]); a post that
    shows no brand at all cannot tell, and the hashtag counts."""
    ca = library.for_region("CA")

    def labels(caption, **fields):
        return [m.text for m in mentions(library, ca, caption, **fields) if m.kind == "label"]

    assert labels("#JessSkisPartner my ski trip with @northpeak") == []
    assert labels("#NorthPeakPartner my ski trip with @northpeak") == ["#NorthPeakPartner"]
    assert labels("#NorthPartner my ski trip with @northpeak") == ["#NorthPartner"]
    assert labels("#GlowPartner my new serum", brand="Glow Skincare") == ["#GlowPartner"]
    assert labels("#JessSkisPartner my new serum", brand="Glow Skincare") == []
    assert labels("#GlowPartner my new serum") == ["#GlowPartner"]


def test_a_homonym_of_bare_words_does_not_cancel_the_hashtag_label(library):
    """AE "إعلان مهم" (an important announcement) is not a label, but "#إعلان مهم" is the hashtag label."""
    ae = library.for_region("AE")
    labels = lambda caption: [m.text for m in mentions(library, ae, caption, language="ar") if m.kind == "label"]  # noqa: E731
    assert labels("إعلان مهم لكل المتابعين") == []
    assert labels("#إعلان مهم جدا منتج جديد") == ["#إعلان"]


@pytest.mark.parametrize("caption", [
    "Mainos / Saatu Fjällkaffe | uusi kahvini @fjallkaffe",
    "Kaupallinen yhteistyö Fazerin kanssa | uusi suklaa @fazerfinland",
])
def test_the_advertiser_is_named_with_accents_and_case_endings(library, caption):
    """A name the post shows as a handle without its accents (@fjallkaffe) or with a Finnish case
    ending ("Fazerin" beside @fazerfinland) names the advertiser (fifth round, FI105)."""
    found = mentions(library, library.for_region("FI"), caption, language="fi")
    assert [m for m in found if m.kind == "label" and "{advertiser}" in m.term]


@pytest.mark.parametrize("caption", ["Kaupallinen yhteistyö Glow'n kanssa | uusi seerumi",
                                     "Kaupallinen yhteistyö Glow’n kanssa | uusi seerumi"])
def test_a_name_with_a_case_ending_after_an_apostrophe_names_the_advertiser(library, caption):
    """Eleventh round (FI105, R-E:354 [H]): Finnish writes the genitive of a foreign name with an
    apostrophe ("Glow'n kanssa"); the name before it is the advertiser's."""
    found = mentions(library, library.for_region("FI"), caption, language="fi", brand="Glow")
    assert [m.term for m in found if m.kind == "label"] == ["kaupallinen yhteistyö {advertiser}"]
