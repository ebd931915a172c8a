"""Load rule packs: read YAML, validate, resolve `extends`, hash, select by region.

Every error names the file, the rule code and the field, so a legal team editing a pack can fix
it without reading Python.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from complianceguard.errors import PackError
from complianceguard.packs.kinds import params_problem
from complianceguard.packs.schema import Pack, Rule, Vocabulary

_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster


class _UniqueKeyLoader(_BASE_LOADER):  # type: ignore[misc,valid-type]
    """The safe loader, refusing a mapping that gives a key twice (YAML says keys are unique; PyYAML
    would keep the last one silently: a second `caption:` or `id:` must not win unseen). Keys that
    a `<<` merge brings in may still be overridden, as YAML intends."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict:
        if isinstance(node, yaml.MappingNode):
            seen: set[object] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark, f"duplicate key {key!r}",
                        key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


SAFE_LOADER = _UniqueKeyLoader

# The shipped packs are package data, so a wheel install has them too; COMPLIANCEGUARD_RULES points at another folder.
BUILTIN_RULES = Path(os.environ.get("COMPLIANCEGUARD_RULES") or Path(__file__).resolve().parent / "builtin")


@lru_cache(maxsize=1)
def _commercial_cue_ids() -> frozenset[str]:
    """The cue ids a pack's `presumed_commercial` may name (read from the cue file without
    importing the analyzer, so loading packs stays cheap)."""
    text = resources.files("complianceguard").joinpath("data/commercial.yaml").read_text("utf-8")
    return frozenset((yaml.load(text, Loader=SAFE_LOADER) or {}).get("cues", {}))


@dataclass(frozen=True, eq=False)
class ResolvedPack:
    """A pack with its `extends` chain merged in: what the engine evaluates."""

    pack: Pack
    path: Path
    sha256: str
    chain: tuple[str, ...]  # ids from this pack up to the root

    @property
    def ref(self) -> str:
        return f"{self.pack.id}@{self.pack.version}"


@dataclass(frozen=True)
class _Raw:
    pack: Pack
    path: Path
    sha256: str


def _describe_location(data: Any, loc: tuple[Any, ...]) -> str:
    """Turn pydantic's ('rules', 3, 'params') into 'rule GB104, field params'."""
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = data.get("rules") if isinstance(data, dict) else None
        code = None
        if isinstance(rules, list) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            code = rules[loc[1]].get("code")
        field = ".".join(str(p) for p in loc[2:]) or "(rule)"
        return f"rule {code or '#' + str(loc[1] + 1)}, field {field}"
    return "field " + ".".join(str(p) for p in loc)


def _rule_field(data: dict[str, Any], index: Any, name: str) -> Any:
    rules = data.get("rules")
    if isinstance(index, int) and isinstance(rules, list) and index < len(rules) and isinstance(rules[index], dict):
        return rules[index].get(name)
    return None


