"""Packs load from the cache folder when their files are unchanged (issue #16: every process,
a creator's `check` included, loaded and validated all 30 packs), and the cache never gives a pack
its file would not: a changed file, an edited entry or a dated pack all come out as a fresh parse."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from complianceguard.cache import Cache
from complianceguard.errors import PackError
from complianceguard.packs import loader
from complianceguard.packs.loader import BUILTIN_RULES, PackLibrary


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLIANCEGUARD_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _entries(cache, kind):
    return sorted(p for p in (cache / kind).rglob("*") if p.is_file()) if (cache / kind).is_dir() else []


def test_an_unchanged_pack_comes_from_the_cache_as_the_pack_its_file_gives(cache, monkeypatch):
    first = {p.pack.id: p for p in PackLibrary().packs}
    assert len(_entries(cache, loader.VALIDATED_KIND)) == len(first)  # one entry per pack file
    calls = []
    monkeypatch.setattr(loader, "_parsed", lambda raw: calls.append(raw) or pytest.fail("parsed again"))
    second = {p.pack.id: p for p in PackLibrary().packs}
    assert not calls
    assert second.keys() == first.keys()
    for pack_id, resolved in first.items():
        again = second[pack_id]
        assert again.pack == resolved.pack and again.sha256 == resolved.sha256
        assert loader._fields_set(again.pack) == loader._fields_set(resolved.pack)  # `extends` merging reads them


def test_a_changed_pack_file_is_parsed_again(cache, tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(BUILTIN_RULES, folder)
    before = PackLibrary(folder).for_region("GB")
    gb = folder / before.path.name
    gb.write_text(gb.read_text("utf-8").replace(f"version: {before.pack.version}", "version: 9.9.9", 1), "utf-8")
    after = PackLibrary(folder).for_region("GB")
    assert after.pack.version == "9.9.9" and after.sha256 != before.sha256


def test_an_edited_cache_entry_is_not_trusted(cache):
    PackLibrary()
    edited = 0
    for entry in _entries(cache, loader.VALIDATED_KIND):
        stored = entry.read_bytes()
        if b'"region":"GB"' in stored:
            entry.write_bytes(stored.replace(b'"region":"GB"', b'"region":"XX"'))
            edited += 1
    assert edited == 1
    library = PackLibrary()
    assert library.for_region("GB").pack.region == "GB"
    with pytest.raises(PackError):
        library.for_region("XX")


def test_a_cached_pack_that_no_longer_validates_falls_back_to_its_file(cache):
    gb = PackLibrary().for_region("GB")
    Cache().put(loader.VALIDATED_KIND, loader._validated_key(gb.sha256), b'{"id": 5}')  # sealed, not a pack
    assert PackLibrary().for_region("GB").pack == gb.pack
    assert Cache().get(loader.VALIDATED_KIND, loader._validated_key(gb.sha256)) != b'{"id": 5}'


def test_a_dated_pack_is_cached_with_its_date(cache):
    dated = [p for p in PackLibrary().packs if p.pack.updated]
    assert dated, "no built-in pack has `updated:` (the date round trip is then untested)"
    again = {p.pack.id: p.pack.updated for p in PackLibrary().packs}
    for resolved in dated:
        assert isinstance(again[resolved.pack.id], dt.date) and again[resolved.pack.id] == resolved.pack.updated
    raw = dated[0].path.read_bytes()
    assert loader._parsed(raw) == loader._parsed(raw)  # the YAML parse cache keeps dates too
    assert _entries(cache, loader.PARSED_KIND)


# ---------------------------------------------------------------- only the packs a region needs


def test_a_region_limited_library_reads_only_that_region_and_what_it_extends(cache):
    full = PackLibrary()
    limited = PackLibrary(regions=["de"])
    assert {p.pack.id for p in limited.packs} == set(full.for_region("DE").chain)  # de, eu, base: not 30
    assert limited.for_region("DE").pack == full.for_region("DE").pack
    # what detection chooses among and the regions named in errors are those of every pack
    assert limited.candidate_languages() == full.candidate_languages()
    assert limited.regions() == full.regions()
    with pytest.raises(PackError, match="no rule pack for region XX .*GB"):
        PackLibrary(regions=["XX"]).for_region("XX")


def test_a_region_limited_check_gives_the_verdicts_of_every_pack_loaded(cache):
    from complianceguard.engine import Engine
    from complianceguard.model import Submission

    posts = [Submission(id=f"p{n}", regions=regions, caption=caption) for n, (regions, caption) in enumerate([
        (["GB"], "Loving my new serum from @glowskincare, use code GLOW20"),
        (["DE", "FR"], "Mein neues Serum von @glowskincare, Code GLOW20"),
        (["FR"], "Ma nouvelle crème @glowskincare #publicité"),
        (["JP"], "新しい美容液 @glowskincare #PR"),
    ])]
    full = Engine(PackLibrary())
    for post in posts:
        limited = Engine(PackLibrary(regions=post.regions))
        assert limited.evaluate(post) == full.evaluate(post)


def test_a_brand_pack_extending_a_region_is_loaded_with_its_parent(cache, tmp_path):
    brand = tmp_path / "brand.yaml"
    brand.write_text("id: brand-uk\nversion: 1.0.0\nname: Brand UK policy\nextends: gb-asa\nregion: XB\n"
                     "sources: {}\nrules: []\n", "utf-8")
    library = PackLibrary(extra=[brand], regions=["XB"])
    assert library.for_region("XB").chain == ("brand-uk", "gb-asa", "base")
    clash = tmp_path / "clash.yaml"
    clash.write_text("id: de-uwg\nversion: 1.0.0\nname: Clash\nregion: XC\nsources: {}\nrules: []\n", "utf-8")
    with pytest.raises(PackError, match="already used by a shipped pack"):
        PackLibrary(extra=[clash], regions=["XC"])
