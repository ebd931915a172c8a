"""What the December 2026 audits left because it needed code (docs/pack-audit-2026-12-status.md):
a carousel labelled only on a later image (`which_frames: first`, DE123), vocabulary terms with a
word gap ("sent me * for free") and the placeholders `{handle}` / `{web-address}` (a whole term or a
word of one: "ganhei da {handle}"), the
DE presumption that a bare tag does not trigger (`presumed_commercial.not_presumed`), labels that
count only for some declared relationships in KR and BE (`counts_only_for`), and words the EU pack
counts only for an audience that speaks them (`audience_only`, C7)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from complianceguard.engine import Engine
from complianceguard.errors import PackError
from complianceguard.model import ItemResult, Submission
from complianceguard.packs.cases import evaluate_case
from complianceguard.packs.loader import PackLibrary, read_pack
from complianceguard.packs.schema import GAP_MAX_WORDS, Case, Pack, PresumedCommercial, Vocabulary, is_gap_term


@pytest.fixture(scope="module")
def engine(library: PackLibrary) -> Engine:
    return Engine(library)


def evaluate(engine: Engine, region: str, caption: str = "", **case) -> ItemResult:
    """A post as a pack case describes it (relationship `paid` unless given)."""
    return evaluate_case(engine, Case(caption=caption, **case), region)


def finding(item: ItemResult, region: str, code: str):
    return next(f for f in item.regions[region].findings if f.rule == code)


def signals(item: ItemResult, region: str) -> str:
    """The region's applicability line, which quotes the commercial signals it rests on."""
    return item.regions[region].applicability


# --- carousels: the label on the first image ------------------------------------------------------

def test_a_carousel_labelled_only_on_its_last_image_fails_de123(engine):
    item = evaluate(engine, "DE", "Mein neues Serum von @glowskincare", post_type="carousel", media="image", frames=5,
                    overlay=[{"text": "Werbung", "frame": 5}])
    result = finding(item, "DE", "DE123")
    assert result.status == "fail"
    assert "No label on image 1 of 5; one is needed on the first image" in result.message
    assert "Labelled: image 5." in result.message
    assert finding(item, "DE", "DE101").status == "pass", "the label is there, only late: DE123 alone says so"
    assert {ev.frame for ev in result.evidence} == {1, 5}  # the missing first image and the labelled last one


def test_a_carousel_label_on_the_first_image_or_in_the_caption_passes_de123(engine):
    first = evaluate(engine, "DE", "Mein neues Serum", post_type="carousel", media="image", frames=4,
                     overlay=[{"text": "Anzeige", "frame": 1}])
    assert finding(first, "DE", "DE123").status == "pass"
    in_caption = evaluate(engine, "DE", "Werbung | Mein neues Serum", post_type="carousel", media="image", frames=4)
    assert finding(in_caption, "DE", "DE123").status == "pass"
    single = evaluate(engine, "DE", "Mein neues Serum", media="image", overlay=[{"text": "Werbung"}])
    assert finding(single, "DE", "DE123").status == "not-applicable"


def test_an_unread_first_image_is_inconclusive_never_a_pass(engine, library):
    rule = next(r for r in library.for_region("DE").pack.rules if r.code == "DE123")
    assert rule.params.which_frames == "first"
    submission = Submission(id="post", regions=["DE"], caption="Mein neues Serum", relationship="paid",
                            post_type="carousel", media=["frame-1.jpg", "frame-2.jpg"])
    item = engine.evaluate(submission)  # the files do not exist: nothing on them is read
    assert finding(item, "DE", "DE123").status == "inconclusive"


# --- vocabulary: word gaps and placeholders --------------------------------------------------------

@pytest.mark.parametrize("caption, found", [
    ("Glow sent me this serum for free, so here it is", "sent me this serum for free"),
    ("Glow sent me their new vitamin serum for free", "sent me their new vitamin serum for free"),  # four words
    ("Glow sent me a brand new shiny vitamin serum for free", None),  # five words: over the bound
    ("Life sent me, for free, a lesson", None),  # the gap stops at punctuation
    ("Glow sent me for free", None),  # a gap is at least one word
])
def test_a_gap_term_matches_one_to_four_words_within_a_clause(engine, caption, found):
    assert GAP_MAX_WORDS == 4
    item = evaluate(engine, "GB", caption, relationship="unknown", language="en")
    line = signals(item, "GB")
    if found:
        assert f"'{found}'" in line and item.regions["GB"].verdict == "warn"
    else:
        assert "sent me" not in line


