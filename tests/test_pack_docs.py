"""The packs README's generated parts match the packs: a reader never sees a stale coverage table."""

from __future__ import annotations

from complianceguard.packs.coverage import START, applies_to, coverage_markdown, coverage_rows
from complianceguard.packs.readme import with_generated
from complianceguard.packs.loader import BUILTIN_RULES


def test_the_readme_coverage_table_is_generated_from_the_packs(library):
    readme = (BUILTIN_RULES / "README.md").read_text("utf-8")
    assert START in readme
    assert with_generated(readme, coverage_markdown(library)) == readme, (
        "run: complianceguard rules coverage --write complianceguard/packs/builtin/README.md")


def test_every_region_has_a_row_per_post_type(library):
    rows = coverage_rows(library)
    assert {r for r, _, _ in rows} == set(library.regions()) and len(library.regions()) == 29
    assert len(rows) == 29 * 6


def test_post_type_rules_appear_only_where_they_apply(library):
    rows = {(region, post_type): cells for region, post_type, cells in coverage_rows(library)}
    for region in library.regions():
        for rule in library.for_region(region).pack.rules:
            if rule.when and rule.when.post_types:
                for post_type in ("feed", "carousel", "story", "video", "live", "audio"):
                    listed = any(c.startswith(rule.code + " ") for cell in rows[(region, post_type)].values()
                                 for c in cell)
                    assert listed == (applies_to(rule, post_type) and any(
                        ch in rows[(region, post_type)] for ch in rule.scopes)), (rule.code, post_type)
