"""Manifests, folders and CSV in: each bad post is one clear error, the rest still load."""

from __future__ import annotations

import json
from pathlib import Path

from complianceguard.submission import load_all


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def loaded(*paths: Path):
    return list(load_all(list(paths)))


def test_yaml_and_json_manifests_in_a_folder(tmp_path):
    write(tmp_path / "a.post.yaml", "id: a\nregions: [gb]\ncaption: '#ad hi'\nrelationship: paid\n")
    write(tmp_path / "sub" / "b.post.json", json.dumps({"regions": ["DE"], "caption": "Werbung"}))
    write(tmp_path / "notes.yaml", "not: a post\n")  # not *.post.*: ignored
    results = loaded(tmp_path)
    assert [r.submission.id for r in results] == ["a", "b"]
    assert results[0].submission.regions == ["GB"]


def test_bad_field_names_file_and_field(tmp_path):
    bad = write(tmp_path / "bad.post.yaml", "id: x\nregions: [GB]\ncaption: hi\nrelationship: bribed\n")
    (result,) = loaded(bad)
    assert result.submission is None
    assert result.error.startswith(f"{bad}: field relationship:")
    assert "'bribed'" in result.error and "\n" not in result.error


def test_unknown_field_and_unknown_region_are_refused(tmp_path):
    typo = write(tmp_path / "t.post.yaml", "regions: [GB]\ncaptoin: hi\n")
    region = write(tmp_path / "r.post.yaml", "regions: [XX]\ncaption: hi\n")
    errors = [r.error for r in loaded(typo, region)]
    assert errors[0] == f"{typo}: field captoin: unknown field"
    assert "field regions.0" not in errors[1] and "XX" in errors[1] and str(region) in errors[1]


def test_invalid_yaml_names_the_line(tmp_path):
    bad = write(tmp_path / "broken.post.yaml", "id: x\nregions: [GB\ncaption: hi\n")
    (result,) = loaded(bad)
    assert result.error.startswith(f"{bad}: line ") and "not valid YAML" in result.error


def test_media_cannot_escape_the_batch_folder(tmp_path):
    batch = tmp_path / "batch"
    write(batch / "ok.jpg", "x")
    write(tmp_path / "secret.txt", "x")
    write(batch / "posts" / "escape.post.yaml", "regions: [GB]\ncaption: hi\nmedia: ['../../etc/passwd']\n")
    write(batch / "posts" / "sibling.post.yaml", "regions: [GB]\ncaption: hi\nmedia: ['../../secret.txt']\n")
    write(batch / "posts" / "absolute.post.yaml", "regions: [GB]\ncaption: hi\nmedia: ['/etc/passwd']\n")
    write(batch / "posts" / "good.post.yaml", "regions: [GB]\ncaption: hi\nmedia: ['../ok.jpg']\n")
    (batch / "posts" / "link.jpg").symlink_to(tmp_path / "secret.txt")
    write(batch / "posts" / "symlink.post.yaml", "regions: [GB]\ncaption: hi\nmedia: ['link.jpg']\n")
    results = {Path(r.label).name.split(".")[0]: r for r in loaded(batch)}
    for name in ("escape", "sibling", "symlink"):
        assert "points outside the batch folder" in results[name].error, name
    assert "absolute path" in results["absolute"].error
    assert results["good"].submission.media == [str((batch / "ok.jpg").resolve())]


def test_missing_media_is_an_error_for_that_post(tmp_path):
    post = write(tmp_path / "m.post.yaml", "regions: [GB]\ncaption: hi\nmedia: [reel.mp4]\n")
    (result,) = loaded(post)
    assert result.error == f"{post}: field media: 'reel.mp4' does not exist"


def test_csv_rows_with_lists_and_booleans(tmp_path):
    table = write(tmp_path / "posts.csv", (
        "id,regions,caption,relationship,brand_handles,paid_partnership_tag\n"
        "one,GB;DE,#ad hi,paid,@a;@b,true\n"
        ",US,hello,gifted,,no\n"
        "three,GB,hi,paid,,maybe\n"
    ))
    results = loaded(table)
    first, second, third = results
    assert first.submission.regions == ["GB", "DE"] and first.submission.brand_handles == ["@a", "@b"]
    assert first.submission.paid_partnership_tag is True
    assert second.submission.id == "posts-3" and second.submission.paid_partnership_tag is False
    assert third.error == f"{table}:row 4: field paid_partnership_tag: 'maybe' is not true/false"


def test_region_override_replaces_the_manifest_regions(tmp_path):
    post = write(tmp_path / "p.post.yaml", "regions: [GB]\ncaption: hi\n")
    (result,) = list(load_all([post], regions_override=["DE", "US"]))
    assert result.submission.regions == ["DE", "US"]
