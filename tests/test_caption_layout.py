"""The caption layout: tokens, hashtag blocks and the platform's "more" fold (from data)."""

from complianceguard.extract.caption import caption_layout, platform_folds

PLATFORMS = ["instagram", "tiktok", "youtube", "youtube-shorts", "facebook", "x", "linkedin", "twitch", "other"]


def test_every_platform_has_a_fold_with_a_confidence_mark():
    table = platform_folds()
    for platform in PLATFORMS:
        entry = table[platform]
        assert entry["fold_chars"] > 0
        assert entry["confidence"] in ("high", "medium", "low", "not-found")
        assert entry["confidence"] == "not-found" or entry["source"]["url"].startswith("http")


def test_fold_is_the_earlier_of_chars_and_lines():
    text = "line one\nline two\nline three " + "x" * 300
    layout = caption_layout(text, "instagram")
    assert layout.fold.at == text.index("\n", 9)  # end of the 2nd line, before 125 chars
    long_line = "y" * 400
    assert caption_layout(long_line, "instagram").fold.at == platform_folds()["instagram"]["fold_chars"]


def test_wide_characters_take_two_columns_of_the_fold():
    """A fold figure in characters hides a Chinese, Japanese or Korean caption about half as far in:
    a 111-character Chinese caption ending in 广告 hides its label on Instagram (sixth-round probe)."""
    columns = platform_folds()["instagram"]["fold_chars"]
    chinese = "这款精华我已经用了一个月" * 9 + "广告"
    assert caption_layout(chinese, "instagram").fold.at == columns // 2
    assert chinese.index("广告") > caption_layout(chinese, "instagram").fold.at
    mixed = "ab" + "광고" + "x" * 200
    assert caption_layout(mixed, "instagram").fold.at == columns - 2


def test_hashtag_run_and_tokens():
    layout = caption_layout("Loving it @glow #skincare #glow #ad", "instagram")
    assert [t.kind for t in layout.tokens] == ["word", "word", "mention", "hashtag", "hashtag", "hashtag"]
    index = layout.token_index_at(layout.text.index("#ad"))
    assert layout.hashtag_run(index) == [3, 4, 5]
