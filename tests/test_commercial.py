"""Commercial-content analysis: cues, negation, scoring, evidence, and how the engine uses them.

Every example is hand-written (no dataset rows): sponsor reads as auto-captions write them (no
punctuation), affiliate notes as video descriptions write them, sponsored captions.
"""

from __future__ import annotations

import pytest
from conftest import finding

from complianceguard.analyze import Analyzer
from complianceguard.commercial import (
    CueFileError,
    assess,
    default_analyzer,
    load_cues,
    signal_mentions,
)
from complianceguard.extract import described
from complianceguard.model import Segment, Submission, TimeSpan

# One hand-written example per cue in data/commercial.yaml: (text, the cue it must show).
CUE_EXAMPLES = [
    ("this video is sponsored by glow skincare", "sponsor"),
    ("so excited to have partnered with @glowskin on this", "partnership"),
    ("we teamed up with the glow team for this one", "collaboration"),
    ("use code RUN15 at checkout", "discount-code"),
    ("I earn a small commission if you buy through the links below", "affiliate"),
    ("thanks to our sponsor for making this possible", "sponsor"),
    ("i want to thank my sponsor", "sponsor"),
    ("a few sponsors reached out this year", "sponsor-word"),
    ("the affiliate network pays monthly", "affiliate-word"),
    ("Desk lamp: https://amzn.to/3AbCdEf", "affiliate-url"),
    ("my playlist: https://bit.ly/3xYzAbc", "link-shortener"),
    ("这款精华 https://item.jd.com/100012345678.html", "shop-url"),
    ("this serum was kindly gifted by the brand", "gifted"),
    ("thank you for the gift", "gift-thanks"),
    ("thank you @glowhotel for having me this weekend", "hosted"),
    ("just go to glow dot com slash anna", "vanity-url"),
    ("get 20 percent off your first box", "discount"),
    ("grab it at the link in the description", "link-cta"),
    ("head over to glow dot com to see more", "visit-site"),
    ("more recipes on www.example.org", "web-address"),
    ("they have a 30 day free trial", "trial-offer"),
    ("it is free to download on ios and android", "signup"),
    ("the app makes it super easy to plan meals", "product-pitch"),
    ("our merch store is finally open", "self-promotion"),
    ("new hoodies and other merchandise are coming", "self-promotion-hint"),
    ("the cream is formulated with shea butter", "product-claim"),
    ("the jacket is available now in stores", "shop-cta"),
    ("their new collection drops friday", "product-launch"),
    ("I am obsessed with this cleanser", "endorsement"),
    ("it is giveaway time on the channel", "giveaway"),
    ("speaking of long days", "segue"),
    ("brunch with @lucy_m today", "account-tag"),
    ("the softest hoodie from @glowwear #glowwearcrew", "brand-hashtag"),
    ("my new bag from @glowwear goes with everything", "brand-source"),
]


def cue_ids(text: str) -> set[str]:
    return {c.id for c in assess(text).counted}


@pytest.mark.parametrize(("text", "cue"), CUE_EXAMPLES)
def test_each_cue_is_found(text, cue):
    assert cue in cue_ids(text)


def test_every_cue_in_the_file_has_an_example():
    assert set(default_analyzer().book.cues) == {cue for _, cue in CUE_EXAMPLES}


def test_a_spoken_sponsor_read_without_punctuation_is_commercial_with_its_evidence():
    said = "and you can use offer code anna for 25 percent off at the link below"
    result = assess(said)
    assert result.commercial and result.score == pytest.approx(2.2)
    evidence = {c.id: said[c.start:c.end] for c in result.counted}
    assert evidence == {"discount-code": "offer code", "discount": "25 percent off", "link-cta": "link below"}
    assert result.explain() == ("commercial (cue score 2.2 >= threshold 1): discount code 'offer code' +1; "
                                "discount or deal '25 percent off' +0.6; link call to action 'link below' +0.6")


def test_ordinary_talk_scores_nothing():
    for text in ("good morning everyone today we are making a simple pasta salad",
                 "Sunday hike with the dog, the light was unreal #nature",
                 "the code below sorts the list in place", "only 20 % of people finish the course"):
        result = assess(text)
        assert not result.commercial and result.score == 0, text


def test_one_hint_is_not_enough_two_are():
    assert not assess("links to my other videos are in the description below").commercial
    assert assess("start your free trial with the link in the description").commercial


def test_a_not_cue_phrase_cancels_the_cue_inside_it():
    """Eleventh round: "a sponsored walk" is fundraising (`not_cues`); "sponsored" elsewhere still counts."""
    charity = assess("Doing a sponsored walk for the hospice, thanks @stchristophers for organising")
    assert not charity.commercial and "sponsor-word" not in {c.id for c in charity.cues}
    assert assess("this walk is sponsored, thanks @glowskin").commercial


