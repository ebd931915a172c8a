"""Unicode normalisation keeps an exact map back to the original and exposes disguises."""

from complianceguard.extract.normalize import normalize


def test_ascii_is_unchanged_and_maps_one_to_one():
    n = normalize("#ad Loving it")
    assert n.text == "#ad Loving it"
    assert n.to_original(0, 3) == (0, 3)
    assert not n.disguised_at


def test_cyrillic_lookalike_is_folded_and_flagged():
    original = "#\u0430d Loving it"
    n = normalize(original)
    assert n.text == "#ad Loving it"
    assert n.disguised_at == {1}
    start, end = n.to_original(0, 3)
    assert original[start:end] == "#\u0430d"
    assert "Cyrillic Small Letter A" in n.disguise_notes(start, end)[0]


def test_zero_width_space_inside_a_label_is_removed_and_flagged():
    original = "#a\u200bd today"
    n = normalize(original)
    assert n.text == "#ad today"
    assert n.to_original(0, 3) == (0, 4)
    assert any("Zero Width Space" in note for note in n.disguise_notes(0, 4))


def test_fullwidth_and_styled_letters_fold_by_nfkc_and_are_flagged_as_a_disguise():
    """Issue #19: every compatibility form is treated like a Cyrillic look-alike (found, and flagged)."""
    n = normalize("\uff03\uff41\uff44 \U0001d41a\U0001d41d")  # fullwidth #ad, bold "ad"
    assert n.text == "#ad ad"
    assert n.disguised_at == {0, 1, 2, 4, 5}
    assert "a styled compatibility form of 'a'" in n.disguise_notes(1, 2)[0]


def test_fullwidth_latin_in_japanese_chinese_or_korean_text_is_folded_but_not_a_disguise():
    """East Asian input methods type Latin full width: "＃ＰＲ" in a Japanese caption is the label."""
    for text in ("\uff03\uff30\uff32 新しい美容液", "\uff03\uff41\uff44 新品推荐", "\uff03\uff41\uff44 광고 새 세럼"):
        n = normalize(text)
        assert n.text.startswith("#"), text
        assert not n.disguised_at, text
    n = normalize("\uff03\uff30\U0001d411 新しい美容液")  # a mathematical bold R stays a disguise
    assert n.disguised_at == {2}


def test_real_cyrillic_and_german_words_are_left_alone():
    for text in ("Реклама: новая сыворотка", "Werbung für größere Gläser", "Publicité : très belle"):
        n = normalize(text)
        assert not n.disguised_at, text
        assert n.to_original(0, len(n.text)) == (0, len(text))


def test_combining_accents_map_back_to_the_whole_cluster():
    original = "Publicite\u0301 ici"  # e + combining acute
    n = normalize(original)
    assert n.text.startswith("Publicité")
    assert original[slice(*n.to_original(0, 9))] == "Publicite\u0301"


def test_the_fast_path_gives_what_the_per_character_fold_gives():
    """Texts with nothing to fold skip the per-character loop; the result must be the same."""
    from complianceguard.extract.normalize import _fold

    texts = ["#ad Loving it", "Werbung für größere Gläser", "Publicité : très belle", "광고 새로운 세럼 #광고",
             "広告 新しいセラム", "Реклама: новая сыворотка", "e\u0301te\u0301 #publicite\u0301", "ﬁne ½ price",
             "café\u200b", "#\u0430d", "", "Ad | @brand #gifted ✨🔥", "İstanbul ǅ ß ﬀ"]
    for text in texts:
        fast = normalize(text)
        slow = _fold(text, set(fast.disguised_at))
        assert fast == slow, text
