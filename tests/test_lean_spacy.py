"""spaCy is imported without torch, its command line and its pipeline components (lean_spacy.py,
issue #16), all of them stay importable afterwards, and `lean_spacy.blank` tokenises exactly as
`spacy.blank`. The import checks run in a fresh interpreter: the import happens once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, sys
import complianceguard.analyze as analyze
loaded = {name: name in sys.modules for name in ("torch", "spacy.cli", "requests", "typer", "weasel")}
doc = analyze.pipeline("en").make_doc("Loving it #ad @glowskincare")
components = sorted(m for m in sys.modules if m.startswith("spacy.pipeline.") and m.count(".") == 2)
import spacy
import spacy.cli
from spacy.pipeline import EntityRuler, Sentencizer
nlp = spacy.blank("en")
nlp.add_pipe("sentencizer")
print(json.dumps({"loaded": loaded, "tokens": [t.text for t in doc], "real_cli": hasattr(spacy.cli, "download"),
                  "info_is_real": spacy.cli.info.__module__ == "spacy.cli.info", "components": components,
                  "sentences": [s.text for s in nlp("One here. Two there.").sents],
                  "names": [EntityRuler.__module__, Sentencizer.__module__]}))
"""


@pytest.fixture(scope="module")
def probe() -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_analyzer_imports_spacy_without_torch_or_its_command_line(probe):
    assert probe["loaded"] == {"torch": False, "spacy.cli": False, "requests": False, "typer": False, "weasel": False}
    assert probe["tokens"] == ["Loving", "it", "#", "ad", "@glowskincare"]


def test_the_analyzer_loads_no_pipeline_component_beyond_the_lemmatizer_base(probe):
    # English's package imports its lemmatizer (whose base class is spaCy's Lemmatizer) and spaCy's
    # training examples the parser's internals: those only, no parser, tagger, NER or factories.
    assert set(probe["components"]) <= {"spacy.pipeline.lemmatizer", "spacy.pipeline.pipe",
                                        "spacy.pipeline.trainable_pipe", "spacy.pipeline._parser_internals"}, \
        probe["components"]
    assert not {"spacy.pipeline.dep_parser", "spacy.pipeline.factories"} & set(probe["components"])


def test_spacys_command_line_and_components_still_work_afterwards(probe):
    assert probe["real_cli"] and probe["info_is_real"]
    assert probe["sentences"] == ["One here.", "Two there."]  # spacy.blank and a component, as usual
    assert probe["names"] == ["spacy.pipeline.entityruler", "spacy.pipeline.sentencizer"]


TEXT = ("Loving it #ad @glowskincare, use code GLOW20 for 20% off! Don't miss www.glow.com/x?a=1 :) U.S.A. 3pm "
        "l'été Ärger 광고를 협찬 广告 Werbung™ 10€ #sponsored_by_Glow (Anzeige) «publicité» isn't")
ATTRIBUTES = ("text", "whitespace_", "lower_", "norm_", "shape_", "prefix_", "suffix_", "lang_", "is_stop",
              "is_punct", "is_space", "like_url", "like_num", "like_email", "is_alpha", "is_digit", "is_title")


def _languages() -> list[str]:
    from complianceguard.analyze import _BLANK_CONFIG, SPACY_LANGUAGES

    return sorted(SPACY_LANGUAGES | set(_BLANK_CONFIG) | {"xx"})


@pytest.mark.parametrize("code", _languages())
def test_blank_tokenises_as_spacy_blank(code):
    import spacy

    from complianceguard import lean_spacy
    from complianceguard.analyze import _BLANK_CONFIG

    config = _BLANK_CONFIG.get(code)
    real, lean = spacy.blank(code, config=config or {}), lean_spacy.blank(code, config)
    assert real.tokenizer.to_bytes(exclude=["vocab"]) == lean.tokenizer.to_bytes(exclude=["vocab"])
    assert lean.Defaults is real.Defaults and lean.vocab.lang == real.vocab.lang == code
    assert dict(lean.vocab.writing_system) == dict(real.vocab.writing_system)
    tokens = [[getattr(t, a) for a in ATTRIBUTES] for t in real.make_doc(TEXT)]
    assert [[getattr(t, a) for a in ATTRIBUTES] for t in lean.make_doc(TEXT)] == tokens


@pytest.mark.parametrize("code", ["de", "fr", "ko", "xx"])
def test_separators_split_as_spacy_blank_with_the_affix_rules_extended(code):
    """The tokenizer built in one go with the separators splits as spaCy's own tokenizer told
    afterwards to split them (what the analyzers did before: three reloads of its special cases)."""
    import spacy
    from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

    from complianceguard import lean_spacy
    from complianceguard.analyze import _BLANK_CONFIG

    config = _BLANK_CONFIG.get(code)
    real, lean = spacy.blank(code, config=config or {}), lean_spacy.blank(code, config, lean_spacy.SEPARATORS)
    extra, defaults = lean_spacy.SEPARATORS, real.Defaults
    real.tokenizer.infix_finditer = compile_infix_regex([*(defaults.infixes or ()), *extra.infixes]).finditer
    real.tokenizer.prefix_search = compile_prefix_regex([*(defaults.prefixes or ()), *extra.prefixes]).search
    real.tokenizer.suffix_search = compile_suffix_regex([*(defaults.suffixes or ()), *extra.suffixes]).search
    text = TEXT + (" Werbung|Neue Anzeige• Serum #ad|Glow ＡＮＺＥＩＧＥ｜neu ¦x col·laboració -Werbung- "
                   "Reklama/ nowe Reklam:Glow ❗️Ad❗️ Werbung—Glow -20% Sommer-Kollektion https://glow.com/x")
    tokens = [[getattr(t, a) for a in ATTRIBUTES] for t in real.make_doc(text)]
    assert [[getattr(t, a) for a in ATTRIBUTES] for t in lean.make_doc(text)] == tokens
    assert "Werbung" in [t.text for t in lean.make_doc("Werbung|Neue")]