def test_thanks_for_a_gift_needs_a_brand_beside_it():
    """Family send parcels too: thanks for a gift is a strong hint, commercial with a tagged brand."""
    for family in ("Thanks mum for the gift", "my sister sent me this jumper", "thanks dad for sending me these"):
        assert not assess(family).commercial, family
    assert assess("Thanks @glowskin for the gift").commercial
    assert assess("Glow sent me this serum, use code GLOW20").commercial


def test_a_cue_counts_once_however_often_it_is_said():
    once = assess("link below")
    thrice = assess("link below link below and again the link below")
    assert once.score == thrice.score == 0.6 and len(thrice.counted) == 3


@pytest.mark.parametrize("text", [
    "this video is not sponsored",
    "FTC: this is not a sponsored video",
    "that is not an affiliate link, I just like the shop",
    "no promo code needed, it is free for everyone",
    "this video isn't sponsored by anyone",
    "nobody gifted by anyone here",
    "I am not being sponsored for this review",
    "this channel has never been sponsored",
    "that is not actually an affiliate link",
])
def test_negated_cues_count_nothing_and_are_reported(text):
    result = assess(text)
    assert not result.commercial and result.score == 0
    assert result.cues and all(c.negated for c in result.cues if c.id in ("sponsor", "sponsor-word", "affiliate",
                                                                           "discount-code", "gifted"))
    assert "negated, not counted" in result.explain()


def test_a_negator_far_from_the_cue_does_not_negate_it():
    assert assess("not only is this sponsored by glow but they sent extra").commercial
    # a long word that is no filler ends the negation's reach, as a short one does not
    assert assess("not everything here is sponsored by glow").commercial


def test_neighbour_conditions():
    assert "discount" in cue_ids("save with $10 off today")
    assert "discount" not in cue_ids("we paid 10 off and on all year")  # no currency before the number
    assert "discount-code" in cue_ids("code GLOW20 works all week")
    assert "discount-code" not in cue_ids("the code glow is lowercase")  # not a code-like token
    assert "hosted" in cue_ids("thanks @glowhotel")
    assert "hosted" not in cue_ids("thanks everyone")


def test_hashtags():
    assert "link-cta" in cue_ids("new post up #linkinbio")
    assert "sponsor" in cue_ids("morning routine #GlowPartner")
    assert not assess("I paid for this myself #notsponsored").commercial
    assert "sponsor" in cue_ids("beach day #SponsoredByGlow")  # a hashtag opening with the label
    assert "gifted" in cue_ids("new serum #GiftedByGlow")
    assert "sponsor" not in cue_ids("beach day #notsponsoredatall")  # the label inside, not at the start
    assert "sponsor" not in cue_ids("beach day #sponsoredx")  # three more letters at least


def test_affiliate_web_addresses_need_the_programme_tracking():
    tagged = assess("Lamp: https://www.amazon.com/dp/B00X?tag=anna-20")
    assert tagged.commercial and "affiliate web address (amazon-associates)" in tagged.explain()
    untagged = assess("Lamp: https://www.amazon.com/dp/B00X")
    assert not untagged.commercial and "affiliate-url" not in {c.id for c in untagged.cues}


def test_a_shortened_link_is_commercial_only_with_a_call_to_action_beside_it():
    alone = assess("full playlist: https://bit.ly/3xYzAbc")
    assert not alone.commercial and "link-shortener" in {c.id for c in alone.cues}
    assert assess("Buy it here: https://bit.ly/3xYzAbc").commercial
    assert assess("click this link to get yours https://goo.gl/AbCd12").commercial
    assert not assess("click this link for part 2 of the series").commercial  # a link pointed at, no address


@pytest.mark.parametrize("text", [
    "Die Amazon-Links sind Partnerlinks: ich bekomme eine kleine Provision.",
    "Als Amazon-Partner verdiene ich an qualifizierten Verkäufen.",
    "En tant que Partenaire Amazon, je réalise un bénéfice sur les achats remplissant les conditions requises.",
    "Como afiliado de Amazon, obtengo ingresos por las compras adscritas que cumplen los requisitos aplicables.",
    "In qualità di affiliato Amazon io ricevo un guadagno dagli acquisti idonei.",
    "Als Amazon-partner verdien ik aan kwalificerende aankopen.",
    "Como associado da Amazon, ganho com compras qualificadas.",
    "Ces liens sont des liens affiliés.",
    "Anzeige | neue Jacke von @glowwear",
])
def test_affiliate_notes_and_ad_labels_in_the_packs_languages_are_commercial(text):
    assert assess(text).commercial


@pytest.mark.parametrize("text", [
    "Ich bekomme keine Provision für diesen Link.",   # no commission: the bare noun is not a cue
    "the commission met on tuesday",                 # English "commission" alone
    "keine Werbung, alles selbst gekauft",           # a negated ad label
])
def test_commission_words_need_their_note_and_negation_holds(text):
    assert not assess(text).commercial