def test_a_german_gift_with_the_product_in_the_gap_is_only_likely_commercial(engine):
    item = evaluate(engine, "DE", "Mama hat mir dieses tolle Serum geschenkt", relationship="unknown", language="de")
    assert "'hat mir dieses tolle Serum geschenkt'" in signals(item, "DE")
    assert item.regions["DE"].verdict == "warn", "not_presumed: a gift may come from a person"
    free = evaluate(engine, "DE", "Glow hat mir das Serum kostenlos geschickt", relationship="unknown", language="de")
    assert free.regions["DE"].verdict == "fail", "received free of charge: presumed (BGH I ZR 35/21)"


def test_de_presumes_a_web_address_but_not_a_bare_handle(engine):
    address = evaluate(engine, "DE", "Mein neues Serum, mehr auf glowskincare.com", relationship="unknown",
                       language="de")
    assert address.regions["DE"].verdict == "fail"
    assert "treats such a post as commercial ('glowskincare.com'" in signals(address, "DE")
    handle = evaluate(engine, "DE", "Mein neues Serum @glowskincare", relationship="unknown", language="de")
    assert handle.regions["DE"].verdict == "warn"
    assert "likely commercial ('@glowskincare')" in signals(handle, "DE")
    declared = evaluate(engine, "DE", "Mein Kaffee mit @anna_berlin, mehr auf meinblog.de", relationship="none",
                        language="de")
    assert declared.regions["DE"].verdict == "pass"


def test_placeholders_are_de_only_a_bare_handle_is_no_signal_elsewhere(engine):
    item = evaluate(engine, "GB", "Coffee with @anna_london", relationship="unknown", language="en")
    assert item.regions["GB"].verdict == "pass"


def test_a_brand_handle_the_post_declares_is_still_presumed_in_de(engine):
    item = evaluate(engine, "DE", "Mein neues Serum @glowskincare", relationship="unknown", language="de",
                    brand="glowskincare")
    assert item.regions["DE"].verdict == "fail"


@pytest.mark.parametrize("region, language, caption, family", [
    ("BR", "pt", "Ganhei da @glowskin esse sérum maravilhoso, amei!", "minha mãe"),
    ("FR", "fr", "Merci @glowskin pour ce colis, j'adore ce sérum", "maman"),
    ("IT", "it", "Grazie @glowskin per il pacco, adoro questo siero", "mamma"),
    ("FR", "fr", "Merci pour ce colis @glowskin, j'adore ce sérum", "maman"),
    ("NL", "nl", "@glowskin bedankt voor dit pakketje, ik ben fan", "Mam"),
    ("CN", "zh", "感谢@glowskin寄来的礼物，超级好用", "妈妈"),
])
def test_a_gift_from_a_tagged_account_is_a_hint_where_a_gift_from_family_is_not(engine, region, language, caption,
                                                                                 family):
    item = evaluate(engine, region, caption, relationship="unknown", language=language)
    assert item.regions[region].verdict == "warn", "a gift from a tagged account: likely commercial"
    assert "@glowskin" in signals(item, region)
    from_family = evaluate(engine, region, caption.replace("@glowskin", family), relationship="unknown",
                           language=language)
    assert from_family.regions[region].verdict == "pass"


def test_a_label_inside_a_longer_gift_signal_is_still_the_label(engine):
    # NL lists "gekregen van" as the gift label; base lists "gekregen van {handle}" as a signal.
    item = evaluate(engine, "NL", "Gekregen van @glowskin: mijn nieuwe serum", relationship="gifted", language="nl")
    assert item.regions["NL"].verdict == "pass"
    assert "@glowskin" not in signals(item, "NL")


@pytest.mark.parametrize("term, gap", [("sent me * for free", True), ("#*partner", False), ("ad", False),
                                       ("hat mir * geschenkt", True)])
