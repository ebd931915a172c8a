"""Speed work keeps every verdict (issue #16): the benchmark's generated captions get the verdicts
recorded in tests/data/caption-verdicts.json, post by post, region by region, rule by rule.

The fast test checks the first 1,000 posts against the recorded table (it names the first post and
rule that differ); the slow one all 100,000 against the block hashes. Record again only for a pack
or rule change that moves verdicts on purpose: `python tests/verdict_digest.py --write`."""

from __future__ import annotations

import json
import os

import pytest

import verdict_digest

RECORDED = json.loads(verdict_digest.DIGEST.read_text("utf-8"))


@pytest.mark.slow
def test_the_first_thousand_captions_keep_their_verdicts():
    # about 8 s, most of it building the seven languages' pipelines and matchers (500 posts take 7.5 s)
    assert verdict_digest.difference(RECORDED, 1000) is None


@pytest.mark.slow
def test_all_generated_captions_keep_their_verdicts():
    count = RECORDED["posts"]
    assert verdict_digest.difference(RECORDED, count, jobs=min(2, os.cpu_count() or 1)) is None


def test_a_changed_verdict_names_the_post_and_the_rule():
    line = RECORDED["first_posts"][3]  # post-000003: a region that fails
    post, verdict, region, region_verdict, letters = line.split(" ")[:5]
    flipped = letters[0].translate(str.maketrans("pfwin", "fpiwp"))
    changed = " ".join([post, verdict, region, region_verdict, flipped + letters[1:], *line.split(" ")[5:]])
    explained = verdict_digest._explain(line, changed, RECORDED)
    assert explained.startswith(f"{post}: {region} ") and "was " in explained and "is now" in explained