def test_cue_offsets_point_into_the_original_text_of_a_segment():
    caption = "Ｕse my code GLOW20 and swipe up"  # a full-width U: NFKC folds it, evidence keeps it
    segment = Segment(id="caption", channel="caption", text=caption)
    mentions = signal_mentions([segment], [])
    assert [m.text for m in mentions] == ["Ｕse my code GLOW20", "swipe up"]
    assert all(caption[m.span.start:m.span.end] == m.text for m in mentions)
    assert mentions[0].kind == "signal" and mentions[0].term == "commercial cue: discount code"
    assert mentions[0].why.startswith("commercial (cue score 1.6 >= threshold 1)") and mentions[0].context is None


def test_segments_below_the_threshold_give_no_mentions():
    segment = Segment(id="caption", channel="caption", text="links to my other videos are below")
    assert signal_mentions([segment], []) == []


def test_a_sponsor_read_split_over_transcript_lines_is_one_read():
    lines = [Segment(id="speech:1", channel="speech", text="and you can start your free trial", media="v.mp4",
                     time=TimeSpan(start_s=40, end_s=43)),
             Segment(id="speech:2", channel="speech", text="with the link in the description", media="v.mp4",
                     time=TimeSpan(start_s=43, end_s=46)),
             Segment(id="speech:3", channel="speech", text="with the link in the description", media="v.mp4",
                     time=TimeSpan(start_s=200, end_s=203))]
    assert not assess(lines[0].text).commercial and not assess(lines[1].text).commercial
    found = signal_mentions(lines, [])
    assert {(m.segment, m.text) for m in found} == {("speech:1", "free trial"),
                                                   ("speech:2", "link in the description")}
    assert found[0].context == "and you can start your free trial"  # the line the cue is in, which span indexes
    assert found[0].why.startswith("commercial (cue score") and " in \"" not in found[0].why


def test_pack_signals_are_not_repeated_as_cues(library):
    gb = library.for_region("GB")
    caption = "Use my code GLOW20 for 20% off, link in bio"
    post = Submission(id="t", regions=["GB"], caption=caption)
    found = Analyzer([gb]).mentions([Segment(id="caption", channel="caption", text=caption)], gb, "en", post)
    signals = sorted((m.span.start, m.text) for m in found if m.kind == "signal")
    assert signals == [(0, "Use my code"), (caption.index("20%"), "20% off"), (caption.index("link"), "link in bio")]
    assert [m.term for m in found if m.text == "20% off"] == ["commercial cue: discount or deal"]


def test_an_undeclared_post_with_cues_is_likely_commercial_and_says_why(check):
    item = check("Get 20% off your first order with the link in the description", "US", relationship="unknown")
    assert "likely commercial ('20% off your first', 'link in the description')" in item.regions["US"].applicability
    casual = check("Sunday hike with the dog, the light was unreal", "US", relationship="unknown")
    assert casual.regions["US"].applicability.startswith("relationship not declared and no commercial signals")


def test_a_spoken_sponsor_read_without_a_disclosure_fails_with_the_cues_as_evidence(engine):
    post = Submission(id="t", regions=["US"], caption="#ad my week", relationship="paid")
    said = [("and you can start your free trial", 40.0, 43.0), ("with the link in the description", 43.0, 46.0)]
    item = engine.evaluate(post, described(post, "video", 60, [], said))
    result = finding(item, "US", "US109")
    assert result.status == "fail" and "Sponsor read at 40-43 s ('free trial')" in result.message
    assert result.evidence[0].reason.startswith("commercial (cue score 1.2 >= threshold 1): free trial")
    disclosed = said + [("this part is sponsored by glow", 38.0, 40.0)]
    item = engine.evaluate(post, described(post, "video", 60, [], disclosed))
    assert finding(item, "US", "US109").status == "pass"


def test_a_bad_cue_file_is_one_clear_line():
    with pytest.raises(CueFileError, match=r"^commercial\.yaml: field threshold: Input should be greater than 0$"):
        load_cues("version: 1\nthreshold: 0\nnegation: {window: 3, filler_chars: 3, negators: [not]}\n"
                  "cues: {}\naffiliate_urls: {}\n", "commercial.yaml")
    reads = ("reads: {lookback_s: 1, lead_s: 0, max_gap_s: 1, tail_s: 0, reach_s: 1, anchor_window_s: 0, "
             "brand_repeats: 2, run_s: 1, brand_window_s: 0, far_brand_extra: 0, pitch_probability: 0.5, "
             "seed_probability: 0.5, seed_weight: 1, evidence_gain: 1, "
             "segues: [], returns: []}\n")
    with pytest.raises(CueFileError, match=r"^commercial\.yaml: field affiliate_urls: .*'x\(' is not a regular"):
        load_cues("version: 1\nthreshold: 1\nnegation: {window: 3, filler_chars: 3, negators: [not]}\n"
                  "cues: {}\n" + reads + "affiliate_urls: {shop: ['x(']}\n", "commercial.yaml")
    with pytest.raises(CueFileError, match=r"^commercial\.yaml: invalid YAML"):
        load_cues("cues: [", "commercial.yaml")
    with pytest.raises(CueFileError, match=r"needs an entry for the computed cue 'affiliate-url'"):
        load_cues("version: 1\nthreshold: 1\nnegation: {window: 3, filler_chars: 3, negators: [not]}\n"
                  "cues: {}\n" + reads + "affiliate_urls: {}\n", "commercial.yaml")


