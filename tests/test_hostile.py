"""The hostile-input probe (shared/research/probe-2026-12.md, issue #19) as tests: one test per probe
row, from the same list bench/hostile.py runs. Each row generates its own input in tmp_path and is
bounded: CLI runs are child processes killed past a time limit (and checked for peak memory where
memory is the point), full disks are simulated with RLIMIT_FSIZE. Rows that need ffmpeg are marked
`media`. The shared pixel budget and text limits have unit tests at the end.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("hostile", ROOT / "bench" / "hostile.py")
hostile = importlib.util.module_from_spec(_spec)
sys.modules["hostile"] = hostile
_spec.loader.exec_module(hostile)

OWN_ROWS = [hostile.as_case(case) for case in hostile.CASES if case not in hostile.API_CASES]
# Rows that run whole CLI batches against huge or broken inputs (1-40 s each): full tier only, so
# `make test-fast` stays near a minute.
SLOW_ROWS = {"3", "4", "5", "6", "8", "9", "19", "22", "23", "26"}


def _marks(case) -> list:
    return ([pytest.mark.media] if case.media else []) + ([pytest.mark.slow] if case.row in SLOW_ROWS else [])


@pytest.mark.parametrize("case", [pytest.param(case, id=f"row{case.row}", marks=_marks(case)) for case in OWN_ROWS])
def test_probe_row_is_handled_cleanly(case, tmp_path, monkeypatch):
    if case.media and not hostile.media_tools():
        pytest.skip("needs ffmpeg and ffprobe")
    monkeypatch.setenv("COMPLIANCEGUARD_CACHE", str(tmp_path / "cache"))
    assert case.check(tmp_path) is True


# ---------------------------------------------------------------- the shared functions


def test_pixel_budget_reads_only_the_header_and_names_file_size_and_limit(tmp_path, monkeypatch):
    import resource

    from complianceguard.extract.limits import MediaLimitError, check_pixel_budget

    small = hostile.png_bomb(tmp_path / "small.png", 100, 100)
    check_pixel_budget(small)  # within budget: no error
    big = hostile.png_bomb(tmp_path / "big.png", 9000, 8000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(MediaLimitError) as refused:
        check_pixel_budget(big, "image")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KB: nothing was decoded
    message = str(refused.value)
    assert "big.png" in message and "9000x8000" in message and "64,000,000" in message and "\n" not in message
    monkeypatch.setenv("COMPLIANCEGUARD_MAX_PIXELS", "100000000")
    check_pixel_budget(big, "image")  # the documented override
    with pytest.raises(MediaLimitError, match="a video frame is 7680x17280"):
        check_pixel_budget(big, "video", size=(7680, 4320 * 4))  # a size the caller read from the header
    with pytest.raises(MediaLimitError, match="no such media file"):
        check_pixel_budget(tmp_path / "missing.png")


def test_text_limits_name_the_problem():
    from complianceguard.extract.limits import MAX_CAPTION_CHARS, caption_problem, text_problem

    assert text_problem("#ad fine") is None
    assert "too long" in text_problem("x" * (MAX_CAPTION_CHARS + 1))
    assert caption_problem("#ad \udcff") .startswith("field caption: not valid Unicode (a lone surrogate U+DCFF")


def test_a_failing_result_callback_is_not_a_dead_worker():
    """pool._drain used to catch the journal's OSError as a dead worker and respawn for ever."""
    from complianceguard.batch.pool import WorkerPool

    def refuse(index, result):
        raise OSError(28, "No space left on device")

    with WorkerPool(1, lambda task: task, timeout_s=30) as pool:
        with pytest.raises(OSError, match="No space left"):
            pool.run([(0, "a"), (1, "b")], refuse)


def test_terminal_safe_keeps_text_and_escapes_controls():
    from complianceguard.batch.work import terminal_safe

    assert terminal_safe("ansi\x1b]0;HACKED\x07 ok\té") == "ansi\\x1b]0;HACKED\\x07 ok\té"


def test_every_compatibility_form_of_a_label_is_flagged_the_same_way():
    from complianceguard.extract.normalize import normalize

    for caption in hostile.LOOKALIKES.values():
        folded = normalize(caption)
        assert folded.text.startswith("#ad "), caption
        assert folded.disguised_at, caption
    for plain in ("#ad new serum", "Publicité\u00a0: nouvelle crème", "広告 新しいセラム", "Реклама: новая сыворотка"):
        assert not normalize(plain).disguised_at, plain
