"""The commercial cue phrases' tokens come from the cache folder after the first process (issue #16)
and are exactly what the tokenizer gives; an entry that does not fit the cue book is rebuilt."""

from __future__ import annotations

from complianceguard import commercial
from complianceguard.cache import Cache


def _grouped(analyzer: commercial.CommercialAnalyzer) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for cue_id, spec in analyzer.book.cues.items():
        for phrase in spec.phrases:
            phrase = phrase if isinstance(phrase, commercial.Phrase) else commercial.Phrase(text=phrase)
            key = f"{cue_id}|{phrase.preceded_by or ''}|{phrase.followed_by or ''}"
            grouped.setdefault(key, []).extend(commercial._forms(phrase.text))
    return grouped


def test_cached_cue_tokens_are_the_tokenizers(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLIANCEGUARD_CACHE", str(tmp_path))
    analyzer = commercial.default_analyzer()
    grouped = _grouped(analyzer)
    fresh = {key: [[t.text for t in analyzer.nlp.make_doc(f)] for f in dict.fromkeys(forms)]
             for key, forms in grouped.items()}
    written = commercial._phrase_words(analyzer.nlp, grouped)  # tokenises and stores
    assert list((tmp_path / commercial.CUE_TOKENS_KIND).rglob("*"))
    read = commercial._phrase_words(analyzer.nlp, grouped)  # from the cache
    assert written == read == fresh and list(read) == list(fresh)  # the matcher adds them in this order


def test_an_entry_for_other_cues_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLIANCEGUARD_CACHE", str(tmp_path))
    analyzer = commercial.default_analyzer()
    grouped = _grouped(analyzer)
    commercial._phrase_words(analyzer.nlp, grouped)
    entries = [p for p in (tmp_path / commercial.CUE_TOKENS_KIND).rglob("*") if p.is_file()]
    key = entries[0].name
    Cache().put(commercial.CUE_TOKENS_KIND, key, b'{"other|cue|": [["x"]]}')  # sealed, but not these cues
    again = commercial._phrase_words(analyzer.nlp, grouped)
    assert list(again) == list(grouped) and again == analyzer.phrase_words