def test_a_third_party_read_thanking_the_sponsor_for_the_video_is_a_read():
    said = "huge thanks to glow for making this video possible"
    assert "sponsor" in cue_ids(said) and assess(said).commercial
    assert not assess("thanks to my editor this video was finished on time").commercial


def test_self_promotion_is_commercial_and_says_it_is_self_promotion():
    said = "join us on patreon or grab a shirt from our merch store, link in the description"
    result = assess(said)
    assert result.commercial and {c.id for c in result.counted} >= {"self-promotion"}
    # Selling one's own things is a hint on its own (no third party to disclose): it needs a second cue.
    assert not assess("my merch store is open").commercial
    assert "(self-promotion)" in result.explain()
    assert not assess("sorry there is no patreon for this channel").commercial  # negated
    assert "self-promotion" not in cue_ids("we watched the patrons leave the theatre")  # a hint, not a plug
    assert not assess("band merchandise from the nineties").commercial  # a hint alone is not enough


def test_like_and_subscribe_reminders_are_not_commercial_speech():
    # No product and no payment: interaction reminders are left out of the commercial signal on
    # purpose, so the sponsor-read check does not ask "thanks for watching" for an #ad.
    for said in ("thanks for watching and dont forget to like and subscribe",
                 "hit the like button and ring the notification bell see you next time"):
        assert assess(said).score == 0, said


def test_gifting_and_giveaway_wording():
    assert "gift-thanks" in cue_ids("the team sent me these to try out")
    assert "giveaway" in cue_ids("we are giving away three of these")
    assert "hosted" in cue_ids("thanks to our friends at glow for the coffee")


def test_product_claims_and_endorsement_are_hints_that_need_more():
    claim = "a lightweight formula packed with vitamin c"
    assert "product-claim" in cue_ids(claim) and not assess(claim).commercial
    assert "product-claim" not in cue_ids("the formula is not cruelty-free")  # negated
    assert "endorsement" in cue_ids("i'm loving this cleanser")
    assert not assess("i'm loving the weather this week").commercial
    assert assess("been loving this serum from @glowskin it is formulated with green tea").commercial


def test_a_tagged_brand_with_its_campaign_hashtag_is_a_hint_that_needs_one_more_cue():
    assert "brand-hashtag" in cue_ids("summer nights in the new hoodie @glowwear #glowwearsummer")
    assert not assess("dinner with @lucymartin #lucymartin turns thirty").commercial  # a friend, tagged twice
    assert assess("summer nights in the new hoodie @glowwear #glowwearsummer, link in bio").commercial
    assert "brand-hashtag" not in cue_ids("summer nights with @lucy_m #summer")  # the tag is not in a hashtag


def test_caption_wording_of_links_giveaways_and_recommendations():
    assert "link-cta" in cue_ids("new video is up, link in the bio")
    assert "giveaway" in cue_ids("comment below to win a set of three")
    assert "endorsement" in cue_ids("perfect for long flights, it lives in my skincare routine")
    # bare "recommend" / "you need" are ordinary talk in transcripts: not cues
    assert "endorsement" not in cue_ids("you need to tighten this bolt first, I would recommend a torque wrench")


def test_a_strong_hint_beside_a_tagged_account_is_commercial_a_tag_alone_is_not():
    assert assess("20% off everything this weekend @glowwear").commercial  # the hint is about the tagged brand
    assert assess("giveaway time with @glowwear").commercial
    assert not assess("brunch with @lucy_m today").commercial
    assert not assess("brunch with @lucy_m and @tom.k today").commercial  # a tag counts once, however many
    assert not assess("obsessed with this view @lucy_m").commercial  # a weak hint and a tag: not yet


def test_a_brand_named_as_a_products_source_is_a_hint_that_needs_one_more_cue():
    assert "brand-source" in cue_ids("the new @glowskin serum is here")
    assert "brand-source" in cue_ids("on my way with the help of @glowfit shakes")
    assert not assess("my new bag from @glowwear").commercial  # alone: a hint
    assert assess("my new bag from @glowwear, shop the look at the link in bio").commercial
    assert "brand-source" not in cue_ids("photo by @anna_shoots")  # people credited for the picture
    assert "brand-source" not in cue_ids("wearing @glowwear today")
    assert "brand-source" not in cue_ids("a postcard from Lisbon")  # no tagged account


