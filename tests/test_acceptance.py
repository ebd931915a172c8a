"""The issue's acceptance cases, run as a creator would: through the real CLI.

Each case checks the verdict, and that the JSON names the rule code, the evidence span and the source.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from complianceguard.cli import main

PAID_INSTAGRAM = ["--relationship", "paid", "--platform", "instagram"]
LONG_US = ("Loving my new serum from @glowskincare. I have been using it every morning and every night for "
           "three weeks now, after cleansing and before moisturiser, and my skin feels softer, calmer and more "
           "even than it has in years. The texture is light, it sinks in quickly, it layers well under sunscreen "
           "and make-up, and the pump bottle lasts. Full routine and before/after photos in my stories. #skincare #ad")


def run_check(caption: str, region: str, *extra: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["check", "--caption", caption, "--region", region, *PAID_INSTAGRAM,
                                       "--format", "json", *extra])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.output)


def failing(item: dict, region: str, check: str, statuses: tuple[str, ...] = ("fail",)) -> dict:
    found = [f for f in item["regions"][region]["findings"] if f["check"] == check and f["status"] in statuses]
    assert found, f"no failing {check} finding in {region}: {item['regions'][region]['findings']}"
    return found[0]


def assert_cited(finding: dict) -> None:
    assert finding["rule"][:2].isalpha() and finding["rule"][-3:].isdigit()
    assert finding["source"]["url"].startswith("http") and finding["source"]["title"]
    assert finding["confidence"] in ("high", "medium", "low")
    assert finding["fix"]


@pytest.mark.parametrize("caption, region", [
    ("#ad Loving my new serum from @glowskincare", "GB"),
    ("Werbung | Mein neues Serum von @glowskincare", "DE"),
    # Upfront: a label after all of the caption's words is US112's warning ("at the end of posts",
    # Disclosures 101, R-A:53 [H]), so the US example puts it first like the others.
    ("#ad Loving my new serum", "US"),
])
def test_clear_upfront_labels_pass(caption, region):
    code, item = run_check(caption, region)
    assert (code, item["verdict"]) == (0, "pass"), item
    statuses = {f["status"] for f in item["regions"][region]["findings"]}
    assert statuses <= {"pass", "not-applicable"}


def test_gb_label_buried_at_the_end_fails_with_its_span():
    caption = "Loving my new serum from @glowskincare #skincare #glow #selfcare #ad"
    code, item = run_check(caption, "GB")
    assert (code, item["verdict"]) == (1, "fail")
    finding = failing(item, "GB", "label-placement")
    assert_cited(finding)
    span = finding["evidence"][0]["span"]
    assert caption[span["start"]:span["end"]] == "#ad"
    assert "buried" in finding["message"]


def test_gb_sp_fails_naming_sp_as_insufficient():
    code, item = run_check("Loving my new serum #sp", "GB")
    finding = failing(item, "GB", "insufficient-label")
    assert_cited(finding)
    assert finding["evidence"][0]["text"] == "#sp" and finding["evidence"][0]["span"] == {"start": 20, "end": 23}
    assert "'#sp'" in finding["message"]


def test_gb_not_sponsored_is_a_false_denial():
    code, item = run_check("Not sponsored! Loving my new serum", "GB")
    finding = failing(item, "GB", "false-denial")
    assert_cited(finding)
    assert finding["evidence"][0]["text"] == "Not sponsored"
    assert finding["evidence"][0]["span"] == {"start": 0, "end": 13}


def test_de_english_label_for_a_german_audience_fails():
    code, item = run_check("#ad Mein neues Serum", "DE")
    assert item["verdict"] == "fail" and item["language"] == "de"
    finding = failing(item, "DE", "label-language")
    assert_cited(finding)
    assert finding["evidence"][0]["text"] == "#ad" and "German" in finding["message"]


def test_us_label_behind_more_fails_on_a_long_caption():
    assert len(LONG_US) == 400
    code, item = run_check(LONG_US, "US")
    finding = failing(item, "US", "label-placement")
    assert_cited(finding)
    assert "more" in finding["message"]
    assert finding["evidence"][0]["span"] == {"start": 397, "end": 400}


@pytest.mark.parametrize("region", ["GB", "US", "DE"])
def test_cyrillic_a_in_the_label_is_reported_as_disguised(region):
    code, item = run_check("#\u0430d Loving it", region)
    assert item["verdict"] == "fail"
    # The evasion has its own rule (a warning where the pack rates it so); the label does not count.
    finding = failing(item, region, "disguised-label", ("fail", "warn"))
    assert_cited(finding)
    assert "disguised" in finding["message"] and "U+0430" in finding["message"]
    assert finding["evidence"][0]["span"] == {"start": 0, "end": 3}
    missing = failing(item, region, "label-present")
    assert "disguised" in missing["message"]


def test_text_answer_says_what_where_and_the_fix():
    result = CliRunner().invoke(main, ["check", "--caption", "Loving my new serum #sp", "--region", "GB",
                                       *PAID_INSTAGRAM, "--fix"])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "[#sp]" in result.output and "fix:" in result.output
    assert "corrected caption for GB: #ad Loving my new serum" in result.output


def test_fix_output_passes_when_checked_again():
    for caption, region in [("Loving my new serum #sp", "GB"), ("#ad Mein neues Serum", "DE"),
                            ("Not sponsored! Loving my new serum", "GB"), (LONG_US, "US")]:
        _, item = run_check(caption, region)
        fixed = item["fixed_caption"][region]
        code, again = run_check(fixed, region)
        assert again["regions"][region]["verdict"] == "pass", (fixed, again["regions"][region])


def test_a_video_draft_checked_without_its_file_says_the_video_was_not_read():
    # The caption is labelled, but a video's on-screen and spoken label cannot be judged from it.
    code, item = run_check("Werbung: Mein neues Serum von @glowskincare", "DE", "--post-type", "video",
                           "--title", "Mein neues Serum")
    assert code == 1 and item["post_type"] == "video"
    region = item["regions"]["DE"]
    assert region["verdict"] == "inconclusive"
    assert any(f["status"] == "inconclusive" and "no media file given" in json.dumps(f) for f in region["findings"])
    _, feed = run_check("Werbung: Mein neues Serum von @glowskincare", "DE", "--post-type", "feed")
    assert feed["regions"]["DE"]["verdict"] == "pass"


def test_the_cli_offers_every_relationship_and_post_type_the_model_knows():
    from typing import get_args

    from complianceguard.cli import POST_TYPES, RELATIONSHIPS
    from complianceguard.model import PostType, Relationship

    assert RELATIONSHIPS == list(get_args(Relationship)) and POST_TYPES == list(get_args(PostType))


def test_python_dash_m_and_console_script_both_work():
    result = subprocess.run([sys.executable, "-m", "complianceguard", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "complianceguard" in result.stdout


# --- Issue #13: JSON consumers always get JSON; error items keep their identity; pack authors test copies. ---

@pytest.mark.media  # ffprobe reads the truncated file
def test_check_json_on_a_truncated_mp4_prints_an_error_item(tmp_path):
    from conftest import FIXTURES

    broken = tmp_path / "cut.mp4"
    broken.write_bytes((FIXTURES / "media" / "spoken-disclosure-start.mp4").read_bytes()[:3000])
    result = subprocess.run([sys.executable, "-m", "complianceguard", "check", "--caption", "#ad hi", "--region",
                             "US", "--format", "json", str(broken)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    item = json.loads(result.stdout)
    assert item["verdict"] == "error" and str(broken) in item["errors"][0] and "\n" not in item["errors"][0]
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")


def test_an_error_item_keeps_the_manifests_id_and_names_its_file(tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "glow-17.post.yaml").write_text("id: glow-campaign-17\nregions: [GB]\ncaption: '#ad hi'\n"
                                             "relationship: paid\nplatform: myspace\n")
    result = CliRunner().invoke(main, ["scan", str(batch), "--out", str(tmp_path / "out"), "--format", "json",
                                       "-j", "1", "-q", "--asr-backend", "none", "--ocr-fps", "0"])
    assert result.exit_code == 2, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (item,) = report["items"]
    assert item["verdict"] == "error" and item["id"] == "glow-campaign-17"
    assert item["source_file"].endswith("glow-17.post.yaml") and "field platform" in item["errors"][0]


def test_rules_test_runs_an_edited_copy_of_a_shipped_pack_but_check_refuses_it(tmp_path):
    from complianceguard.packs.loader import BUILTIN_RULES

    copy = tmp_path / "gb.yaml"
    copy.write_text((BUILTIN_RULES / "gb.yaml").read_text("utf-8"), "utf-8")
    assert CliRunner().invoke(main, ["rules", "test", str(copy)]).exit_code == 0
    copy.write_text(copy.read_text("utf-8").replace("#ad", "#xx"), "utf-8")
    edited = CliRunner().invoke(main, ["rules", "test", str(copy)])
    assert edited.exit_code == 1 and "FAIL" in edited.output  # the copy's own (now wrong) words were used
    refused = CliRunner().invoke(main, ["check", "--caption", "hi", "--region", "GB", "--pack", str(copy)])
    assert refused.exit_code == 2 and "already used by a shipped pack" in refused.output
