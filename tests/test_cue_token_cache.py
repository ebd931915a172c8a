"""The commercial cue phrases' tokens come from the cache folder after the first process (issue #16)
and are exactly what the tokenizer gives; an entry that does not fit the cue book is rebuilt; with
them cached, the cue analyzer builds its English pipeline only when something needs it."""

from __future__ import annotations

from complianceguard import commercial
from complianceguard.cache import Cache


def _grouped(analyzer: commercial.CommercialAnalyzer) -> dict[str, list[str]]:
    return commercial.cue_forms(analyzer.book)


def test_cached_cue_tokens_are_the_tokenizers(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLIANCEGUARD_CACHE", str(tmp_path))
    analyzer = commercial.default_analyzer()
    grouped = _grouped(analyzer)
    fresh = {key: [[t.text for t in analyzer.nlp.make_doc(f)] for f in dict.fromkeys(forms)]
             for key, forms in grouped.items()}
    written = commercial._phrase_words("en", grouped, lambda: analyzer.nlp)  # tokenises and stores
    assert list((tmp_path / commercial.CUE_TOKENS_KIND).rglob("*"))
    read = commercial._phrase_words("en", grouped, lambda: analyzer.nlp)  # from the cache
    assert written == read == fresh and list(read) == list(fresh)  # the matcher adds them in this order


def test_an_entry_for_other_cues_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLIANCEGUARD_CACHE", str(tmp_path))
    analyzer = commercial.default_analyzer()
    grouped = _grouped(analyzer)
    commercial._phrase_words("en", grouped, lambda: analyzer.nlp)
    entries = [p for p in (tmp_path / commercial.CUE_TOKENS_KIND).rglob("*") if p.is_file()]
    key = entries[0].name
    Cache().put(commercial.CUE_TOKENS_KIND, key, b'{"other|cue|": [["x"]]}')  # sealed, but not these cues
    again = commercial._phrase_words("en", grouped, lambda: analyzer.nlp)
    assert list(again) == list(grouped) and again == analyzer.phrase_words


def test_with_the_tokens_cached_the_english_pipeline_is_built_only_when_used(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLIANCEGUARD_CACHE", str(tmp_path))
    book = commercial.default_analyzer().book
    first = commercial.CommercialAnalyzer(book)  # tokenises the cue phrases and stores them
    assert first._nlp is not None
    again = commercial.CommercialAnalyzer(book)  # a later process: the tokens come from the cache
    assert again._nlp is None and again.phrase_words == first.phrase_words
    assert [t.text for t in again.nlp.make_doc("use code GLOW20")] == ["use", "code", "GLOW20"]
    assert again.nlp is again.nlp and again.nlp.lang == "en"