def test_a_plug_for_the_creators_own_merch_is_not_a_sponsor_read_to_disclose(engine):
    """Commercial speech, but no third party: the read is marked self-promotion and the US
    sponsor-read rule (US109) does not ask for a label near it; a brand's code still does."""
    post = Submission(id="t", regions=["US"], caption="#ad my week", relationship="paid")
    plug = [("grab a hoodie from my merch store", 50.0, 53.0), ("link in the description", 53.0, 56.0)]
    item = engine.evaluate(post, described(post, "video", 60, [], plug))
    assert {m.category for m in item.mentions if m.kind == "signal" and m.channel == "speech"} == {"self-promotion"}
    result = finding(item, "US", "US109")
    assert result.status == "not-applicable" and "Only self-promotion heard" in result.message
    read = plug + [("and use code GLOW20 for twenty percent off", 40.0, 43.0)]
    assert finding(engine.evaluate(post, described(post, "video", 60, [], read)), "US", "US109").status == "fail"


# Sponsor reads as timed spans (issue #17) -----------------------------------------------------

READ = [
    "so that is how the engine works on the inside",
    "but first a quick word from today's sponsor",
    "squarespace is the all in one platform to build a website",
    "their templates are beautiful and you can change everything",
    "go to squarespace dot com slash anna for ten percent off",
    "anyway back to the video",
    "the engine has four cylinders and a turbo",
]


def timed(lines, step=4.0, media="v"):
    return [Segment(id=f"speech:{i + 1}", channel="speech", text=t, media=media,
                    time=TimeSpan(start_s=i * step, end_s=(i + 1) * step)) for i, t in enumerate(lines)]


def test_a_sponsor_read_is_a_span_from_the_segue_to_the_return_with_its_brand():
    from complianceguard.sponsor_reads import sponsor_reads
    reads = sponsor_reads(timed(READ))
    assert [(r.start_s, r.end_s, r.brand) for r in reads] == [(4.0, 20.0, "squarespace")]
    assert "segue 'but first'" in reads[0].why and "return to the content" in reads[0].why


def test_the_pitch_without_cue_words_between_segue_and_code_is_inside_the_read():
    """Only the cue sentences used to be flagged; the pitch around them belongs to the read."""
    from complianceguard.sponsor_reads import sponsor_reads
    (read,) = sponsor_reads(timed(READ))
    assert read.start_s <= 12.0 < read.end_s  # "their templates are beautiful ..." has no cue word


BRAND_READ = [
    "the gearbox came apart in three pieces",          # 0-4 s: content
    "and we had to order a new bearing",               # 4-8
    "it took about a week to arrive",                  # 8-12
    "which gave me time to learn some video editing",  # 12-16
    "on skillshare an online learning community",      # 16-20: the brand, no cue word
    "with thousands of classes taught by experts",     # 20-24
    "skillshare has classes on editing and design",    # 24-28: the brand again
    "that i watched in the evenings this week",        # 28-32
    "the first 500 people to sign up using the link in the description get two months of skillshare for free",
    "anyway back to the video",                        # 36-40: the return
    "skillshare was not used for the gearbox",         # 40-44: the brand after the return
    "the bearing fits and the gearbox turns",          # 44-48
]


def test_the_pitch_that_names_the_brand_before_the_first_cue_is_inside_the_read():
    """A read names its brand again and again: the lines naming it carry the read where the pitch
    has no cue word, back from the sign-up offer to the first 'skillshare' and its lead-in."""
    from complianceguard.sponsor_reads import sponsor_reads
    (read,) = sponsor_reads(timed(BRAND_READ))
    assert read.brand == "skillshare"
    lead = default_analyzer().book.reads.lead_s
    assert 16.0 - lead <= read.start_s <= 16.0  # the brand first said at 16 s, with the lead-in before it
    assert read.start_s < 32.0 - lead  # without the brand, the read would open with the lead-in before the cue
    assert read.end_s == 36.0  # the return to the content ends it; the brand said after it does not


def test_a_cue_alone_does_not_pull_in_far_content_that_repeats_a_word():
    """The brand is only what is said next to the anchors and comes back near them."""
    from complianceguard.sponsor_reads import sponsor_reads
    lines = ["the gearbox came apart again"] + ["we talk about other things now"] * 30 + [
        "the gearbox is back", "use code gearbox twenty for ten percent off at the link below", "the gearbox turns"]
    (read,) = sponsor_reads(timed(lines))
    assert read.start_s >= 100.0  # not back to the gearbox said two minutes before


