"""What the loaded packs ask the extractors to listen for: spoken disclosure labels per language.

Speech recognition is steered towards, and double-checked for, the words a listener must hear
(faster-whisper `hotwords`, keyword verification by rescoring). Those words are the packs' own
labels, said aloud: hashtags lose their `#`, wildcard hashtags (`#*partner`) are not words one
says, and where speech differs from writing a spoken form replaces the written one ("#ad" is said
"an ad"). The packs' denials are offered the same way (spoken_denials), so that a denial heard as
its own label word can be told from the label. The extractors hold no disclosure words of their
own; they get these mappings.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from complianceguard.packs.loader import PackLibrary
    from complianceguard.packs.schema import Pack

def spoken_form(label: str, spoken: dict[str, str] | None = None) -> str | None:
    """The label as said aloud (the vocabulary's `spoken` form where speech differs from writing),
    or None for a label that is not a spoken word (a wildcard tag, a gap term "sent me * for free",
    a placeholder "{handle}")."""
    text = label.strip()
    if "*" in text or "{" in text:
        return None
    text = text.lstrip("#").strip("[]").strip()
    if not text:
        return None
    forms = {k.lstrip("#").casefold(): v for k, v in (spoken or {}).items()}
    return forms.get(text.casefold(), text)


def _fold(text: str) -> str:
    """Case, accents and spacing do not make another word ("pubblicità" / "pubblicita")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return re.sub(r"\s+", " ", "".join(c for c in decomposed if not unicodedata.combining(c))).strip()


def _spoken_terms(pack: Pack, field: str) -> dict[str, list[str]]:
    """Per language, the terms of one vocabulary field (labels, denials) as said aloud."""
    found: dict[str, list[str]] = {}
    for language, vocabulary in pack.vocabulary.items():
        # "Mainos {advertiser}" is "Mainos" and a name (analyze.py): the bare label is listed already.
        # A `not_inherited` term is another pack's word re-listed for this pack used alone (eu.yaml's
        # "entgeltliche Einschaltung" is AT's): counted once, by the pack it belongs to. Counted
        # twice it took a place in the short German hotword list, and the 60 s German bench went
        # from 7.7 s to 33 s with one "Werbung" of two lost.
        said = [t for t in getattr(vocabulary, field) if "{advertiser}" not in t and t not in vocabulary.not_inherited]
        found[language] = [form for form in (spoken_form(term, vocabulary.spoken) for term in said) if form]
    return found


def _ranked(library: PackLibrary, field: str) -> dict[str, tuple[str, ...]]:
    """Per language, the field's spoken terms of every pack, the ones most packs share first, then
    in the order the packs list them; duplicates differing only in case or accents are one."""
    counts: dict[str, Counter[str]] = {}
    shown: dict[str, dict[str, str]] = {}
    order: dict[str, dict[str, int]] = {}
    for resolved in library.packs:
        for language, forms in _spoken_terms(resolved.pack, field).items():
            seen_here: set[str] = set()
            for form in forms:
                key = _fold(form)
                if key in seen_here:
                    continue
                seen_here.add(key)
                counts.setdefault(language, Counter())[key] += 1
                shown.setdefault(language, {}).setdefault(key, form)
                order.setdefault(language, {}).setdefault(key, len(order[language]))
    return {language: tuple(shown[language][key] for key in sorted(
                counts[language], key=lambda k: (-counts[language][k], order[language][k])))
            for language in sorted(counts) if counts[language]}


def spoken_keywords(library: PackLibrary) -> dict[str, tuple[str, ...]]:
    """Per language, every pack label as said aloud, the labels most packs share first (they are
    the ones a short hotword list and the rescoring's proposal budget should spend on), then in
    the order the packs list them. Duplicates differing only in case or accents' absence are one."""
    return _ranked(library, "labels")


def spoken_denials(library: PackLibrary) -> dict[str, tuple[str, ...]]:
    """Per language, every pack denial as said aloud ("není reklama"), ranked as spoken_keywords.
    The transcriber rescores them against a label it heard: a denial misheard as its own label
    word ("není reklama" written "lehí reklama") would otherwise only ever lose to the label."""
    return _ranked(library, "denials")


def expected_languages(library: PackLibrary, regions: list[str]) -> tuple[str, ...]:
    """The content languages the regions' packs expect (`languages` in each pack), in order, once
    each: what speech in a post for those regions is most likely in, so the speech language
    detection prefers them (extract.speech.choose_language). The engine passes the same list."""
    return tuple(dict.fromkeys(code for region in regions for code in library.for_region(region).pack.languages))
