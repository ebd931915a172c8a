"""The legal team's workflow (issue #18): review decisions in a hash-chained log, applied on a
re-scan and dropped when the post changed; what changed since the last report; the signed evidence
bundle; posts from yt-dlp downloads and from CSV exports with other column names."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from complianceguard.cli import main
from complianceguard.review import content_hash
from conftest import FIXTURES

FAST = ("--asr-backend", "none", "--ocr-fps", "0", "-j", "1", "-q")
CAPTION = "Loving my new serum #sp"


def cli(*args: str):
    return CliRunner().invoke(main, [*args])


def scan(batch: Path, out: Path, *extra: str):
    return cli("scan", str(batch), "--out", str(out), *FAST, *extra)


def report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text("utf-8"))


def finding(item: dict, region: str, rule: str) -> dict:
    return next(f for f in item["regions"][region]["findings"] if f["rule"] == rule)


def item_of(out: Path, item_id: str) -> dict:
    return next(i for i in report(out)["items"] if i["id"] == item_id)


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "glow.post.yaml").write_text(
        f'id: glow-1\nplatform: instagram\nregions: [GB]\nrelationship: paid\ncaption: "{CAPTION}"\n', "utf-8")
    (folder / "fine.post.yaml").write_text(
        'id: fine-1\nplatform: instagram\nregions: [GB]\nrelationship: paid\ncaption: "#ad Loving my serum"\n',
        "utf-8")
    return folder


def failing_rule(out: Path, item_id: str) -> str:
    return next(f["rule"] for f in item_of(out, item_id)["regions"]["GB"]["findings"] if f["status"] == "fail")


def review(out: Path, rule: str, decision: str = "overrule", reviewer: str = "Ann Lee (legal)",
           reason: str = "label shown in the first frame"):
    return cli("review", str(out), "--item", "glow-1", "--region", "GB", "--rule", rule, "--decision", decision,
               "--reviewer", reviewer, "--reason", reason)


def test_decision_recorded_applied_on_rescan_and_dropped_when_the_caption_changes(batch, tmp_path):
    out = tmp_path / "out"
    assert scan(batch, out).exit_code == 1
    assert "reviews" not in (out / "report.json").read_text("utf-8")  # a first scan: the engine's record
    rule = failing_rule(out, "glow-1")

    recorded = review(out, rule)
    assert recorded.exit_code == 0, recorded.output
    assert "recorded #1: overrule glow-1 GB" in recorded.output
    entry = json.loads((out / "review.jsonl").read_text("utf-8").splitlines()[0])
    assert entry["reviewer"] == "Ann Lee (legal)" and entry["decision"] == "overrule"
    assert entry["content_sha256"] == content_hash(CAPTION, []) and entry["machine_status"] == "fail"
    assert entry["prev"] == "0" * 64 and len(entry["hash"]) == 64 and entry["time"].endswith("+00:00")
    listed = cli("review", "list", str(out))
    assert listed.exit_code == 0 and "overrule glow-1 GB" in listed.output and "Ann Lee" in listed.output

    # Re-scan, same content: applied; the machine's status stays, the overruled finding stays in the record.
    assert scan(batch, out).exit_code == 1
    decided = finding(item_of(out, "glow-1"), "GB", rule)
    assert decided["status"] == "fail"
    assert [(r["decision"], r["state"], r["reviewer"], r["reason"]) for r in decided["reviews"]] == [
        ("overrule", "applied", "Ann Lee (legal)", "label shown in the first frame")]
    changes = report(out)["changes"]
    applied = [(d["item"], d["rule"], d["decision"]) for d in changes["decisions_applied"]]
    assert applied == [("glow-1", rule, "overrule")]
    html = (out / "report.html").read_text("utf-8")
    assert "Overruled</b> by Ann Lee (legal)" in html and "label shown in the first frame" in html
    md = (out / "report.md").read_text("utf-8")
    assert f"{rule} (fail; overruled by Ann Lee (legal))" in md and "## Review decisions" in md

    # The creator edits the caption: the decision no longer applies, visibly.
    manifest = batch / "glow.post.yaml"
    manifest.write_text(manifest.read_text("utf-8").replace("#sp", "#sp #glow"), "utf-8")
    assert scan(batch, out).exit_code == 1
    dropped = finding(item_of(out, "glow-1"), "GB", rule)
    assert dropped["status"] == "fail" and dropped["reviews"][0]["state"] == "dropped"
    assert "changed since the decision" in dropped["reviews"][0]["note"]
    changes = report(out)["changes"]
    assert [(d["item"], d["rule"]) for d in changes["decisions_dropped"]] == [("glow-1", rule)]
    assert "Decisions dropped" in (out / "report.md").read_text("utf-8")
    assert 'data-state="dropped"' in (out / "report.html").read_text("utf-8")


def test_review_refuses_unknown_targets_and_the_chain_finds_tampering(batch, tmp_path):
    out = tmp_path / "out"
    scan(batch, out)
    rule = failing_rule(out, "glow-1")
    bad_item = cli("review", str(out), "--item", "nope", "--region", "GB", "--rule", rule, "--decision",
                   "confirm", "--reviewer", "A", "--reason", "r")
    assert bad_item.exit_code == 2 and "no item 'nope'" in bad_item.output
    bad_rule = cli("review", str(out), "--item", "glow-1", "--region", "GB", "--rule", "XX999", "--decision",
                   "confirm", "--reviewer", "A", "--reason", "r")
    assert bad_rule.exit_code == 2 and "no finding XX999" in bad_rule.output
    assert review(out, rule, "confirm", "Bo", "agree with the machine").exit_code == 0
    assert review(out, rule, "overrule", "Cy", "second opinion").exit_code == 0
    ok = cli("review", "verify", str(out))
    assert ok.exit_code == 0 and "2 entries, chain intact" in ok.output

    log = out / "review.jsonl"
    good = log.read_text("utf-8")
    log.write_text(good.replace("agree with the machine", "disagree with the machine"), "utf-8")
    edited = cli("review", "verify", str(out))
    assert edited.exit_code == 1 and "line 1" in edited.output and "altered" in edited.output
    assert review(out, rule).exit_code == 2  # nothing is appended to a broken chain

    log.write_text(good.splitlines(keepends=True)[1], "utf-8")  # the first entry removed
    removed = cli("review", "verify", str(out))
    assert removed.exit_code == 1 and "does not follow" in removed.output


def test_changes_section_after_an_edited_caption(batch, tmp_path):
    out = tmp_path / "out"
    scan(batch, out)
    assert "changes" not in report(out)  # nothing to compare with yet
    previous = (out / "report.json").read_bytes()
    manifest = batch / "glow.post.yaml"
    manifest.write_text(manifest.read_text("utf-8").replace(CAPTION, "#ad Loving my new serum"), "utf-8")
    (batch / "fine.post.yaml").write_text((batch / "fine.post.yaml").read_text("utf-8").replace(
        "#ad Loving my serum", "Loving my serum"), "utf-8")
    scan(batch, out)
    data = report(out)
    changes = data["changes"]
    assert changes["previous_sha256"] == hashlib.sha256(previous).hexdigest()
    assert sorted(c["item"] for c in changes["content"] if c["caption"]) == ["fine-1", "glow-1"]
    assert {c["item"] for c in changes["fixed"]} == {"glow-1"}
    assert {c["item"] for c in changes["new_fails"]} == {"fine-1"}
    assert {(c["item"], c["was"], c["now"]) for c in changes["verdicts"]} == {("glow-1", "fail", "pass"),
                                                                             ("fine-1", "pass", "fail")}
    assert list(data).index("changes") < list(data).index("items")
    md = (out / "report.md").read_text("utf-8")
    assert md.index("## What changed since the previous report") < md.index("| Post | Region |")
    assert "**New fails**" in md and "**Fixed**" in md and "glow-1: caption edited" in md
    html = (out / "report.html").read_text("utf-8")
    assert html.index('id="changes"') < html.index('id="summary"') and "caption edited" in html
    rendered = cli("report", "render", str(out / "report.json"), "--format", "md,html", "--out", str(tmp_path / "r"))
    assert rendered.exit_code == 0, rendered.output  # a report with the workflow fields renders again
    assert (tmp_path / "r" / "report.md").read_text("utf-8") == md
    assert (tmp_path / "r" / "report.html").read_text("utf-8") == html


def test_bundle_verified_and_a_tampered_bundle_refused(batch, tmp_path):
    out = tmp_path / "out"
    scan(batch, out)
    review(out, failing_rule(out, "glow-1"))
    assert cli("report", "keygen", "--out", str(tmp_path / "signer.pem")).exit_code == 0
    bundle = tmp_path / "evidence.zip"
    made = cli("report", "bundle", str(out), "--out", str(bundle), "--key", str(tmp_path / "signer.pem"))
    assert made.exit_code == 0, made.output
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("MANIFEST.json"))
    assert {"MANIFEST.json", "MANIFEST.json.sig", "report.json", "report.html", "review.jsonl"} <= set(names)
    assert "scan.journal" not in names
    assert {f["path"] for f in manifest["files"]} == set(names) - {"MANIFEST.json", "MANIFEST.json.sig"}
    assert not list(tmp_path.glob(".evidence.zip.*"))  # written through a temporary file

    pub = str(tmp_path / "signer.pub")
    ok = cli("report", "verify", str(bundle), "--pub", pub)
    assert ok.exit_code == 0 and "signature OK" in ok.output, ok.output
    assert cli("report", "verify", str(bundle)).exit_code == 2  # signed: the public key is needed

    def tampered(name: str, change) -> Path:
        copy = tmp_path / f"tampered-{name.replace('/', '_')}.zip"
        with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(copy, "w") as dst:
            for info in src.infolist():
                data = src.read(info.filename)
                dst.writestr(info, change(data) if info.filename == name else data)
        return copy

    altered = cli("report", "verify", str(tampered("report.json", lambda d: d.replace(b'"fail"', b'"pass"', 1))),
                  "--pub", pub)
    assert altered.exit_code == 1
    assert altered.output.strip().count("\n") == 0 and "member report.json was altered" in altered.output
    forged = tampered("MANIFEST.json", lambda d: d.replace(b'"complianceguard"', b'"complianceguarb"', 1))
    refused = cli("report", "verify", str(forged), "--pub", pub)
    assert refused.exit_code == 1 and "MANIFEST.json" in refused.output
    flipped = tmp_path / "flipped.zip"
    data = bytearray(bundle.read_bytes())
    start = data.index(b"report.html") + 200  # inside that member's compressed bytes
    data[start] ^= 0xFF
    flipped.write_bytes(bytes(data))
    assert cli("report", "verify", str(flipped), "--pub", pub).exit_code == 1
    unsigned = tmp_path / "unsigned.zip"
    assert cli("report", "bundle", str(out), "--out", str(unsigned)).exit_code == 0
    checked = cli("report", "verify", str(unsigned))
    assert checked.exit_code == 0 and "unsigned" in checked.output
    assert cli("report", "verify", str(tampered_copy(unsigned, tmp_path, "review.jsonl"))).exit_code == 1
    other = tmp_path / "other.pem"
    cli("report", "keygen", "--out", str(other))
    assert cli("report", "verify", str(bundle), "--pub", str(tmp_path / "other.pub")).exit_code == 1


def tampered_copy(bundle: Path, tmp_path: Path, name: str) -> Path:
    """The bundle with one member's bytes changed and the manifest left as it was."""
    copy = tmp_path / f"changed-{name}.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(copy, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, data.replace(b"Ann Lee", b"Bob Lee") if info.filename == name else data)
    return copy