@pytest.mark.parametrize("code", ["de", "sv", "pl", "en"])
@pytest.mark.parametrize("text, word", [
    ("-Werbung- neu", "Werbung"), ("–Werbung– neu", "Werbung"), ("Werbung—Glow", "Werbung"),
    ("❗️Ad❗️ neu", "Ad"), ("‼️REKLAM‼️ neu", "REKLAM"), ("Reklama/ nowe", "Reklama"), ("Reklam:Glow", "Reklam"),
])
def test_separators_stuck_to_a_label_are_split_off_in_every_language(code, text, word):
    """Eleventh round: dashes, emoji (with their presentation selector U+FE0F), a trailing slash and
    a colon before a name stuck to the label in most languages' tokenizers."""
    from complianceguard.analyze import pipeline

    assert word in [t.text for t in pipeline(code).make_doc(text)]


@pytest.mark.parametrize("text, kept", [
    ("-20% mit Code", "-20"), ("Sommer-Kollektion", "Sommer-Kollektion"), ("glow.com/code", "glow.com/code")])
def test_separators_keep_signs_compounds_and_web_addresses(text, kept):
    from complianceguard.analyze import pipeline

    assert kept in [t.text for t in pipeline("de").make_doc(text)]


def test_blank_uses_spacy_for_other_tokenizers_and_keeps_the_length_limit():
    from complianceguard import lean_spacy

    assert type(lean_spacy.blank("zh")).__name__ == "Chinese"  # its own segmenter: spacy.blank's pipeline
    english = lean_spacy.blank("en")
    assert type(english) is lean_spacy.BlankPipeline
    english.max_length = 10
    with pytest.raises(ValueError, match="E088"):
        english.make_doc("x" * 11)


@pytest.mark.parametrize(("pattern", "factored"), [
    ("(?iu)(?:^p[-][a-z]+$)|(?:^q[-][a-z]+$)", "(?iu)(?:^p|^q)[-][a-z]+$"),
    ("(?:^ab$)|(?:^b$)|(?:^c?d{1,2}(?:x|y)$)", "(?:(?:^a|^)b|^c?d{1,2}(?:x|y))$"),
])
def test_factored_alternation_shares_common_endings(pattern, factored):
    import re

    from complianceguard.lean_spacy import factored_alternation

    assert factored_alternation(pattern) == factored
    for text in ("p-abc", "Q-x", "pq-a", "ab", "b", "a", "cdd", "ddy", "cdx", "dddx", "p-", "p-1", "abab"):
        assert bool(re.match(pattern, text)) == bool(re.match(factored, text)), text


@pytest.mark.parametrize("unreadable", ["(?i)a|b", "(?:a)(?:b)", "(?:a(b))", "(?:a)|", "(?:[a)"])
def test_factored_alternation_leaves_what_it_cannot_read(unreadable):
    from complianceguard.lean_spacy import factored_alternation

    assert factored_alternation(unreadable) is None


FRENCH_CHECK = """
import random, re, sys
from complianceguard import lean_spacy

french = lean_spacy.language_class("fr")  # first: spaCy's registry keeps the class it imports
from spacy.lang.fr import tokenizer_exceptions as module
from spacy.lang.fr._tokenizer_exceptions_list import FR_BASE_EXCEPTIONS

original = re.compile("(?iu)" + "|".join(f"(?:{m})" for m in module._regular_exp)).match
assert french.Defaults.token_match is module.TOKEN_MATCH
assert len(module.TOKEN_MATCH.__self__.pattern) < lean_spacy.FACTOR_PATTERNS_OVER  # it was factored
rng = random.Random(16)
noise = ["".join(rng.choice("abdeélrsnt-'’") for _ in range(rng.randint(1, 14))) for _ in range(20000)]
words = [*FR_BASE_EXCEPTIONS, *(w.upper() for w in FR_BASE_EXCEPTIONS), "faux-vampire", "entr'abat",
         "saut-de-ski", "pet-en-l'air", "Hip-hopeurs", "new-yorkais", "aujourd'hui\\n", *noise]
assert sum(bool(module.TOKEN_MATCH(w)) for w in words) > 200  # the words it exists for still match
print([w for w in words if bool(module.TOKEN_MATCH(w)) != bool(original(w))])
"""


@pytest.mark.slow  # compiles spaCy's own 1.4 MB pattern for the comparison (3-7 s)
def test_french_token_match_accepts_exactly_what_spacys_pattern_does():
    """French imported through lean_spacy (its TOKEN_MATCH factored) accepts the same words as the
    pattern spaCy's module builds: its own exception list, hyphenated and elided forms, noise. In a
    process of its own: this one may have imported French through spaCy already."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", FRENCH_CHECK], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_language_class_leaves_re_compile_as_it_was():
    import re

    from complianceguard import lean_spacy

    before = re.compile
    assert lean_spacy.language_class("de").lang == "de"
    with pytest.raises(ZeroDivisionError), lean_spacy._factored_large_patterns():
        assert re.compile is not before
        raise ZeroDivisionError  # an import that fails still puts it back
    assert re.compile is before