def test_gap_terms_are_told_from_hashtag_wildcards(term, gap):
    assert is_gap_term(term) is gap


@pytest.mark.parametrize("terms, problem", [
    (["* for free"], "needs words before and after"),
    (["sent me *"], "needs words before and after"),
    (["mehr auf{web-address}"], "words of their own"),
    (["#{handle}"], "words of their own"),
])
def test_a_malformed_gap_or_placeholder_is_refused(terms, problem):
    with pytest.raises(ValidationError, match=problem):
        Vocabulary(signals=terms)


def test_a_pack_with_a_malformed_gap_is_one_line_naming_file_and_field(tmp_path: Path):
    pack = tmp_path / "brand.yaml"
    pack.write_text(yaml.safe_dump({"id": "brand", "version": "1.0.0", "name": "Brand", "region": "GB",
                                    "vocabulary": {"en": {"signals": ["ok", "* for free"]}}}), "utf-8")
    with pytest.raises(PackError) as raised:
        read_pack(pack)
    message = str(raised.value)
    assert "\n" not in message and "brand.yaml" in message and "vocabulary.en.signals" in message


def test_not_presumed_names_vocabulary_terms():
    presumed = PresumedCommercial(cues=["any"], not_presumed=["{handle}"], why="w", source={"ref": "x"},
                                  confidence="low")
    assert presumed.not_presumed == ["{handle}"]


# --- relationship-limited labels: KR, BE ------------------------------------------------------------

@pytest.mark.parametrize("relationship, status", [("gifted", "pass"), ("unknown", "pass"), ("affiliate", "fail"),
                                                  ("paid", "fail")])
def test_kr_product_sponsorship_counts_only_for_a_free_product(engine, relationship, status):
    item = evaluate(engine, "KR", "#상품협찬 새로운 세럼 한 달 사용 후기", relationship=relationship, language="ko")
    result = finding(item, "KR", "KR101")
    assert result.status == ("warn" if status == "fail" and relationship == "unknown" else status)
    if status == "fail":
        assert "counts only for 'gifted' posts" in result.message


def test_kr_another_label_beside_product_sponsorship_still_counts(engine):
    item = evaluate(engine, "KR", "#광고 #상품협찬 새로운 세럼 후기", relationship="affiliate", language="ko")
    assert finding(item, "KR", "KR101").status == "pass"


@pytest.mark.parametrize("relationship, status", [("gifted", "pass"), ("unknown", "pass"), ("paid", "fail"),
                                                  ("affiliate", "fail")])
def test_be_gesponsord_counts_only_for_a_gift(engine, relationship, status):
    item = evaluate(engine, "BE", "#gesponsord Mijn nieuwe serum van @glowskincare", relationship=relationship,
                    language="nl")
    assert finding(item, "BE", "BE106").status == status


def test_gesponsord_stays_a_label_in_nl_where_the_limit_is_not_the_law(engine):
    item = evaluate(engine, "NL", "#gesponsord Mijn nieuwe serum van @glowskincare", language="nl")
    assert not any("counts only for" in f.message for f in item.regions["NL"].findings)


# --- audience_only: the EU pack's words for its own audience (C7) -------------------------------------

@pytest.mark.parametrize("region, status", [("EU", "pass"), ("DK", "pass"), ("DE", "fail"), ("IT", "fail")])
def test_bare_danish_reklame_counts_only_where_the_audience_reads_danish(engine, region, status):
    """Not AT: since the thirteenth round "Reklame" is a German label there of its own (R-E:112 [M])."""
    item = evaluate(engine, region, "Reklame | Mit nye serum fra @glowskincare", language="da")
    labels = [e for f in item.regions[region].findings for e in f.evidence
              if e.kind == "label" and e.text == "Reklame"]
    assert bool(labels) is (status == "pass")


@pytest.mark.parametrize("region, counted", [("EU", True), ("SE", True), ("FI", True), ("PL", False), ("CZ", False)])
def test_bare_swedish_reklam_counts_only_where_the_audience_reads_swedish(engine, region, counted):
    item = evaluate(engine, region, "Reklam | Mitt nya serum från @glowskincare", language="sv")
    labels = [e for f in item.regions[region].findings for e in f.evidence if e.kind == "label" and e.text == "Reklam"]
    assert bool(labels) is counted


