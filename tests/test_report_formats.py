"""Report formats from a real scan: CSV rows, SARIF against the official 2.1.0 schema, JUnit parsed
back, Markdown, signing and tamper detection, re-rendering a saved JSON report, determinism."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from junitparser import Error, Failure, JUnitXml

from complianceguard.cli import main
from complianceguard.model import REPORT_SCHEMA_VERSION, Report
from complianceguard.report import DEFAULT_FORMATS, FORMATS, load_report, write_reports
from complianceguard.report.csv_report import report_csv
from complianceguard.report.json_report import report_json
from complianceguard.report.junit import report_junit
from complianceguard.report.markdown import report_markdown
from complianceguard.report.sarif import report_sarif
from complianceguard.scan import NOTICE, scan
from report_schema import reports_match_the_schema, validate_report  # noqa: F401 - autouse

SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
HAS_HTML = importlib.util.find_spec("complianceguard.report.html") is not None
HOSTILE_ID = "=SUM(1+1)|<b>x</b>"

POSTS = {
    "pass.post.yaml": "id: gb-pass\nregions: [GB]\ncaption: '#ad Loving it'\nrelationship: paid\n",
    "sp.post.yaml": "id: gb-de-sp\nregions: [GB, DE]\ncaption: 'Loving my new serum #sp'\nrelationship: paid\n",
    "video.post.yaml": ("id: us-video\nplatform: youtube\nregions: [US]\nmedia: [clip.mp4]\nrelationship: paid\n"
                        "caption: '#ad My morning routine with Glow Skincare'\n"),
    "code.post.yaml": "id: gb-code\nregions: [GB]\ncaption: 'Use my code GLOW20 for 20% off, link in bio'\n",
    "bad.post.yaml": "id: bad\nregions: [GB]\ncaption: hi\ncolour: red\n",
    "hostile.post.json": json.dumps({"id": HOSTILE_ID, "regions": ["GB"], "relationship": "paid",
                                     "caption": "Loving <script>alert(1)</script> it \u0007 #sp"}),
}


def make_batch(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name, text in POSTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "clip.mp4").write_bytes(b"not read: media reading is off in these tests")
    return folder


@pytest.fixture(scope="module")
def report(tmp_path_factory, library) -> Report:
    batch = make_batch(tmp_path_factory.mktemp("formats") / "batch")
    return scan([batch], library, options={"formats": list(DEFAULT_FORMATS)}, read_media=False)


def item_regions(report: Report):
    return [(item, region, result) for item in report.items for region, result in item.regions.items()]


def test_the_batch_covers_every_verdict(report):
    verdicts = {i.id: i.verdict for i in report.items}  # an error item keeps the manifest's id (issue #13)
    assert verdicts == {"gb-pass": "pass", "gb-de-sp": "fail", "us-video": "inconclusive", "gb-code": "warn",
                        "bad": "error", HOSTILE_ID: "fail"}
    (bad,) = [i for i in report.items if i.verdict == "error"]
    assert Path(bad.source_file).name == "bad.post.yaml" and "field colour: unknown field" in bad.errors[0]


def test_csv_has_one_item_region_row_per_item_and_region_plus_one_row_per_finding(report):
    rows = list(csv.DictReader(report_csv(report).splitlines()))
    assert {"id", "source_file", "region", "verdict", "pack", "failed_rules", "messages", "fixes", "errors",
            "row_type", "rule", "status", "message", "evidence", "where", "source_url", "fix"} <= set(rows[0])
    item_rows = [r for r in rows if r["row_type"] == "item-region"]
    assert len(item_rows) == sum(max(len(item.regions), 1) for item in report.items)
    assert {(r["id"], r["region"]) for r in item_rows if r["region"]} == {
        (item.id if not item.id.startswith("=") else "'" + item.id, region) for item, region, _ in item_regions(report)}
    finding_rows = [r for r in rows if r["row_type"] == "finding"]
    assert len(finding_rows) == sum(len(result.findings) for _, _, result in item_regions(report))
    sp = next(r for r in finding_rows if r["id"] == "gb-de-sp" and r["region"] == "GB" and r["rule"] == "GB105")
    assert sp["status"] == "fail" and sp["evidence"] == "#sp" and sp["where"] == "caption characters 20-23"
    assert sp["source_url"].startswith("https://") and "#ad" in sp["fix"]
    assert all(r["id"] == "'" + HOSTILE_ID for r in rows if HOSTILE_ID in r["id"]), "formula cells are defused"


def test_sarif_validates_against_the_official_schema(report):
    sarif = report_sarif(report)
    schema = json.loads(SARIF_SCHEMA.read_text("utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json") and schema["properties"]["version"]["enum"] == ["2.1.0"]
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(sarif), key=str)
    assert not errors, errors[0].message
    json.dumps(sarif)  # serialisable as is

    run = sarif["runs"][0]
    bad = [(item, region, f) for item, region, result in item_regions(report) for f in result.findings
           if f.status in ("fail", "warn", "inconclusive")]
    assert len(run["results"]) == len(bad)
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules) == len({f.rule for _, _, f in bad})
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    levels = {(r["properties"]["item"], r["properties"]["region"], r["ruleId"]): r["level"] for r in run["results"]}
    assert levels[("gb-de-sp", "GB", "GB105")] == "error"
    assert levels[("us-video", "US", "US108")] == "note"
    assert "warning" in {level for (item, _, _), level in levels.items() if item == "gb-code"}
    sp = next(r for r in run["results"] if r["ruleId"] == "GB105" and r["properties"]["item"] == "gb-de-sp")
    location = sp["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("sp.post.yaml")
    assert (location["region"]["charOffset"], location["region"]["charLength"]) == (20, 3)
    assert location["region"]["snippet"]["text"] == "#sp"
    assert run["properties"]["notice"] == NOTICE
    assert any("colour" in n["message"]["text"] for n in run["invocations"][0]["toolExecutionNotifications"])


def test_junit_parses_back_with_the_right_failure_count(report, tmp_path):
    path = tmp_path / "report.junit.xml"
    path.write_text(report_junit(report), encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    suites = {suite.name: suite for suite in xml}
    assert {"GB", "DE", "US", "input errors"} == set(suites)
    cases = [case for suite in xml for case in suite]
    pairs = item_regions(report)
    errors = [item for item in report.items if item.verdict == "error"]
    assert len(cases) == len(pairs) + len(errors)
    failing = [(item.id, region) for item, region, result in pairs if result.verdict in ("fail", "inconclusive")]
    assert xml.failures == len(failing) == sum(isinstance(r, Failure) for case in cases for r in case.result)
    assert xml.errors == len(errors) == sum(isinstance(r, Error) for case in cases for r in case.result)
    by_key = {(case.classname, case.name): case for case in cases}
    sp = by_key[("GB", "gb-de-sp")].result[0]
    assert sp.type == "fail" and "GB105" in sp.message
    assert by_key[("US", "us-video")].result[0].type == "inconclusive"
    assert by_key[("GB", "gb-code")].is_passed and "GB101" in by_key[("GB", "gb-code")].system_out
    assert by_key[("GB", HOSTILE_ID)].is_failure  # control characters did not break the XML
    for suite in xml:
        assert NOTICE in suite._elem.find("system-out").text
        assert any(p.name.startswith("pack gb-asa@") for p in suite.properties())


def test_markdown_summary(report):
    md = report_markdown(report)
    assert "Not legal advice" in md and NOTICE in md
    assert "**6 posts:** 1 error, 2 fail, 1 inconclusive, 1 warn, 1 pass" in md
    assert "| Post | Region | Verdict | Rules |" in md
    assert "| gb-de-sp | GB | **fail** | GB101 (fail), GB105 (fail) |" in md
    video = next(i for i in report.items if i.id == "us-video")  # the US pack's video rules: not read, inconclusive
    listed = [f for f in video.regions["US"].findings if f.status in ("fail", "warn", "inconclusive")]
    assert {f.status for f in listed} == {"inconclusive"} and {"US108", "US109", "US110"} <= {f.rule for f in listed}
    assert ("| us-video | US | **inconclusive** | " + ", ".join(f"{f.rule} (inconclusive)" for f in listed) + " |") in md
    assert "- GB105: " in md and "#ad" in md
    assert "gb-pass" not in md
    assert r"=SUM(1+1)\|\<b\>x\</b\>" in md, "the id can neither split the table nor add markup"
    table = [line for line in md.splitlines() if line.startswith("| ")]
    assert all(line.replace(r"\|", "").count("|") == 5 for line in table)
    assert "## Input errors" in md and "colour" in md


def test_sign_verify_and_tamper(report, tmp_path):
    run = CliRunner().invoke
    path = write_reports(report, tmp_path, ["json"])[0]
    key = tmp_path / "keys" / "signer.pem"
    assert run(main, ["report", "keygen", "--out", str(key)]).exit_code == 0
    pub = key.with_suffix(".pub")
    assert pub.is_file() and (key.stat().st_mode & 0o777) == 0o600
    assert run(main, ["report", "keygen", "--out", str(key)]).exit_code == 2  # never overwrites a key
    signed = run(main, ["report", "sign", str(path), "--key", str(key)])
    assert signed.exit_code == 0, signed.output
    sig = tmp_path / "report.json.sig"
    assert sig.is_file()

    def verify(*extra: str):
        return run(main, ["report", "verify", str(path), "--pub", str(pub), *extra])

    ok = verify()
    assert ok.exit_code == 0 and "signature OK" in ok.output
    original = path.read_bytes()
    for offset in (0, len(original) // 2, len(original) - 1):
        changed = bytearray(original)
        changed[offset] ^= 0x01
        path.write_bytes(bytes(changed))
        result = verify()
        assert result.exit_code == 1, result.output
        assert len(result.output.strip().splitlines()) == 1 and "altered" in result.output
    path.write_bytes(original)
    assert verify().exit_code == 0

    good_sig = sig.read_text()
    sig.write_text(("B" if good_sig[0] != "B" else "C") + good_sig[1:])
    assert verify().exit_code == 1
    sig.write_text("not a signature\n")
    assert verify().exit_code == 1
    sig.write_text(good_sig)

    other = tmp_path / "other.pem"
    run(main, ["report", "keygen", "--out", str(other)])
    assert run(main, ["report", "verify", str(path), "--pub", str(other.with_suffix(".pub"))]).exit_code == 1
    bad_key = run(main, ["report", "verify", str(path), "--pub", str(key)])  # a private key is bad input
    assert bad_key.exit_code == 2 and len(bad_key.output.strip().splitlines()) == 1
    sig.unlink()
    assert verify().exit_code == 2  # no signature: bad input, not a verdict


def test_render_round_trip(report, tmp_path, library):
    formats = [f for f in FORMATS if f != "html" or HAS_HTML]
    direct = write_reports(report, tmp_path / "direct", formats, library=library)
    saved = tmp_path / "direct" / "report.json"
    assert load_report(saved) == report
    result = CliRunner().invoke(main, ["report", "render", str(saved), "--format", ",".join(formats),
                                       "--out", str(tmp_path / "rendered")])
    assert result.exit_code == 0, result.output
    for path in direct:
        again = tmp_path / "rendered" / path.name
        assert again.read_bytes() == path.read_bytes(), f"{path.name} differs after render"

    not_a_report = tmp_path / "direct" / "report.csv"
    bad = CliRunner().invoke(main, ["report", "render", str(not_a_report), "--format", "md"])
    assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1
    assert "not a complianceguard JSON report" in bad.output
    unknown = CliRunner().invoke(main, ["report", "render", str(saved), "--format", "pdf"])
    assert unknown.exit_code == 2 and "unknown format 'pdf'" in unknown.output


def test_same_inputs_and_packs_give_the_same_report_apart_from_the_time(tmp_path, monkeypatch, library):
    """Two checkouts of the same batch, scanned from their own folders, give byte-identical JSON."""
    texts = []
    for clone in ("first", "second"):
        make_batch(tmp_path / clone / "batch")
        monkeypatch.chdir(tmp_path / clone)
        report = scan([Path("batch")], library, options={"formats": ["json"]}, read_media=False)
        assert {i["path"] for i in report.inputs} >= {"batch/video.post.yaml", "batch/clip.mp4"}
        texts.append(report_json(report.model_copy(update={"generated_at": "-"})))
    assert texts[0] == texts[1]
    assert str(tmp_path) not in texts[0]


def test_scan_writes_every_format_by_default(tmp_path, monkeypatch):
    batch = make_batch(tmp_path / "batch")
    for name in ("bad.post.yaml", "video.post.yaml"):  # no error item, no media to probe
        (batch / name).unlink()
    monkeypatch.chdir(tmp_path)
    formats = [f for f in DEFAULT_FORMATS if f != "html" or HAS_HTML]
    result = CliRunner().invoke(main, ["scan", "batch", "--out", "out", "--asr-backend", "none",
                                       *([] if HAS_HTML else ["--format", ",".join(formats)])])
    assert result.exit_code == 1, result.output  # failing items
    names = {"json": "report.json", "csv": "report.csv", "html": "report.html", "sarif": "report.sarif",
             "junit": "report.junit.xml", "md": "report.md"}
    assert {p.name for p in (tmp_path / "out").iterdir()} == {names[f] for f in formats} | {"scan.journal"}
    assert NOTICE in (tmp_path / "out" / "report.md").read_text()
    bogus = CliRunner().invoke(main, ["scan", "batch", "--out", "out2", "--format", "json,docx"])
    assert bogus.exit_code == 2 and "unknown format 'docx'" in bogus.output and not (tmp_path / "out2").exists()


# ------------------------------------------------------------------------------ schema 2.0


def test_the_shipped_json_schema_is_the_one_the_models_give():
    from complianceguard.report.view import SCHEMA_PATH, schema_text

    assert SCHEMA_PATH.read_text("utf-8") == schema_text(), "run: python -c 'from complianceguard.report.view " \
        "import SCHEMA_PATH, schema_text; SCHEMA_PATH.write_text(schema_text())'"


def v1_report_json(report: Report) -> str:
    """The report as complianceguard wrote schema 1.0: every item whole, no catalogue."""
    header = report.model_copy(update={"items": [], "rules": {}, "schema_version": "1.0"})
    head = header.model_dump_json(indent=2, exclude_none=True, exclude={"items", "rules"})
    items = ",\n    ".join(i.model_dump_json(exclude_none=True) for i in report.items)
    return head[:-2] + ',\n  "items": [\n    ' + items + "\n  ]\n}\n"


def test_a_2_0_report_is_a_tenth_of_1_0_and_renders_the_same_and_1_0_reports_still_render(report, tmp_path,
                                                                                          library):
    text = report_json(report)
    document = validate_report(text)
    assert document["schema_version"] == REPORT_SCHEMA_VERSION and document["rules"]
    old = v1_report_json(report)
    assert len(text.split('"items"')[1]) * 3 < len(old.split('"items"')[1])  # items: a fraction of 1.0's
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "report.json").write_text(old, encoding="utf-8")
    loaded = load_report(tmp_path / "v1" / "report.json")
    assert loaded.schema_version == "1.0" and loaded.items == report.items
    formats = ["csv", "md", "junit", "sarif"] + (["html"] if HAS_HTML else [])
    direct = write_reports(report, tmp_path / "direct", formats + ["json"], library=library)
    for source in ("v1", "direct"):
        result = CliRunner().invoke(main, ["report", "render", str(tmp_path / source / "report.json"), "--format",
                                           ",".join(formats), "--out", str(tmp_path / f"from-{source}")])
        assert result.exit_code == 0, result.output
    for path in direct[:-1]:
        from_v1 = (tmp_path / "from-v1" / path.name).read_text("utf-8")
        # SARIF and HTML say which schema the report they came from had.
        now = REPORT_SCHEMA_VERSION
        from_v1 = from_v1.replace('"report_schema_version": "1.0"', f'"report_schema_version": "{now}"').replace(
            "Schema <b>1.0</b>", f"Schema <b>{now}</b>").replace("report schema 1.0 &middot", f"report schema {now} &middot")
        assert from_v1 == path.read_text("utf-8"), f"{path.name} from a 1.0 report differs"
        assert (tmp_path / "from-direct" / path.name).read_bytes() == path.read_bytes()
    # `render --format json` of a 1.0 report writes it as 2.0 (its catalogue taken from its findings).
    assert CliRunner().invoke(main, ["report", "render", str(tmp_path / "v1" / "report.json"), "--format", "json",
                                     "--out", str(tmp_path / "v1-as-2")]).exit_code == 0
    assert load_report(tmp_path / "v1-as-2" / "report.json").items == report.items


def test_2_0_is_verdict_for_verdict_the_1_0_record_on_the_fixtures(library):
    """Each fixture checked by the engine (the 1.0 item) and written as its 2.0 record: the item's and
    each region's verdict and each finding's status read from the 2.0 form are the 1.0 ones, and the
    2.0 record expands back to the 1.0 item exactly."""
    import os

    from complianceguard.batch.work import Checker
    from complianceguard.engine import Engine
    from complianceguard.report.view import expand_item, statuses
    from complianceguard.scan import evaluate_safely, plan
    from complianceguard.submission import load_post
    from conftest import FIXTURES

    engine = Engine(library, None, read_media=False)
    checker = Checker(engine, None, os.getcwd())
    compared = findings = 0
    for unit in plan([FIXTURES, FIXTURES / "captions.csv"]):
        loaded = load_post(unit.raw, None)
        if loaded.submission is None:
            continue
        old = evaluate_safely(engine, loaded.submission).model_dump(mode="json", exclude_none=True)
        new = json.loads(checker.check(unit).item_json)
        assert new["verdict"] == old["verdict"], new["id"]
        assert {c: r["verdict"] for c, r in new.get("regions", {}).items()} == \
            {c: r["verdict"] for c, r in old["regions"].items()}
        was = {(c, f["rule"]): f["status"] for c, r in old["regions"].items() for f in r["findings"]}
        now = {(c, f["rule"]): f["status"] for c, f in statuses(new, checker.catalogue)}
        assert now == was, new["id"]
        expanded = expand_item(new, checker.catalogue)
        assert {k: v for k, v in expanded.items() if k != "media"} == \
            {k: v for k, v in old.items() if k != "media"} or expanded == old, new["id"]
        compared += 1
        findings += len(was)
    assert compared >= 20 and findings >= 200


def test_a_finding_unlike_its_catalogue_entry_is_kept_as_it_is(report):
    """Compaction checks each finding against its expansion: whatever the catalogue cannot give back
    (another name, message, fix, coverage, source, order) is kept in the finding, never lost."""
    from complianceguard.report import parse_report

    item = next(i for i in report.items if i.regions)
    region, result = next(iter(item.regions.items()))
    odd = [f.model_copy(update={"name": "renamed", "message": "a message of its own", "fix": "a fix of its own",
                                "coverage": [], "source": f.source.model_copy(update={"title": "elsewhere"})})
           for f in result.findings]
    changed = item.model_copy(update={"regions": {**item.regions, region: result.model_copy(
        update={"findings": list(reversed(odd))})}})  # out of the pack's order too
    strange = report.model_copy(update={"items": [changed, *report.items]})
    text = report_json(strange)
    validate_report(text)
    assert parse_report(text).items == strange.items


def test_2_3_writes_a_label_match_once_and_a_needs_nothing_region_as_one_word(library, tmp_path):
    """2.3's two shorthands: caption evidence that is one of the item's mentions is its index, and a
    region whose every rule is not applicable for its reason is `na_rest`; both expand back to
    exactly the engine's item, and reading statuses of `na_rest` without the catalogue is refused."""
    from complianceguard.batch.work import Checker
    from complianceguard.engine import Engine
    from complianceguard.model import ItemResult, Submission
    from complianceguard.report.json_report import item_record
    from complianceguard.report.view import expand_item, statuses

    engine = Engine(library, None, read_media=False)
    checker = Checker(engine, None, str(tmp_path))
    labelled = engine.evaluate(Submission(id="a", regions=["GB"], caption="#ad Loving my new serum @glow",
                                          relationship="paid"))
    personal = engine.evaluate(Submission(id="b", regions=["DE"], caption="Heute im Park mit meinem Hund",
                                          relationship="none"))
    for item in (labelled, personal):
        record = json.loads(item_record(item, checker.catalogue_for(item)))
        assert ItemResult.model_validate(expand_item(record, checker.catalogue_for(item))) == item
    record = json.loads(item_record(labelled, checker.catalogue_for(labelled)))
    gb101 = next(f for f in record["regions"]["GB"]["findings"] if f["rule"] == "GB101")
    label = next(n for n, m in enumerate(record["mentions"]) if m["kind"] == "label")
    assert gb101["evidence"] == [{"mention": label}]
    record = json.loads(item_record(personal, checker.catalogue_for(personal)))
    assert record["regions"]["DE"].get("na_rest") is True and "na" not in record["regions"]["DE"]
    assert {f["status"] for _, f in statuses(record, checker.catalogue_for(personal))} == {"not-applicable"}
    with pytest.raises(ValueError, match="na_rest needs the rule catalogue"):
        list(statuses(record))