def test_cues_spread_over_half_a_minute_anchor_a_read_together():
    """Neither line is commercial alone, nor with the lines of the 15 s window; 20 s apart, they are
    one read ("the first 500 people to sign up" ... "the link in the description")."""
    from complianceguard.sponsor_reads import sponsor_reads
    lines = ["we tested the boards all week", "the first 500 people to sign up get a month for nothing",
             "it has courses on soldering", "and on reading schematics", "and on firmware",
             "all of it is in the link in the description", "now the second board", "it is smaller"]
    (read,) = sponsor_reads(timed(lines))
    assert read.start_s <= 4.0 and read.end_s >= 24.0


def test_talk_about_writing_code_is_no_sponsor_read():
    from complianceguard.sponsor_reads import sponsor_reads
    assert sponsor_reads(timed(["i spent the weekend writing code", "the code compiles now",
                                "next we refactor the code and write tests"])) == []


def test_ordinary_speech_and_self_promotion_are_no_sponsor_read():
    from complianceguard.sponsor_reads import sponsor_reads
    assert sponsor_reads(timed(["today we are building a desk", "first we cut the legs to length"])) == []
    assert sponsor_reads(timed(["our merch store is finally open", "new hoodies and merchandise are in"])) == []


def test_the_read_is_a_timed_signal_mention_that_the_sponsor_read_check_uses(library):
    pack = library.for_region("US")
    found = Analyzer([pack]).mentions(timed(READ), pack, "en", Submission(id="t", regions=["US"]))
    (read,) = [m for m in found if m.term == "sponsor read"]
    assert (read.kind, read.channel, read.time.start_s, read.time.end_s, read.brand) == (
        "signal", "speech", 4.0, 20.0, "squarespace")


def test_the_segue_and_return_words_are_data_in_the_cue_file():
    reads = default_analyzer().book.reads
    assert "but first" in reads.segues and "back to the video" in reads.returns
    from complianceguard import commercial
    with pytest.raises(CueFileError, match="reads"):
        load_cues(commercial.resources.files("complianceguard").joinpath(commercial.CUES_FILE).read_text("utf-8")
                  .replace("\nreads:", "\nreads_renamed:"))


# The trained likely-commercial signal (signal_model.py) ---------------------------------------


def test_the_model_gives_a_score_and_its_top_words():
    from complianceguard.signal_model import score
    result = score("Loving this new serum, it makes my skin glow. Get yours now!")
    assert result.commercial and result.probability >= result.threshold
    assert result.top and result.top[0][0] == "loving" and all(c > 0 for _, c in result.top)
    assert "top words: 'loving'" in result.explain()
    assert not score("I spent the weekend writing code").commercial


def test_the_model_raises_likely_commercial_only_where_nothing_else_does(engine):
    caption = "Loving this new serum, it makes my skin glow. Get yours now!"
    item = engine.evaluate(Submission(id="t", regions=["US"], caption=caption, relationship="unknown"))
    model = [m for m in item.mentions if m.term.startswith("commercial model:")]
    assert len(model) == 1 and model[0].kind == "signal" and "model score" in model[0].why
    assert item.regions["US"].applicability.startswith("relationship not declared; likely commercial")
    labelled = engine.evaluate(Submission(id="t", regions=["US"], caption=caption + " #ad", relationship="unknown"))
    assert not [m for m in labelled.mentions if m.term.startswith("commercial model:")]


def test_the_model_never_passes_a_rule_and_never_reads_transcripts(library):
    from complianceguard.signal_model import model_mentions
    said = [Segment(id="speech:1", channel="speech", text="Loving this new serum, it makes my skin glow",
                    media="v", time=TimeSpan(start_s=0, end_s=4))]
    assert model_mentions(said, "en") == []
    caption = [Segment(id="caption", channel="caption", text="Loving this new serum, it makes my skin glow")]
    assert [m.kind for m in model_mentions(caption, "en")] == ["signal"]
    assert model_mentions(caption, "de") == []  # trained on English captions only


def test_below_its_threshold_the_model_is_one_hint_beside_the_cues():
    """At 0.5 <= score < 0.9 the model weighs hint_weight on the cue scale: with a shop call to action
    (0.4) it reaches the cue threshold; alone, or beside a cue on a caption it scores below 0.5, not."""
    from complianceguard.signal_model import default_model, model_mentions, score
    model = default_model()
    assert (model.hint_probability, model.hint_weight) == (0.5, 0.6)

    def caption(text: str) -> list[Segment]:
        return [Segment(id="caption", channel="caption", text=text)]

    pitched = "A cozy evening with my new candle, now available at the shop downtown"
    assert 0.5 <= score(pitched).probability < 0.9 and not assess(pitched).commercial
    found = model_mentions(caption(pitched), "en")
    assert [m.kind for m in found] == ["signal"]
    assert found[0].why.startswith("model score 0.76 without the cues' words >= hint 0.5 (+0.6) with cues 0.4 "
                                   "(shop call to action")
    assert ": 1 >= cue threshold 1; top words: " in found[0].why
    no_cue = "A cozy evening with my new candle"
    assert 0.5 <= score(no_cue).probability < 0.9 and model_mentions(caption(no_cue), "en") == []
    # a tagged account is no cue of its own for the hint (model_support: false): friends are tagged too
    tagged = "A cozy evening with my new candle @lucy_m"
    assert [c.id for c in assess(tagged).counted] == ["account-tag"]
    assert 0.5 <= score(tagged).probability < 0.9 and model_mentions(caption(tagged), "en") == []
    ordinary = "Weekend hike with the dog, available at sunrise"  # the cue, but the model says no
    assert score(ordinary).probability < 0.5 and model_mentions(caption(ordinary), "en") == []


