"""The coverage table: for each region and post type, which rules read which channel, and how sure.

Generated from the packs themselves (never written by hand), so a reader of the packs README sees
what is checked where — and where nothing is: an empty cell means no rule of that region reads that
channel for that kind of post. `complianceguard rules coverage` prints it; tests keep the copy in
`packs/builtin/README.md` equal to it.
"""

from __future__ import annotations

from typing import get_args

from complianceguard.packs.loader import PackLibrary
from complianceguard.packs.schema import MediaKind, PostType, Rule

START, END = "<!-- coverage:start -->", "<!-- coverage:end -->"

# What media each post type carries, and so which `when.media` rules can reach it.
POST_TYPE_MEDIA: dict[str, set[str]] = {
    "feed": {"image", "none"}, "carousel": {"image"}, "story": {"image", "video"},
    "video": {"video"}, "live": {"video"}, "audio": {"audio"},
}
# The places a disclosure can live in each post type (a story or live has no caption to speak of
# on most platforms, but packs may still read a title or text sticker there).
CHANNELS = {"caption": "caption", "overlay": "on screen", "speech": "speech"}
POST_TYPE_CHANNELS: dict[str, tuple[str, ...]] = {
    "feed": ("caption", "overlay"), "carousel": ("caption", "overlay"), "story": ("caption", "overlay", "speech"),
    "video": ("caption", "overlay", "speech"), "live": ("caption", "overlay", "speech"), "audio": ("caption", "speech"),
}
CONFIDENCE_MARK = {"high": "H", "medium": "M", "low": "L", "not-found": "?"}

assert set(POST_TYPE_MEDIA) == set(get_args(PostType)) == set(POST_TYPE_CHANNELS)
assert set().union(*POST_TYPE_MEDIA.values()) == set(get_args(MediaKind))


def applies_to(rule: Rule, post_type: str) -> bool:
    """Whether the rule's `when` lets it reach a post of this type at all."""
    when = rule.when
    if when is None:
        return True
    if when.post_types is not None and post_type not in when.post_types:
        return False
    return when.media is None or bool(set(when.media) & POST_TYPE_MEDIA[post_type])


def coverage_rows(library: PackLibrary) -> list[tuple[str, str, dict[str, list[str]]]]:
    """(region, post type, {channel: ["US101 (H)", ...]}) for every region and post type."""
    rows = []
    for region in library.regions():
        rules = library.for_region(region).pack.rules
        for post_type in get_args(PostType):
            cells: dict[str, list[str]] = {}
            for channel in POST_TYPE_CHANNELS[post_type]:
                cells[channel] = [f"{r.code} ({CONFIDENCE_MARK[r.confidence]}"
                                  f"{'' if r.severity == 'error' else ', warn'})"
                                  for r in rules if channel in r.scopes and applies_to(r, post_type)]
            rows.append((region, post_type, cells))
    return rows


def coverage_markdown(library: PackLibrary) -> str:
    """The table as Markdown, between the markers the README keeps it in."""
    lines = [START, "",
             "| region | post type | caption | on screen | speech |", "| --- | --- | --- | --- | --- |"]
    for region, post_type, cells in coverage_rows(library):
        shown = [", ".join(cells[c]) if c in cells and cells[c] else ("—" if c in cells else "n/a")
                 for c in CHANNELS]
        lines.append(f"| {region} | {post_type} | " + " | ".join(shown) + " |")
    lines += ["", END]
    return "\n".join(lines)

