"""Import spaCy without the parts a blank rule-matching pipeline never uses (issue #16: a creator's
`check` of one caption should answer in half a second, and importing spaCy was most of it).

- **torch**: thinc imports it when it is installed (3-6 s per process on these machines). It is
  hidden while spaCy imports; only thinc's own torch flag sees the difference, and torch stays
  importable afterwards (openai-whisper needs it).
- **spaCy's command line** (`spacy.cli`: download, train, package...): `spacy/__init__.py` imports
  it for its `spacy.info` shortcut, and with it requests, httpx, typer and weasel: about 0.2 s of
  CPU and 350 modules. A placeholder stands in while spaCy imports and is taken out afterwards,
  so `import spacy.cli` (or `spacy.info()`) still loads the real one.
- **spaCy's pipeline components** (`spacy.pipeline`: parser, NER, tagger, entity linker... and
  their thinc models, 70 modules): `spacy/__init__.py` imports the package for its names, each
  language's package for its lemmatizer's base class, and every `Language()` registers all
  component factories. A blank pipeline has no component. So `spacy.pipeline` is a package whose
  names are loaded from their own submodule when first used (`Lemmatizer` loads
  `spacy.pipeline.lemmatizer` only), read from the real `__init__.py`, which holds only those
  imports; and `blank` builds a pipeline's vocabulary and tokenizer the way `spacy.blank` does,
  with spaCy's own functions, minus the factory and config machinery. `spacy.blank` and
  `spacy.load` still work: their factories import the components they need.

- **French's token-match regex** (`spacy.lang.fr.tokenizer_exceptions.TOKEN_MATCH`): 266
  anchored alternatives joined into one 1.4 MB pattern, each repeating spaCy's whole letter
  class, which `re` takes 3-7 s to compile at import (most of a French creator's check, and of
  every scan's warm-up with French posts). While a language's package imports, a pattern that
  large is compiled with its alternatives' common endings shared instead (`factored_alternation`,
  the same set of strings: a union of sequences that end alike is their heads' union followed by
  the ending) in about 0.1 s; any pattern it cannot read is compiled as written.

A module that imports spaCy imports this module first (`from complianceguard import lean_spacy`):
importing it imports spaCy so; later imports of spaCy find it loaded.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import threading
import types
from dataclasses import dataclass
from typing import Any

DEFAULT_TOKENIZER = "spacy.Tokenizer.v1"  # the registered name of `spacy.language.create_tokenizer`


def _info(*args, **kwargs):
    """`spacy.info`, loading spaCy's command line when someone asks for it."""
    return importlib.import_module("spacy.cli.info").info(*args, **kwargs)


def _empty_package(name: str, folder: str | None) -> types.ModuleType:
    """A package whose `__init__` never runs: its submodules (in `folder`) still import."""
    package = types.ModuleType(name)
    package.__path__ = [folder] if folder else []
    return package


class _LazyPackage(types.ModuleType):
    """A package whose `__init__` only imports names from its submodules: each name is imported
    from its submodule on first use, the way the real `__init__` would have bound it."""

    def __init__(self, name: str, init_file: str, names: dict[str, str], exported: list[str]):
        super().__init__(name)
        self.__file__ = init_file
        self.__path__ = [os.path.dirname(init_file)]
        self.__spec__ = importlib.util.spec_from_file_location(name, init_file,
                                                               submodule_search_locations=self.__path__)
        self.__all__ = exported
        self._lazy_names = names

    def __getattr__(self, attribute: str) -> Any:
        submodule = self.__dict__.get("_lazy_names", {}).get(attribute)
        if submodule is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {attribute!r}")
        value = getattr(importlib.import_module(f"{self.__name__}.{submodule}"), attribute)
        setattr(self, attribute, value)
        return value