def test_one_word_is_not_enough_for_the_model_and_a_cue_is_not_counted_twice():
    """"Thanks" is the model's strongest word (generated sponsored captions thank brands); real
    captions thank friends: without it the model must still lean commercial to decide alone, and as the
    second hint beside the cue "thanks @handle" it is scored without the cue's own words."""
    from complianceguard.signal_model import default_model, model_mentions, score

    def caption(text: str) -> list[Segment]:
        return [Segment(id="caption", channel="caption", text=text)]

    grandma = "Thank you Grandma for the package, the scarf is perfect"  # 'perfect' decides: not alone
    assert score(grandma).commercial and model_mentions(caption(grandma), "en") == []
    for friendly in ("Thanks @anna for the lovely dinner last night", "Thanks @tom for the photos"):
        assert score(friendly).commercial and score(friendly).top[0][0] == "thanks"
        assert default_model().score(friendly, without=frozenset({"thanks"})).probability < 0.5
        assert model_mentions(caption(friendly), "en") == []
    robust = "Loving this new serum, it makes my skin glow. Get yours now! Obsessed with the new formula"
    assert "without 'loving'" in model_mentions(caption(robust), "en")[0].why


def test_the_model_file_is_small_versioned_and_names_its_training_licences():
    import json
    from importlib import resources

    from complianceguard.signal_model import MODEL_FILE
    raw = resources.files("complianceguard").joinpath(MODEL_FILE).read_bytes()
    data = json.loads(raw)
    assert len(raw) < 512 * 1024 and data["version"] and len(data["training"]["sha256"]) == 64
    assert [s["licence"] for s in data["training"]["licences"]] == ["MIT"]
    assert "synthetic = True only" in data["training"]["licences"][0]["rows"]
    assert data["trained_by"] == "scripts/train_commercial_model.py" and data["version"] == "1.1.0"