def _line_of(text: bytes, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at a pydantic error location (deepest node that exists)."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


PARSED_KIND = "pack-yaml"  # cache entries: a pack file's YAML parsed, as JSON


def _parsed(raw_bytes: bytes) -> Any:
    """The YAML of a pack file, parsed: from the cache when these very bytes were parsed before.

    The duplicate-key check needs PyYAML's pure-Python loader, about 10 ms a pack, paid for all
    30 packs by every process that starts (a creator's `check`, the API, each scan). The entry is
    keyed by the bytes' SHA-256 and holds the parsed document as JSON (no pickle: a cache folder
    is data, never code); a document JSON cannot give back exactly (dates, non-string keys) is
    parsed every time. Validation runs on the result as on a fresh parse. YAML dates (a pack's
    `updated: 2025-05-09`) are kept as tagged objects ({"$date": "2025-05-09"}) and come back as
    dates, so a dated pack is cached too."""
    from complianceguard.cache import Cache, cache_key, sha256_bytes

    cache = Cache()
    key = cache_key(PARSED_KIND, sha256_bytes(raw_bytes), {}, {"pyyaml": yaml.__version__, "format": 2})
    stored = cache.get(PARSED_KIND, key)
    if stored is not None:
        try:
            return json.loads(stored, object_hook=_dated)
        except ValueError:
            cache.discard(PARSED_KIND, key)
    data = yaml.load(raw_bytes, Loader=SAFE_LOADER)
    try:
        text = json.dumps(data, ensure_ascii=False, sort_keys=False, default=_tag_date)
    except (TypeError, ValueError):
        return data
    if json.loads(text, object_hook=_dated) == data:
        cache.put(PARSED_KIND, key, text.encode("utf-8"))
    return data


def _tag_date(value: Any) -> Any:
    """A YAML date or timestamp, as JSON that `_dated` turns back into it."""
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not JSON")


def _dated(document: dict[str, Any]) -> Any:
    if len(document) == 1 and isinstance(next(iter(document.values())), str):
        if "$date" in document:
            return dt.date.fromisoformat(document["$date"])
        if "$datetime" in document:
            return dt.datetime.fromisoformat(document["$datetime"])
    return document


VALIDATED_KIND = "pack"  # cache entries: a pack file validated, as the Pack's JSON


@lru_cache(maxsize=1)
def _schema_fingerprint() -> str:
    """SHA-256 of the code that decides what a pack file validates to (the pack schema and the
    model types it uses, the check kinds' typed params, this loader): a validated pack cached by
    another version of it is not reused."""
    hasher = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for source in [here / "schema.py", here / "loader.py", here.parent / "model.py",
                   *sorted((here / "kinds").glob("*.py"))]:
        hasher.update(source.name.encode("utf-8") + b"\0" + source.read_bytes() + b"\0")
    return hasher.hexdigest()


def _validated_key(digest: str) -> str:
    from pydantic import VERSION

    from complianceguard.cache import cache_key

    return cache_key(VALIDATED_KIND, digest, {}, {"schema": _schema_fingerprint(), "pydantic": VERSION, "format": 1})


def _cached_pack(digest: str) -> Pack | None:
    """The pack these bytes validated to before, from the cache (None: never, or unreadable).

    Every process validates all 30 packs (about 5 ms each) before its first check; a pack's JSON,
    as dumped after a validation that passed, validates again in pydantic's JSON parser several
    times faster. The entry is keyed by the file's SHA-256 and the schema's code, holds data (JSON,
    no pickle) and is validated like any input: it cannot give a pack the file would not."""
    from complianceguard.cache import Cache

    cache = Cache()
    key = _validated_key(digest)
    stored = cache.get(VALIDATED_KIND, key)
    if stored is None:
        return None
    try:
        return Pack.model_validate_json(stored)
    except ValueError:  # pydantic's ValidationError included
        cache.discard(VALIDATED_KIND, key)
        return None


def _cache_pack(digest: str, pack: Pack) -> None:
    """Keep a validated pack for `_cached_pack`, when its JSON gives back the very same pack (the
    fields it set included: `extends` merging reads them)."""
    from complianceguard.cache import Cache

    text = pack.model_dump_json(by_alias=True, exclude_unset=True)
    try:
        again = Pack.model_validate_json(text)
    except ValueError:
        return
    if again == pack and _fields_set(again) == _fields_set(pack):
        Cache().put(VALIDATED_KIND, _validated_key(digest), text.encode("utf-8"))


def _fields_set(value: Any) -> Any:
    """The fields set in a model and every model inside it (what `exclude_unset` keeps)."""
    if isinstance(value, BaseModel):
        fields = sorted(type(value).model_fields)
        return sorted(value.model_fields_set), [_fields_set(getattr(value, f)) for f in fields]
    if isinstance(value, (list, tuple)):
        return [_fields_set(v) for v in value]
    if isinstance(value, dict):
        return {k: _fields_set(v) for k, v in value.items()}
    return None


HEADER_KIND = "pack-header"  # cache entries: what a pack file is for (id, region, extends, languages)


@dataclass(frozen=True)
class PackHeader:
    """What a pack file is for, without its rules: enough to choose the files a region needs and
    to know every region's languages. Read from the cache by the file's SHA-256 (a file never
    validated before is read in full once)."""

    id: str
    region: str | None
    extends: str | None
    abstract: bool
    languages: tuple[str, ...]  # its audience's (`languages`; empty: its parent's)
    vocabulary: tuple[str, ...]  # the languages its own vocabulary lists
    path: Path

    @classmethod
    def of(cls, raw: _Raw) -> PackHeader:
        pack = raw.pack
        return cls(pack.id, pack.region, pack.extends, pack.abstract, tuple(pack.languages), tuple(pack.vocabulary),
                   raw.path)


def read_header(path: Path) -> PackHeader:
    """The header of the pack at `path` (`PackHeader`); a file that does not validate raises as `read_pack`."""
    from complianceguard.cache import Cache

    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise PackError(f"{path}: cannot read pack ({exc.strerror})") from None
    cache, key = Cache(), _validated_key(hashlib.sha256(raw_bytes).hexdigest())
    stored = cache.get(HEADER_KIND, key)
    if stored is not None:
        try:
            data = json.loads(stored)
            return PackHeader(data["id"], data["region"], data["extends"], bool(data["abstract"]),
                              tuple(data["languages"]), tuple(data["vocabulary"]), path)
        except (ValueError, KeyError, TypeError):
            cache.discard(HEADER_KIND, key)
    header = PackHeader.of(read_pack(path))
    cache.put(HEADER_KIND, key, json.dumps({"id": header.id, "region": header.region, "extends": header.extends,
                                           "abstract": header.abstract, "languages": header.languages,
                                           "vocabulary": header.vocabulary}).encode())
    return header


def read_pack(path: Path) -> _Raw:
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise PackError(f"{path}: cannot read pack ({exc.strerror})") from None
    digest = hashlib.sha256(raw_bytes).hexdigest()
    cached = _cached_pack(digest)
    if cached is not None:
        return _Raw(cached, path, digest)
    try:
        data = _parsed(raw_bytes)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark else ""
        raise PackError(f"{path}:{where} invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise PackError(f"{path}: a pack must be a YAML mapping")
    try:
        pack = Pack.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        loc = first["loc"]
        line = _line_of(raw_bytes, loc)
        where = f" line {line}:" if line else ""
        if len(loc) >= 3 and loc[0] == "rules" and loc[2] == "params":  # typed by the rule's check kind
            problem = params_problem(_rule_field(data, loc[1], "check"), loc[3:], first)
            raise PackError(f"{path}:{where} {_describe_location(data, loc[:3])}: {problem}{more}") from None
        raise PackError(f"{path}:{where} {_describe_location(data, loc)}: {first['msg']}{more}") from None
    _check_vocabulary(path, raw_bytes, data, pack)
    _cache_pack(digest, pack)
    return _Raw(pack, path, digest)


MAX_TERMS = 10_000  # vocabulary terms in one pack (the shipped ones have under 400): matchers stay fast to build
MAX_TERM_CHARS = 200
MAX_WILDCARDS = 1  # `*` in a hashtag term: one keeps matching linear; more can backtrack for ever (ReDoS)


def _check_vocabulary(path: Path, raw_bytes: bytes, data: dict[str, Any], pack: Pack) -> None:
    """Vocabulary terms the matcher can run in bounded time: a hostile pack is refused, not run."""
    total = 0
    for language, vocabulary in pack.vocabulary.items():
        fields = [(f, getattr(vocabulary, f)) for f in ("labels", "insufficient", "denials", "signals", "negators",
                                                                 "not_labels")]
        fields += [(f"special.{flag}", terms) for flag, terms in vocabulary.special.items()]
        for field, terms in fields:
            total += len(terms)
            for index, term in enumerate(terms):
                problem = None
                if len(term) > MAX_TERM_CHARS:
                    problem = f"a term of {len(term)} characters (at most {MAX_TERM_CHARS})"
                elif term.count("*") > MAX_WILDCARDS:
                    problem = (f"{term[:40]!r} has {term.count('*')} wildcards; at most {MAX_WILDCARDS} `*` per term "
                               "(more can make matching take exponential time)")
                if problem:
                    loc = ("vocabulary", language, *field.split("."), index)
                    line = _line_of(raw_bytes, loc)
                    where = f" line {line}:" if line else ""
                    raise PackError(f"{path}:{where} field vocabulary.{language}.{field}: {problem}")
    if total > MAX_TERMS:
        raise PackError(f"{path}: field vocabulary: {total:,} terms; a pack may have at most {MAX_TERMS:,}")


def _merge_vocabulary(base: dict[str, Vocabulary], child: dict[str, Vocabulary]) -> dict[str, Vocabulary]:
    """A child pack's vocabulary over its parent's, field by field as each field's type says
    (`_merged_field`): a field added to Vocabulary is merged without being listed here. The
    parent's `not_inherited` terms are not passed on."""
    merged = {language: _inheritable(vocab) for language, vocab in base.items()}
    for language, vocab in child.items():
        if language not in merged:
            merged[language] = vocab
            continue
        parent = merged[language]
        merged[language] = Vocabulary(**{name: _merged_field(field.annotation, getattr(parent, name),
                                                             getattr(vocab, name))
                                         for name, field in Vocabulary.model_fields.items()})
    return merged


def _inheritable(vocab: Vocabulary) -> Vocabulary:
    """A parent's vocabulary as a child pack inherits it: its term lists without its `not_inherited`
    terms (a term a pack above the parent lists is dropped with them: list it in the child again)."""
    if not vocab.not_inherited:
        return vocab
    dropped = set(vocab.not_inherited)
    fields: dict[str, Any] = {}
    for name, field in Vocabulary.model_fields.items():
        value, origin = getattr(vocab, name), get_origin(field.annotation)
        if origin is list:
            value = [t for t in value if t not in dropped]
        elif origin is dict and get_origin(get_args(field.annotation)[1]) is list:
            value = {key: [t for t in terms if t not in dropped] for key, terms in value.items()}
        # Mappings by term (`spoken`, `term_confidence`) stay: an entry for a term no list holds is
        # inert, and the same term may have come from a pack above this one (base's "ad" -> "an ad").
        fields[name] = value
    return Vocabulary(**fields)


def _merged_field(annotation: Any, parent: Any, child: Any) -> Any:
    """Lists: the parent's terms, then the child's new ones. Mappings of lists (`special`): the same
    per key. Other mappings (`term_confidence`, `spoken`): the child's entries win. A single value
    (`preferred`): the child's, else the parent's."""
    origin = get_origin(annotation)
    if origin is list:
        return list(dict.fromkeys([*parent, *child]))
    if origin is dict:
        if get_origin(get_args(annotation)[1]) is list:
            return {key: list(dict.fromkeys([*parent.get(key, []), *child.get(key, [])]))
                    for key in dict.fromkeys([*parent, *child])}
        return {**parent, **child}
    return child or parent


def _merge(parent: Pack, child: Pack) -> Pack:
    own_codes = {r.code for r in child.rules}
    inherited: list[Rule] = [r for r in parent.rules if r.code not in own_codes and r.code not in child.disable]
    fields_set = child.model_fields_set
    return child.model_copy(update={
        "region": child.region or parent.region,
        "languages": child.languages or parent.languages,
        "disclosure_required_for": child.disclosure_required_for
        if "disclosure_required_for" in fields_set else parent.disclosure_required_for,
        "disclosure_unsettled_for": child.disclosure_unsettled_for
        if "disclosure_unsettled_for" in fields_set else parent.disclosure_unsettled_for,
        "sources": {**parent.sources, **child.sources},
        "vocabulary": _merge_vocabulary(parent.vocabulary, child.vocabulary),
        "rules": [*inherited, *child.rules],
        "not_found": [*parent.not_found, *child.not_found],
    })


class PackLibrary:
    """All packs known to a run: the built-in packs (`complianceguard/packs/builtin/`) plus any `--pack` files."""

    def __init__(self, folder: Path = BUILTIN_RULES, extra: list[Path] | None = None, edits_shipped: bool = False,
                 regions: list[str] | None = None):
        """`edits_shipped`: an extra pack whose id is a shipped pack's stands in for it. Only
        `rules validate` and `rules test` ask for that (a pack author testing an edited copy);
        `check`, `scan` and `serve` refuse it, so no report is ever made with a silent stand-in.
        `regions`: load only the built-in packs these regions need (theirs and what they extend),
        for a creator's `check` of a region or two (two packs read instead of thirty); every
        region's name and languages are still known from the packs' headers, so the languages a
        caption may be detected in are the same as with every pack loaded."""
        self._raw: dict[str, _Raw] = {}
        self.extra_ids: list[str] = []
        files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
        extras = [read_pack(Path(path)) for path in extra or []]
        self.headers = [read_header(path) for path in files] if regions is not None else None
        if self.headers is not None:
            # a --pack's parent, and a shipped pack with its id (refused below as with every pack loaded)
            files = self._needed(self.headers, regions or [], {i for r in extras for i in (r.pack.id, r.pack.extends)})
        for path in files:
            self._add(read_pack(path))
        for raw in extras:
            shipped = self._raw.get(raw.pack.id)
            if shipped is not None and shipped.path.resolve() == raw.path.resolve():
                continue  # the very file already loaded (`rules test complianceguard/packs/builtin/gb.yaml`)
            if shipped is not None and edits_shipped and raw.pack.id not in self.extra_ids:
                self._add(raw, replace=True)
                self.extra_ids.append(raw.pack.id)
                continue
            if shipped is not None:  # a --pack never silently stands in for a shipped (or another) pack
                kind = "a shipped pack" if raw.pack.id not in self.extra_ids else "another --pack"
                raise PackError(f"{raw.path}: pack id {raw.pack.id!r} is already used by {kind} "
                                f"({shipped.path.name}); give this pack its own id (to build on that one: "
                                f"`extends: {raw.pack.id}`)")
            self._add(raw)
            self.extra_ids.append(raw.pack.id)
        self._resolved: dict[str, ResolvedPack] = {}
        for pack_id in self._raw:
            self.resolve(pack_id)

    @staticmethod
    def _needed(headers: list[PackHeader], regions: list[str], ids: set[str | None]) -> list[Path]:
        """The files of the packs for `regions` and of the packs `ids`, with those they extend, in
        folder order. A region no pack covers loads nothing for it (`for_region` names the others)."""
        by_id = {h.id: h for h in headers}
        wanted = {r.upper() for r in regions}
        needed: set[str] = set()
        for header in headers:
            if (header.region and header.region.upper() in wanted and not header.abstract) or header.id in ids:
                current: PackHeader | None = header
                while current is not None and current.id not in needed:
                    needed.add(current.id)
                    current = by_id.get(current.extends) if current.extends else None
        return [h.path for h in headers if h.id in needed]

    def candidate_languages(self) -> tuple[str, ...]:
        """Every language a region's audience or vocabulary has (what language detection chooses
        among): from all the loaded packs, and from the headers of the shipped ones not loaded."""
        languages = {lang for p in self.packs if not p.pack.abstract
                     for lang in (*p.pack.languages, *p.pack.vocabulary)}
        by_id = {h.id: h for h in self.headers or []}
        for header in self.headers or []:
            if header.abstract:
                continue
            chain, current = [], header
            while current is not None and current not in chain:  # as `resolve` merges them
                chain.append(current)
                current = by_id.get(current.extends) if current.extends else None
            languages.update(next((h.languages for h in chain if h.languages), ()))
            languages.update(lang for h in chain for lang in h.vocabulary)
        return tuple(sorted(languages | {"en"}))

    def _add(self, raw: _Raw, replace: bool = False) -> None:
        existing = self._raw.get(raw.pack.id)
        if existing and not replace:
            raise PackError(f"{raw.path}: pack id {raw.pack.id!r} is also used by {existing.path}")
        self._raw[raw.pack.id] = raw

    def resolve(self, pack_id: str, _seen: tuple[str, ...] = ()) -> ResolvedPack:
        if pack_id in self._resolved:
            return self._resolved[pack_id]
        raw = self._raw[pack_id]
        if pack_id in _seen:
            raise PackError(f"{raw.path}: `extends` loops back to {pack_id!r} ({' -> '.join(_seen)})")
        pack, chain = raw.pack, (pack_id,)
        if raw.pack.extends:
            if raw.pack.extends not in self._raw:
                raise PackError(f"{raw.path}: field extends: no pack with id {raw.pack.extends!r}")
            parent = self.resolve(raw.pack.extends, (*_seen, pack_id))
            pack, chain = _merge(parent.pack, raw.pack), (pack_id, *parent.chain)
        self._check_resolved(raw.path, pack)
        resolved = ResolvedPack(pack, raw.path, raw.sha256, chain)
        self._resolved[pack_id] = resolved
        return resolved

    @staticmethod
    def _check_resolved(path: Path, pack: Pack) -> None:
        seen: set[str] = set()
        for rule in pack.rules:
            if rule.code in seen:
                raise PackError(f"{path}: rule {rule.code}, field code: used twice")
            seen.add(rule.code)
            if rule.source.ref not in pack.sources:
                raise PackError(f"{path}: rule {rule.code}, field source.ref: no source {rule.source.ref!r} "
                                "in `sources`")
        presumed = pack.presumed_commercial
        if presumed is not None:
            if presumed.source.ref not in pack.sources:
                raise PackError(f"{path}: field presumed_commercial.source.ref: no source {presumed.source.ref!r} "
                                "in `sources`")
            unknown = [c for c in presumed.cues if c != "any" and c not in _commercial_cue_ids()]
            if unknown:
                raise PackError(f"{path}: field presumed_commercial.cues: no commercial cue {unknown[0]!r} "
                                "(see complianceguard/data/commercial.yaml)")

    @property
    def packs(self) -> list[ResolvedPack]:
        return list(self._resolved.values())

    def file_chain(self, resolved: ResolvedPack) -> list[ResolvedPack]:
        return [self._resolved[i] for i in resolved.chain]

    def regions(self) -> list[str]:
        """Every region a pack covers: those loaded, and the shipped ones known by their headers."""
        known = {(h.region, h.abstract) for h in self.headers or []}
        known |= {(p.pack.region, p.pack.abstract) for p in self.packs}
        return sorted({region for region, abstract in known if region and not abstract})

    def for_region(self, region: str) -> ResolvedPack:
        """The pack for a region; a `--pack` file for that region wins over the built-in one."""
        region = region.upper()
        matches = [p for p in self.packs if not p.pack.abstract and p.pack.region == region]
        if not matches:
            raise PackError(f"no rule pack for region {region} (available: {', '.join(self.regions())})")
        extra = [p for p in matches if p.pack.id in self.extra_ids]
        return (extra or matches)[-1]

    def get(self, pack_id: str) -> ResolvedPack:
        return self.resolve(pack_id)