def _tiny_video(path: Path, colour: str = "black") -> None:
    if shutil.which("ffmpeg"):
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"color=c={colour}:s=64x64:d=1",
                        "-pix_fmt", "yuv420p", str(path)], check=True)
    else:
        shutil.copy(FIXTURES / "media" / ("no-audio-track.mp4" if colour == "black" else "silence.mp4"), path)


def test_yt_dlp_folder_without_manifests_scans_to_the_right_captions_and_platforms(tmp_path):
    folder = tmp_path / "downloads"
    folder.mkdir()
    sidecars = {
        "Morning routine [yt1]": {"id": "yt1", "title": "Morning routine", "description": "My routine #ad @glow",
                                  "uploader": "Jo", "channel": "Jo's channel", "tags": ["skincare"],
                                  "upload_date": "20260102", "webpage_url": "https://www.youtube.com/watch?v=yt1",
                                  "extractor": "youtube", "extractor_key": "Youtube"},
        "clip [tt2]": {"id": "tt2", "description": "Use code GLOW10", "extractor": "TikTok",
                       "extractor_key": "TikTok", "webpage_url": "https://www.tiktok.com/@jo/video/2"},
        "reel [ig3]": {"id": "ig3", "description": "Sunday vibes", "extractor": "Instagram",
                       "extractor_key": "Instagram"},
    }
    for stem, info in sidecars.items():
        _tiny_video(folder / f"{stem}.mp4")
        (folder / f"{stem}.info.json").write_text(json.dumps(info), "utf-8")
    (folder / "reel [ig3].webp").write_bytes(b"not the post: a thumbnail yt-dlp wrote")
    out = tmp_path / "out"
    result = scan(folder, out, "--region", "GB")
    assert result.exit_code in (0, 1), result.output
    items = {i["id"]: i for i in report(out)["items"]}
    assert {k: (v["caption"], v["platform"]) for k, v in items.items()} == {
        "yt1": ("My routine #ad @glow", "youtube"), "tt2": ("Use code GLOW10", "tiktok"),
        "ig3": ("Sunday vibes", "instagram")}
    read = {Path(i["path"]).name for i in report(out)["inputs"]}
    assert {"reel [ig3].mp4", "clip [tt2].mp4", "Morning routine [yt1].mp4"} <= read
    assert "reel [ig3].webp" not in read  # the thumbnail yt-dlp wrote is not the post
    origin = items["yt1"]["origin"]
    assert origin["title"] == "Morning routine" and origin["uploader"] == "Jo" and origin["tags"] == ["skincare"]
    assert origin["upload_date"] == "2026-01-02" and origin["webpage_url"].endswith("v=yt1")

    # A decision on a video is bound to its media too: a re-encoded video drops it.
    rule = next(f["rule"] for f in items["tt2"]["regions"]["GB"]["findings"] if f["status"] != "not-applicable")
    decided = cli("review", str(out), "--item", "tt2", "--region", "GB", "--rule", rule, "--decision", "confirm",
                  "--reviewer", "Bo", "--reason", "checked the video")
    assert decided.exit_code == 0, decided.output
    scan(folder, out, "--region", "GB")
    assert finding(item_of(out, "tt2"), "GB", rule)["reviews"][0]["state"] == "applied"
    _tiny_video(folder / "clip [tt2].mp4", "white")
    scan(folder, out, "--region", "GB")
    assert finding(item_of(out, "tt2"), "GB", rule)["reviews"][0]["state"] == "dropped"
    changes = report(out)["changes"]
    assert [(c["item"], c["caption"], [Path(p).name for p in c["media_changed"]]) for c in changes["content"]] == [
        ("tt2", False, ["clip [tt2].mp4"])]
    assert [d["item"] for d in changes["decisions_dropped"]] == ["tt2"]

    # An explicit manifest for one of the videos wins over its sidecar.
    (folder / "override.post.yaml").write_text(
        'id: yt1-manifest\nplatform: youtube\nregions: [GB]\ncaption: "From the manifest #ad"\n'
        'media: ["Morning routine [yt1].mp4"]\n', "utf-8")
    scan(folder, out, "--region", "GB")
    ids = {i["id"]: i["caption"] for i in report(out)["items"]}
    assert ids == {"yt1-manifest": "From the manifest #ad", "tt2": "Use code GLOW10", "ig3": "Sunday vibes"}