@pytest.mark.slow  # retrains the model: ~45 s
def test_the_shipped_model_is_what_the_script_trains_and_scores_as_scikit_learn_does():
    """Reproducible: retraining gives the shipped file byte for byte, and the pure-Python scorer
    gives scikit-learn's probabilities (scikit-learn is in the test extra; the training rows are the
    shared datasets beside the checkout, which a machine without them cannot retrain from)."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    data = root.parent / "shared" / "datasets" / "instagram-sponsored-captions" / "synthetic_original.csv"
    if not data.is_file():
        pytest.skip("training rows not here")
    done = subprocess.run([sys.executable, str(root / "scripts" / "train_commercial_model.py"), "--check"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_cue_phrase_broken_over_two_transcript_lines_anchors_a_read():
    from complianceguard.sponsor_reads import sponsor_reads
    lines = ["the bridge was finished in 1932 after six years of work",
             "and it still carries trains today this video was made",   # 4-8 s: "made | possible by"
             "possible by nordvpn which keeps you safe on public wifi",
             "the steel arch weighs about forty thousand tonnes",
             "and it was painted grey to save money during the depression"]
    (read,) = sponsor_reads(timed(lines))
    assert read.brand == "nordvpn" and read.start_s <= 4.0 and read.end_s == 12.0
    assert "sponsor named" in read.why


PITCH_READ = [
    "the bridge was finished in 1932 after six years of work",              # 0-4 s: content
    "it took fourteen hundred workers to build the arch",
    "the engineers were paid very little for their dangerous work",
    "get the perfect glow you deserve with this gentle daily cleanser",     # 12-16: advertising copy, no cue,
    "it leaves your face soft and radiant all day long",                    # no word said twice (no brand)
    "my complexion has never felt this smooth and fresh",
    "you will love how kind it is to sensitive types",
    "it is packed with vitamins so check out the link below to grab yours",  # 28-32: the cues
    "the steel arch weighs about forty thousand tonnes",                    # 32-36: content again
    "and it was painted grey to save money during the depression",
    "the paint is renewed every few years by a small crew",
]


def test_the_trained_signal_carries_a_read_over_advertising_copy_and_stops_at_the_content():
    from complianceguard.sponsor_reads import sponsor_reads
    (read,) = sponsor_reads(timed(PITCH_READ))
    # the cleanser pitch 16 s before the cues is in (the lead-in alone reaches 6 s back), the steel arch is not
    assert read.start_s <= 12.0 and read.end_s == 32.0
    assert "read as its pitch" in read.why
    # without the advertising copy around it, one hint in the content anchors nothing
    content = [*PITCH_READ[:3], "i put the link below to my video on the golden gate", *PITCH_READ[8:]]
    assert sponsor_reads(timed(content)) == []


MEAL_KIT_READ = [
    "the gearbox came apart in three pieces",                              # 0-4 s: content
    "so we took the housing off the car",
    "and we had to order a new bearing from the factory",
    "the factory said it would take two weeks",
    "while we waited i cooked a lot with platecrate",                      # 16-20: the brand, no cue
    "platecrate sends a box with every ingredient measured out",
    "the platecrate recipes take about forty minutes",
    "i never had a platecrate meal i did not enjoy",
    "you choose your platecrate meals online every week",                  # 32-36: the brand, last time
    "and honestly the whole family enjoyed them",
    "the first hundred people to sign up at the link in the description",  # 40-44: the cues, no brand
    "get fifty dollars off their first two weeks",                         # (nor on the lines beside them)
    "now the bearing arrived so on to the repair",
    "the gearbox turns smoothly again",
]


def test_the_brand_said_near_but_not_next_to_the_call_to_action_carries_the_read():
    """The brand is last said 8 s before the sign-up offer, not on a line next to it: said on five
    lines within 20 s of the offer, it is the read's brand and carries the read back to 'platecrate'
    first said at 16 s (only the lines next to the offer used to be searched for it)."""
    from complianceguard.sponsor_reads import sponsor_reads
    (read,) = sponsor_reads(timed(MEAL_KIT_READ))
    assert read.brand == "platecrate"
    assert read.start_s <= 16.0 and read.end_s == 48.0  # without the brand: the lead-in before the offer only


SEEDED_BY_COPY = [
    "the bridge was finished in 1932 after six years of work",            # 0-4 s: content
    "it took fourteen hundred workers to build the arch",
    "get the perfect glow you deserve with this gentle daily cleanser",   # 8-24: advertising copy
    "it leaves your face soft and radiant all day long",
    "my complexion has never felt this smooth and fresh",
    "you will love how kind it is to sensitive types",
    "and right now it is twenty percent off",                             # 24-28: one strong hint
    "the steel arch weighs about forty thousand tonnes",                  # 28-32: content again
    "and it was painted grey to save money during the depression",
]


def test_a_strong_hint_after_half_a_minute_of_advertising_copy_anchors_a_read():
    """'twenty percent off' is one strong hint (0.6) and its own line with its neighbours reads like
    the content; with the 20 s of copy said before it, it reads as a read's call to action."""
    from complianceguard.signal_model import score
    from complianceguard.sponsor_reads import sponsor_reads
    reads = default_analyzer().book.reads
    beside = " ".join(SEEDED_BY_COPY[5:8])
    assert score(beside).probability < reads.seed_probability  # the line alone would anchor nothing
    (read,) = sponsor_reads(timed(SEEDED_BY_COPY))
    assert read.start_s <= 8.0 and read.end_s == 28.0
    # the same hint after content only anchors nothing
    content = [*SEEDED_BY_COPY[:2], "the arch was riveted by hand", "each rivet was heated in a forge",
               "and thrown up to the workers", "who hammered it in place", SEEDED_BY_COPY[6], *SEEDED_BY_COPY[7:]]
    assert sponsor_reads(timed(content)) == []


def test_common_words_are_never_a_read_brand():
    """'like' comes back on many lines of any talk, also next to a call to action: it is no brand."""
    from complianceguard.sponsor_reads import sponsor_reads
    lines = ["i like this engine a lot", "i like it like that", "it sounds like a truck",
             "use code BUILD20 for twenty percent off at the link below", "i like the sound",
             "it feels like a race car"]
    (read,) = sponsor_reads(timed(lines))
    assert read.brand != "like"


def test_the_pitch_after_a_sponsor_statement_is_inside_the_read():
    """'this video is brought to you by X' is followed by X's pitch, even where its words read like
    the content to the trained signal: the read runs `lead_s` on past the statement, not to its end."""
    from complianceguard.sponsor_reads import sponsor_reads
    lines = ["the bridge was finished in 1932 after six years of work",
             "it took fourteen hundred workers to build the arch",
             "this video is brought to you by glowbox",                 # 8-12 s: the statement
             "they keep every photo and file you have in one place",    # 12-24: the pitch, no cue
             "and the whole family can share one plan",
             "it works on phones tablets and computers",
             "the steel arch weighs about forty thousand tonnes",
             "and it was painted grey to save money during the depression"]
    (read,) = sponsor_reads(timed(lines))
    lead = default_analyzer().book.reads.lead_s
    assert (read.start_s, read.brand) == (8.0, "glowbox") and 12.0 < read.end_s <= 12.0 + lead + 4.0
    assert "pitch after its sponsor statement" in read.why
