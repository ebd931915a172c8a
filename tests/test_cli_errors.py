"""Errors are one line for users; with `-v` the traceback goes to the debug log the line names (#20)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from complianceguard import cli
from complianceguard.errors import DEBUG_LOG_ENV, internal_error


@pytest.fixture(autouse=True)
def no_debug_log(monkeypatch):
    # `-v` sets it in this (test) process: setenv first, so that undo removes it again (a bare
    # delenv of an unset variable records nothing, and the tests after this file saw tracebacks)
    monkeypatch.setenv(DEBUG_LOG_ENV, "")
    monkeypatch.delenv(DEBUG_LOG_ENV)


def _run(*args: str):
    return CliRunner().invoke(cli.main, list(args))


def test_a_bad_region_is_one_line_without_a_traceback():
    result = _run("check", "--caption", "#ad hello", "--region", "ZZ")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("error: no rule pack for region ZZ")


def test_with_v_the_traceback_goes_to_stderr_before_the_one_line():
    result = _run("check", "--caption", "#ad hello", "--region", "ZZ", "-v")
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr and "PackError" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: no rule pack for region ZZ")


def test_a_bug_is_one_line_naming_it_and_how_to_see_the_traceback(monkeypatch):
    def broken(packs, regions=None):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "_library", broken)
    result = _run("check", "--caption", "#ad hello", "--region", "GB")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (f"error: internal error (ZeroDivisionError: division by zero) "
                                     f"(for the traceback: -v, or {DEBUG_LOG_ENV}=-)")
    verbose = _run("check", "--caption", "#ad hello", "--region", "GB", "-v")
    assert "Traceback (most recent call last)" in verbose.stderr and "in broken" in verbose.stderr
    assert verbose.stderr.strip().splitlines()[-1] == (
        "error: internal error (ZeroDivisionError: division by zero); traceback in stderr (above)")


def test_a_debug_log_file_gets_the_traceback_and_the_line_names_it(tmp_path, monkeypatch):
    log = tmp_path / "debug.log"
    monkeypatch.setenv(DEBUG_LOG_ENV, str(log))
    try:
        {}["missing"]
    except KeyError as exc:
        line = internal_error(exc)
    assert line == f"internal error (KeyError: 'missing'); traceback in {log}"
    assert "Traceback (most recent call last)" in log.read_text() and "KeyError" in log.read_text()


def test_without_a_debug_log_the_line_is_all(tmp_path):
    assert internal_error(ValueError("bad")) == "internal error (ValueError: bad)"


def test_scan_v_names_its_debug_log_for_the_workers(tmp_path, monkeypatch):
    """`scan -v` points the debug log into OUT before any worker starts (they inherit the variable)."""
    import os

    (tmp_path / "a.post.yaml").write_text("id: a\nregions: [GB]\ncaption: '#ad hi'\n", encoding="utf-8")
    out = tmp_path / "reports"
    result = _run("scan", str(tmp_path / "a.post.yaml"), "--out", str(out), "-v", "-q", "-j", "1",
                  "--asr-backend", "none", "--format", "json")
    assert result.exit_code in (0, 1), result.output
    assert os.environ[DEBUG_LOG_ENV] == str((out / "debug.log").resolve())