def test_mapped_csv_export_scans_and_a_missing_column_is_one_clear_line(tmp_path):
    export = tmp_path / "irm-export.csv"
    export.write_text("ID,Post Text,Network,Markets,Deal,Likes\n"
                      'p-1,"#ad Loving my serum",instagram,GB,paid,120\n'
                      'p-2,"Loving my serum #sp",instagram,GB;DE,paid,98\n', "utf-8")
    mapping = tmp_path / "irm.yaml"
    mapping.write_text("columns:\n  caption: Post Text\n  platform: Network\n  regions: Markets\n"
                       "  relationship: Deal\n", "utf-8")
    out = tmp_path / "out"
    result = scan(export, out, "--map", "id=ID", "--map-file", str(mapping))
    assert result.exit_code == 1, result.output
    items = {i["id"]: i for i in report(out)["items"]}
    assert items["p-1"]["caption"] == "#ad Loving my serum" and items["p-1"]["verdict"] == "pass"
    assert items["p-2"]["verdict"] == "fail" and set(items["p-2"]["regions"]) == {"GB", "DE"}

    missing = cli("scan", str(export), "--out", str(tmp_path / "out2"), "--map", "caption=Post Body", "-j", "1")
    assert missing.exit_code == 2
    lines = [line for line in missing.output.splitlines() if "Post Body" in line]
    assert len(lines) == 1 and "--map caption: no column 'Post Body'" in lines[0] and "Post Text" in lines[0]
    unknown = scan(export, tmp_path / "out3", "--map", "captoin=Post Text")
    assert unknown.exit_code == 2 and "--map captoin: not a post field" in unknown.output
    # Without a map the export is not ours: its columns are unknown fields.
    assert scan(export, tmp_path / "out4").exit_code == 2