def test_the_eu_pack_alone_passes_a_danish_post_and_not_a_polish_one_without_ads(engine):
    assert finding(evaluate(engine, "EU", "Reklame | Mit nye serum", language="da"), "EU", "EU101").status == "pass"
    without_ads = evaluate(engine, "EU", "Moje nowe serum bez reklam", language="pl")
    assert finding(without_ads, "EU", "EU101").status == "fail"


def test_audience_only_terms_must_be_terms_of_the_language():
    with pytest.raises(ValidationError, match="audience_only: 'reklame' is not one of this language's terms"):
        Vocabulary(labels=["reklame for {advertiser}"], audience_only=["reklame"])
    vocabulary = Vocabulary(labels=["reklame"], audience_only=["reklame"])
    assert vocabulary.applies_in("reklame", "da", ["da"]) and not vocabulary.applies_in("reklame", "da", ["de"])
    assert vocabulary.applies_in("other", "da", ["de"])


def test_no_shipped_pack_counts_an_audience_only_word_outside_its_audience(library):
    """Guards the merge: a pack that extends one with `audience_only` words and has a block of the
    same language keeps the terms; they must then be in its own audience."""
    marked = {(language, term) for resolved in library.packs for language, vocabulary in
              resolved.pack.vocabulary.items() for term in vocabulary.audience_only}
    eu = library.get("eu-ucpd").pack.vocabulary
    assert ("da", "reklame") in marked and ("sv", "reklam") in marked
    for resolved in library.packs:
        for language, term in marked:
            vocabulary = resolved.pack.vocabulary.get(language)
            if vocabulary is None or term not in vocabulary.labels or language in resolved.pack.languages:
                continue
            assert term in vocabulary.audience_only and language in eu, (resolved.pack.id, language, term)


def test_a_gap_term_works_as_a_label_in_a_pack_that_lists_one(tmp_path: Path):
    pack = tmp_path / "brand.yaml"
    pack.write_text(yaml.safe_dump({
        "id": "brand-gb", "version": "1.0.0", "name": "A brand's policy", "extends": "gb-asa",
        "vocabulary": {"en": {"labels": ["paid me * to post"]}}}), "utf-8")
    library = PackLibrary(extra=[pack])
    engine = Engine(library)
    paid = engine.evaluate(Submission(id="p", regions=["GB"], caption="Glow paid me a lot to post this serum",
                                      relationship="paid", language="en"))
    result = finding(paid, "GB", "GB101")
    assert result.status == "pass" and "'paid me a lot to post'" in result.message
    too_far = engine.evaluate(Submission(id="q", regions=["GB"], relationship="paid", language="en",
                                         caption="Glow paid me back the money I lent them, so I will post"))
    assert finding(too_far, "GB", "GB101").status == "fail"


# --- relationships the research does not settle (`disclosure_unsettled_for`) ---------------------

@pytest.mark.parametrize("region", ["DE", "FR", "SE", "IE", "EU"])
def test_an_unlabelled_employee_post_warns_where_no_source_speaks_of_employees(engine, region):
    """Neither required nor exempt: checked, a missing label a warning, never a fail or a silent pass."""
    result = evaluate(engine, region, "My new serum from Glow, the company I work for", relationship="employee")
    assert result.regions[region].verdict == "warn"
    assert "does not settle" in result.regions[region].applicability
    assert not any(f.status == "fail" for f in result.regions[region].findings)


def test_an_employee_post_is_still_required_where_the_research_names_employees(engine):
    result = evaluate(engine, "GB", "My new serum from Glow, the company I work for", relationship="employee")
    assert result.regions["GB"].verdict == "fail"


def test_a_relationship_both_required_and_unsettled_is_refused():
    with pytest.raises(ValidationError, match="disclosure_unsettled_for: 'employee'"):
        Pack(id="x", version="1.0.0", name="x", region="XX", disclosure_required_for=["paid", "employee"],
             disclosure_unsettled_for=["employee"])