def _lazy_package(name: str, init_file: str) -> _LazyPackage | None:
    """`name` as a `_LazyPackage` when its `__init__.py` holds nothing but `from .sub import X`
    lines and `__all__` (else None: the real package is imported)."""
    import ast

    try:
        with open(init_file, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        return None
    names: dict[str, str] = {}
    exported: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            names.update((alias.asname or alias.name, node.module) for alias in node.names if alias.name != "*")
        elif (isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__all__"]
              and isinstance(node.value, (ast.List, ast.Tuple))):
            exported = [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):  # a docstring
            return None
    return _LazyPackage(name, init_file, names, exported) if names else None


def import_spacy() -> None:
    if "spacy" in sys.modules:
        return
    spec = importlib.util.find_spec("spacy")  # finds the package without importing it
    root = next(iter(spec.submodule_search_locations or []), None) if spec else None
    cli, info = _empty_package("spacy.cli", None), types.ModuleType("spacy.cli.info")
    info.info = cli.info = _info  # `from .cli.info import info` resolves to the placeholder
    stand_ins: dict[str, object] = {"spacy.cli": cli, "spacy.cli.info": info}
    if "torch" not in sys.modules:
        stand_ins["torch"] = None  # `import torch` raises ImportError
    pipeline = _lazy_package("spacy.pipeline", os.path.join(root, "pipeline", "__init__.py")) if root else None
    if pipeline is not None:
        sys.modules["spacy.pipeline"] = pipeline  # for good: it is spaCy's package, loaded by name
    sys.modules.update(stand_ins)  # type: ignore[arg-type]
    try:
        import spacy
    except BaseException:
        if sys.modules.get("spacy.pipeline") is pipeline:
            del sys.modules["spacy.pipeline"]
        raise
    finally:
        for name, stand_in in stand_ins.items():
            if name in sys.modules and sys.modules[name] is stand_in:
                del sys.modules[name]
    if getattr(spacy, "cli", None) is cli:
        del spacy.cli  # `import spacy.cli` binds the real one


@dataclass(frozen=True)
class AffixRules:
    """Regexes split off words on top of a language's own affix rules: at a word's start
    (`prefixes`), at its end (`suffixes`) and inside it (`infixes`)."""

    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    infixes: tuple[str, ...] = ()


# Separators creators stick to words, split off so the label beside them is a word of its own
# (ninth and eleventh probe rounds, every region; most languages' own rules split none of these):
# - anywhere: "Werbung|Neue", "Anzeige• Serum", "#ad|", "Werbung—Glow", "–Werbung–", "‼️REKLAM‼️",
#   and the emoji presentation selector U+FE0F after "❗️" ("❗️Ad❗️": it stuck to the label);
# - a hyphen or slash at a word's edge only ("-Werbung-", "Reklama/ Nowe"): inside a word it joins
#   ("Sommer-Kollektion"), before a digit it is a sign ("-20%");
# - a slash between letters ("Reklama/Werbung"; web addresses are kept whole by the URL rule);
# - a colon before a capital ("Reklam:Glow"), not before a case ending ("IKEA:s", "@glow:n").
# Not "·": Catalan writes it inside words ("col·laboració").
_ANYWHERE = r"[|｜•¦\ufe0f‼⁉—–]"
_LETTER = r"[^\W\d_]"
SEPARATORS = AffixRules(
    prefixes=(_ANYWHERE, rf"[-/](?={_LETTER})"),
    suffixes=(_ANYWHERE, rf"(?<={_LETTER})[-/]"),
    infixes=(_ANYWHERE, rf"(?<={_LETTER})/(?={_LETTER})", rf"(?<={_LETTER}):(?=[A-ZÀ-ÖØ-Þ])"),
)


def default_tokenizer(vocab: Any, defaults: Any, separators: AffixRules | None = None) -> Any:
    """The tokenizer `spacy.Tokenizer.v1` builds for a language (`create_tokenizer`), with the
    `separators` rules added to its own. Built in one go: setting a tokenizer's affix rules
    afterwards reloads its thousands of special cases once per rule (a second of a scan's warm-up
    per language)."""
    from spacy.tokenizer import Tokenizer
    from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex

    extra = separators or AffixRules()

    def rules(entries: Any, added: tuple[str, ...], compile_regex: Any) -> Any:
        entries = [*(entries or ()), *added]
        return compile_regex(entries) if entries else None

    prefix = rules(defaults.prefixes, extra.prefixes, compile_prefix_regex)
    suffix = rules(defaults.suffixes, extra.suffixes, compile_suffix_regex)
    infix = rules(defaults.infixes, extra.infixes, compile_infix_regex)
    return Tokenizer(vocab, rules=defaults.tokenizer_exceptions, prefix_search=prefix.search if prefix else None,
                     suffix_search=suffix.search if suffix else None,
                     infix_finditer=infix.finditer if infix else None, token_match=defaults.token_match,
                     url_match=defaults.url_match)


class BlankPipeline:
    """What rule matching uses of a blank `spacy.Language`: its vocabulary, tokenizer, `Defaults`
    (stop words) and `make_doc`, built by spaCy's own `create_vocab` and the tokenizer
    `create_tokenizer` makes (`default_tokenizer`), as `Language.__init__` builds them for
    `spacy.blank`."""

    def __init__(self, language_class: Any, max_length: int = 10**6, separators: AffixRules | None = None):
        from spacy.vectors import Vectors
        from spacy.vocab import create_vocab

        self.lang = language_class.lang
        self.Defaults = language_class.Defaults
        self.max_length = max_length  # `Language`'s default
        self.vocab = create_vocab(self.lang, self.Defaults)
        self.vocab.vectors = Vectors(strings=self.vocab.strings)  # what `spacy.Vectors.v1` makes
        self.tokenizer = default_tokenizer(self.vocab, self.Defaults, separators)

    def make_doc(self, text: str):
        if len(text) > self.max_length:  # as `Language.make_doc` refuses it
            from spacy.errors import Errors

            raise ValueError(Errors.E088.format(length=len(text), max_length=self.max_length))
        return self.tokenizer(text)

    def __call__(self, text: str):
        return self.make_doc(text)  # no components to run


# ------------------------------------------------------------------ large alternations, factored

FACTOR_PATTERNS_OVER = 100_000  # characters: spaCy's French TOKEN_MATCH is 1.4 MB, other patterns < 20 KB
_FLAGS = re.compile(r"\(\?[aiLmsux]+\)")
_CLASS = r"\[\^?\]?(?:\\.|[^\]\\])*\]"
_CLASS_AT = re.compile(_CLASS)
# One atom of a regex and its quantifier: an escape, a character class, a non-capturing group
# (its own groups nested once), or a plain character.
_ATOM = re.compile(rf"""(?:\\.|{_CLASS}|\(\?:(?:\\.|{_CLASS}|\(\?:(?:\\.|{_CLASS}|[^()\\\[])*\)|[^()\\\[])*\)"""
                   r"""|[^\\\[\]()|*+?{}])(?:(?:[*+?]|\{\d*,?\d*\})\??)?""")


def _atoms(text: str) -> list[str] | None:
    """`text` as a list of atoms (None when it holds anything else: an alternation, a group)."""
    atoms, position = [], 0
    while position < len(text):
        match = _ATOM.match(text, position)
        if match is None:
            return None
        atoms.append(match.group(0))
        position = match.end()
    return atoms


def _top_level_alternatives(body: str) -> list[str] | None:
    """`(?:A)|(?:B)|...` as [A, B, ...]; None when `body` is not only that."""
    alternatives, position = [], 0
    while position < len(body):
        if not body.startswith("(?:", position):
            return None
        depth, index, start = 0, position, position + 3
        while index < len(body):
            if body[index] == "\\":
                index += 2
                continue
            if body[index] == "[":
                klass = _CLASS_AT.match(body, index)
                if klass is None:
                    return None
                index = klass.end()
                continue
            depth += {"(": 1, ")": -1}.get(body[index], 0)
            index += 1
            if depth == 0:
                break
        if depth != 0:
            return None
        alternatives.append(body[start:index - 1])
        if index == len(body):
            return alternatives
        if not body.startswith("|", index) or index + 1 == len(body):  # "(?:a)b", "(?:a)|": not only groups
            return None
        position = index + 1
    return alternatives


def factored_alternation(pattern: str) -> str | None:
    """`(?flags)(?:A)|(?:B)|...` rewritten with the alternatives' common endings shared: a trie of
    their atoms read from the end, so "^p[-][a-z]+$" and "^q[-][a-z]+$" become "(?:^p|^q)[-][a-z]+$".
    Matches the same strings (concatenation distributes over union); None when an alternative is
    not a plain sequence of atoms."""
    flags = _FLAGS.match(pattern)
    head = flags.group(0) if flags else ""
    alternatives = _top_level_alternatives(pattern[len(head):])
    sequences = [_atoms(a) for a in alternatives] if alternatives else None
    if not sequences or any(s is None for s in sequences):
        return None
    trie: dict[str, dict] = {}
    for sequence in sequences:
        node = trie
        for atom in reversed(sequence):  # type: ignore[arg-type]
            node = node.setdefault(atom, {})
        node[""] = {}  # an alternative may end where another goes on

    def emit(node: dict[str, dict]) -> str:
        branches = [emit(child) + atom if atom else "" for atom, child in node.items()]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return head + emit(trie)


class _factored_large_patterns:
    """While a language package imports: `re.compile` of a pattern over FACTOR_PATTERNS_OVER
    characters compiles its `factored_alternation` (the same strings match); all else as it is.
    One at a time (a lock): two threads loading languages must not restore each other's."""

    _lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()
        self.compile = real = re.compile

        def compile_factored(pattern: Any, flags: int = 0) -> Any:
            if isinstance(pattern, str) and len(pattern) > FACTOR_PATTERNS_OVER:
                pattern = factored_alternation(pattern) or pattern
            return real(pattern, flags)

        re.compile = compile_factored  # type: ignore[assignment]

    def __exit__(self, *exc: object) -> None:
        re.compile = self.compile  # type: ignore[assignment]
        self._lock.release()


def language_class(code: str) -> Any:
    """`spacy.util.get_lang_class(code)`, its package imported with large patterns factored."""
    from spacy.util import get_lang_class

    with _factored_large_patterns():
        return get_lang_class(code)


def blank(code: str, config: dict | None = None, separators: AffixRules | None = None) -> Any:
    """`spacy.blank(code, config=config)` for a language whose tokenizer is spaCy's default one
    (most languages, and any `config` that asks for it): a `BlankPipeline`, without importing every
    pipeline component and resolving the config through the registry (about 0.05 s of a creator's
    check). Other tokenizers (Chinese, Japanese...) and other config come from `spacy.blank`.
    `separators`: also split off from words by the default tokenizer (what the analyzers tokenise
    with, `SEPARATORS`); character-segmenting tokenizers (zh, ja) split them anyway."""
    import spacy

    language = language_class(code)
    asked = dict(config or {})
    tokenizer = dict(asked.pop("nlp", {}) or {})
    tokenizer_config = tokenizer.pop("tokenizer", None) or language.default_config["nlp"]["tokenizer"]
    if asked or tokenizer or dict(tokenizer_config) != {"@tokenizers": DEFAULT_TOKENIZER}:
        nlp = spacy.blank(code, config=config or {})
        if separators and hasattr(nlp.tokenizer, "infix_finditer"):
            nlp.tokenizer = default_tokenizer(nlp.vocab, nlp.Defaults, separators)
        return nlp
    return BlankPipeline(language, separators=separators)


import_spacy()
