"""Every shipped pack validates, cites its sources, and passes its own cases."""

from __future__ import annotations


import pytest
import yaml

from complianceguard.errors import PackError
from complianceguard.packs.cases import run_cases
from complianceguard.packs.loader import BUILTIN_RULES, PackLibrary, read_pack

PACK_FILES = sorted(BUILTIN_RULES.glob("*.yaml"))
REGION_PACKS = [p for p in PACK_FILES if not yaml.safe_load(p.read_text()).get("abstract")]


def _cases():
    try:
        library = PackLibrary()
    except PackError as exc:  # reported as a failing test, not a collection error
        yield pytest.param(exc, id="packs-load")
        return
    for resolved in library.packs:
        for result in run_cases(library, resolved):
            yield pytest.param(result, id=f"{result.rule}-{result.expected}-{result.case.caption[:30]}")


@pytest.mark.parametrize("result", list(_cases()))
def test_pack_case(result):
    if isinstance(result, Exception):
        pytest.fail(str(result))
    assert result.ok, result.describe()


def test_required_region_packs_exist(library):
    assert {"US", "GB", "DE"} <= set(library.regions())


@pytest.mark.parametrize("path", REGION_PACKS, ids=lambda p: p.name)
def test_every_rule_is_cited_with_two_cases_each_way(path, library):
    raw = read_pack(path)
    resolved = library.get(raw.pack.id)
    assert raw.pack.rules
    for rule in raw.pack.rules:
        source = resolved.pack.sources[rule.source.ref]
        assert source.url.startswith("http") and source.title and source.publisher, rule.code
        assert rule.confidence in ("high", "medium", "low"), rule.code
        assert len(rule.cases.pass_) >= 2 and len(rule.cases.fail) >= 2, rule.code


def test_rule_codes_are_unique_across_packs():
    codes = [r.code for path in PACK_FILES for r in read_pack(path).pack.rules]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("mutation, expected", [
    (lambda d: d["rules"][0].update(check="label-presnt"), "rule {code}, field check"),
    (lambda d: d["rules"][0].update(params={"bogus": 1}), "rule {code}, field params: unknown param 'bogus'"),
    (lambda d: d["rules"][0]["source"].update(ref="nowhere"), "rule {code}, field source.ref"),
    (lambda d: d["rules"][0].pop("confidence"), "rule {code}, field confidence"),
    (lambda d: d.update(extends="no-such-pack"), "field extends"),
])
def test_broken_packs_name_file_rule_and_field(tmp_path, mutation, expected):
    data = yaml.safe_load((BUILTIN_RULES / "gb.yaml").read_text())
    data["id"] = "broken"
    code = data["rules"][0]["code"]
    mutation(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(PackError) as error:
        PackLibrary(extra=[path])
    message = str(error.value)
    assert message.startswith(str(path)) and expected.format(code=code) in message and "\n" not in message


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nrules: [\n")
    with pytest.raises(PackError, match=r"bad.yaml: line \d+: invalid YAML"):
        read_pack(path)


def test_extends_merges_vocabulary_and_inherits_rules(library):
    gb = library.for_region("GB")
    assert gb.chain == ("gb-asa", "base")
    assert gb.pack.vocabulary["en"].denials  # from base
    assert gb.pack.vocabulary["en"].labels   # from gb


def test_validate_points_at_the_line_of_the_mistake(tmp_path):
    pack = tmp_path / "brand.yaml"
    pack.write_text(
        "id: glow-policy\nversion: 1.0.0\nname: Glow policy\nextends: gb-asa\n"
        "sources:\n  brief: {title: Brief, publisher: Glow, year: 2026, url: 'https://example.com', confidence: high}\n"
        "rules:\n  - code: GLOW001\n    name: tag-too\n    check: platform-tool\n    params:\n"
        "      prefered: true\n"  # line 12: the typo
        "    message: m\n    why: w\n    example: {bad: b, good: g}\n    fix: f\n    source: {ref: brief}\n"
        "    confidence: high\n")
    with pytest.raises(PackError) as error:
        read_pack(pack)
    assert str(error.value).startswith(f"{pack}: line 12: rule GLOW001, field params: unknown param 'prefered'")
    pack.write_text(pack.read_text().replace("prefered", "preferred").replace("confidence: high\n", "confidence: sure\n"))
    with pytest.raises(PackError, match=r"line 18: rule GLOW001, field confidence"):
        read_pack(pack)


def test_published_json_schema_matches_the_pack_model():
    import json

    from complianceguard.packs.schema import Pack

    published = json.loads((BUILTIN_RULES / "schema" / "pack.schema.json").read_text())
    assert published == Pack.model_json_schema(by_alias=True), "regenerate: complianceguard rules schema"
