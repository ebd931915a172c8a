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
    fixed = pack.read_text().replace("prefered", "preferred")
    pack.write_text(fixed.replace("confidence: high\n", "confidence: sure\n"))
    with pytest.raises(PackError, match=r"line 18: rule GLOW001, field confidence"):
        read_pack(pack)


def test_published_json_schema_matches_the_pack_model():
    import json

    from complianceguard.packs.schema import Pack

    published = json.loads((BUILTIN_RULES / "schema" / "pack.schema.json").read_text())
    assert published == Pack.model_json_schema(by_alias=True), "regenerate: complianceguard rules schema"


# --- typed check kinds ---------------------------------------------------------------------------

def test_every_check_kind_documents_itself():
    from complianceguard.packs.kinds import CHECKS, FAMILIES
    from complianceguard.packs.kinds.base import SECTIONS

    assert len(CHECKS) >= 14
    for name, kind in CHECKS.items():
        assert set(kind.doc) == set(SECTIONS) and all(kind.doc.values()), f"{name}: docstring sections"
        assert kind.family in FAMILIES, name
        config = kind.params.model_config
        assert config.get("frozen") and config.get("extra") == "forbid", name
        for field_name, field in kind.params.model_fields.items():
            assert field.description, f"{name}.{field_name} has no description"


def test_the_readme_check_kind_table_is_generated_from_the_registry():
    from complianceguard.packs.kinds.docs import START, kinds_markdown
    from complianceguard.packs.readme import with_generated

    readme = (BUILTIN_RULES / "README.md").read_text("utf-8")
    assert START in readme
    assert with_generated(readme, kinds_markdown()) == readme, (
        "run: complianceguard rules kinds --write complianceguard/packs/builtin/README.md")


def test_rules_get_their_kinds_typed_params(library):
    from complianceguard.packs.kinds import CHECKS

    for resolved in library.packs:
        for rule in resolved.pack.rules:
            assert type(rule.params) is CHECKS[rule.check].params, rule.code


def test_params_read_back_as_the_pack_wrote_them():
    for path in PACK_FILES:
        data = yaml.safe_load(path.read_text())
        for written, rule in zip(data.get("rules") or [], read_pack(path).pack.rules):
            assert rule.params.model_dump(mode="json") == (written.get("params") or {}), rule.code


GLOW_PACK = (
    "id: glow-policy\nversion: 1.0.0\nname: Glow policy\nextends: gb-asa\n"
    "sources:\n  brief: {{title: Brief, publisher: Glow, year: 2026, url: 'https://example.com', confidence: high}}\n"
    "rules:\n  - code: GLOW001\n    name: timing\n    check: {check}\n    params:\n"
    "      {param}\n"  # line 12
    "    message: m\n    why: w\n    example: {{bad: b, good: g}}\n    fix: f\n    source: {{ref: brief}}\n"
    "    confidence: high\n")


@pytest.mark.parametrize("check, param, expected", [
    ("video-timing", "start_within_s: soon", "param 'start_within_s': must be a number of seconds (got str)"),
    ("label-placement", "first_line: 1", "param 'first_line' must be a valid boolean (got int)"),
    ("label-placement", "max_words_before: 2.5", "param 'max_words_before' must be a valid integer (got float)"),
    ("label-language", "languages: 7", "param 'languages': must be a list of language codes or 'content'"),
    ("special-label", "flag: glossy", "param 'flag' must be 'retouched' or 'ai_generated'"),
    ("video-timing", "tiers: [{max_duration_s: 15}]", "param 'tiers.0': each tier needs min_visible_s or min_fraction"),
    ("live-repeat", "max_gap_s: true", "param 'max_gap_s': must be a number of seconds (got bool)"),
])
def test_a_wrong_param_type_names_file_line_rule_and_field(tmp_path, check, param, expected):
    pack = tmp_path / "brand.yaml"
    pack.write_text(GLOW_PACK.format(check=check, param=param))
    with pytest.raises(PackError) as error:
        read_pack(pack)
    assert str(error.value).startswith(f"{pack}: line 12: rule GLOW001, field params: {expected}"), str(error.value)


def test_a_missing_required_param_is_named(tmp_path):
    pack = tmp_path / "brand.yaml"
    pack.write_text(GLOW_PACK.format(check="special-label", param="{}").replace("    params:\n      {}\n", ""))
    with pytest.raises(PackError, match=r"rule GLOW001, field params: check special-label needs param 'flag'"):
        read_pack(pack)


def test_the_schema_types_each_kinds_params():
    import jsonschema

    from complianceguard.packs.schema import Pack

    schema = Pack.model_json_schema(by_alias=True)
    conditions = {c["if"]["properties"]["check"]["const"]: c["then"]["properties"]["params"]["$ref"]
                  for c in schema["$defs"]["Rule"]["allOf"]}
    assert conditions["live-repeat"] == "#/$defs/LiveRepeatParams"
    assert schema["$defs"]["LiveRepeatParams"]["properties"]["max_gap_s"]["anyOf"][0]["type"] == "number"
    rule = {"code": "GLOW001", "name": "t", "check": "live-repeat", "params": {"max_gap_s": "soon"}, "message": "m",
            "why": "w", "example": {"bad": "b", "good": "g"}, "fix": "f", "source": {"ref": "s"}, "confidence": "high"}
    pack = {"id": "glow", "version": "1.0.0", "name": "g", "region": "GB", "rules": [rule]}
    validator = jsonschema.Draft202012Validator(schema)
    assert any("params" in e.absolute_path or "params" in list(e.absolute_path) for e in validator.iter_errors(pack))
    rule["params"] = {"max_gap_s": 600}
    assert not list(validator.iter_errors(pack))


def test_rules_show_prints_the_kinds_documentation():
    from click.testing import CliRunner

    from complianceguard.cli import main

    result = CliRunner().invoke(main, ["rules", "show", "GB101"])
    assert result.exit_code == 0, result.output
    assert "Passes when an accepted label" in result.output and "platform_tool_counts (bool" in result.output
