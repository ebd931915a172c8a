"""The hostile-input probe (shared/research/probe-2026-12.md, issue #19), as code: every row makes its
own input in a scratch folder, runs it (the CLI in a child process with a time limit, or the library
in this process where a regression cannot hang), and says whether it was handled cleanly.

"Handled cleanly": a clear one-line error naming the file or field (exit 2 from the CLI), or the
right result, with nothing else lost, in bounded time and memory.

    .venv/bin/python bench/hostile.py            # every row; prints "N tried, N handled cleanly"
    .venv/bin/python bench/hostile.py 1 3 15     # only these rows

`CASES` is a list of `Case(row, description, check, media)`; `check(work_dir)` returns True when the
row is handled cleanly and raises (or returns False) with the reason otherwise. tests/test_hostile.py
runs the same list, one test per row (`media` rows need ffmpeg and are marked `media` there). The API
rows (api/) are added to the same list by the API's own function (see `API_CASES` at the end).
"""

from __future__ import annotations

import csv
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CLI_TIMEOUT_S = 120  # a hang (the old ENOSPC respawn loop, ReDoS) becomes a failed row, not a stuck probe
MAX_RSS_MB = 1500  # a decompression bomb decoded takes 2.7-5.5 GB; refusing it takes a few hundred MB


class NotClean(AssertionError):
    """A row not handled cleanly: the message says what happened instead."""


def expect(condition: object, message: str) -> None:
    if not condition:
        raise NotClean(message)


@dataclass(frozen=True)
class Case:
    row: str  # the probe table's row number
    description: str
    check: Callable[[Path], bool]
    media: bool = False  # needs ffmpeg/ffprobe (tests mark it `media`)


# ---------------------------------------------------------------- running the CLI, bounded


@dataclass(frozen=True)
class Ran:
    rc: int
    stdout: str
    stderr: str
    rss_mb: float  # peak resident memory of the command itself (VmHWM, polled)
    seconds: float
    timed_out: bool


def run_cli(args: list[str], cwd: Path, timeout_s: float = CLI_TIMEOUT_S, env: dict[str, str] | None = None,
            file_size_limit: int | None = None, stdin: str | None = None) -> Ran:
    """`complianceguard ARGS` in a new session; killed (with its whole group) past `timeout_s`.
    `file_size_limit`: RLIMIT_FSIZE in bytes, with SIGXFSZ ignored, so writing past it fails with
    EFBIG like a full disk fails with ENOSPC (no mount needed)."""
    environment = {**os.environ, "COMPLIANCEGUARD_CACHE": str(cwd / "cache"), **(env or {})}

    def limits() -> None:
        if file_size_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "complianceguard", *args], cwd=cwd, env=environment,
                                   stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True,
                                   preexec_fn=limits if file_size_limit is not None else None)
        timed_out = False
        peak_kb = 0  # VmHWM of the command itself: ru_maxrss of a forked child starts at its parent's size
        while True:
            peak_kb = max(peak_kb, _high_water_kb(process.pid))
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout_s:
                timed_out = True
                os.killpg(process.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return Ran(process.returncode, out.read(), err.read(), (peak_kb or usage.ru_maxrss) / 1024, seconds, timed_out)


def _high_water_kb(pid: int) -> int:
    """Peak resident memory (VmHWM, kB) of a running process since its exec; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)


def one_line_error(ran: Ran, *needles: str) -> None:
    """Exit 2 and exactly one `error: ...` line on stderr, naming every needle; never a traceback."""
    lines = ran.stderr.strip().splitlines()
    expect(not ran.timed_out, f"did not finish in {ran.seconds:.0f} s")
    expect("Traceback" not in ran.stderr, f"a traceback: {ran.stderr[-600:]}")
    expect(ran.rc == 2, f"exit {ran.rc}, not 2; stderr: {ran.stderr[-400:]}")
    expect(len(lines) == 1 and lines[0].startswith("error: "), f"not one error line: {lines[:4]}")
    for needle in needles:
        expect(needle in lines[0], f"{needle!r} is not in {lines[0]!r}")


# ---------------------------------------------------------------- generated inputs


def png_bomb(path: Path, width: int, height: int) -> Path:
    """An 8-bit grey PNG of zeros: a few hundred KB on disk, width*height bytes decoded."""
    compressor = zlib.compressobj(6)
    row = b"\x00" * (width + 1)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, timeout=120,
                   capture_output=True)


def write_csv(path: Path, rows: list[list[str]], header: tuple[str, ...] = ("id", "regions", "caption",
                                                                              "relationship")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def manifest(folder: Path, name: str, **fields: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {"regions": ["GB"], "caption": "#ad new serum", "relationship": "paid", **fields}
    path = folder / f"{name}.post.json"
    path.write_text(json.dumps(data), "utf-8")
    return path


def load(paths: list[Path]) -> dict[str, tuple[str | None, str | None]]:
    """label -> (submission id, error) for every post of the inputs, validated in this process."""
    from complianceguard.submission import load_all

    return {item.label: (item.submission.id if item.submission else None, item.error) for item in load_all(paths)}


def scan_report(work: Path, inputs: list[str], out: str = "out", jobs: int = 2,
                extra: list[str] | None = None) -> tuple[Ran, dict]:
    ran = run_cli(["scan", *inputs, "--out", out, "-j", str(jobs), "-q", "--format", "json,csv",
                   "--asr-backend", "none", *(extra or [])], work)
    report = work / out / "report.json"
    return ran, json.loads(report.read_text("utf-8")) if report.is_file() else {}


def items_by_id(report: dict) -> dict[str, dict]:
    return {item["id"]: item for item in report.get("items", [])}


def hostile_pack(path: Path, **fields: object) -> Path:
    import yaml

    data = {"id": "brand-hostile", "name": "hostile", "version": "1.0.0", "extends": "gb-asa", **fields}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path


# ---------------------------------------------------------------- the rows


def row_1_decompression_bomb(work: Path) -> bool:
    """A 30000x30000 PNG (under 1 MB) via `check`; a video frame over the budget; the shared function."""
    from complianceguard.extract.limits import MediaLimitError, check_pixel_budget

    bomb = png_bomb(work / "bomb.png", 30000, 30000)
    expect(bomb.stat().st_size < 2_000_000, "the bomb is not small")
    started = time.monotonic()
    try:
        check_pixel_budget(bomb)
    except MediaLimitError as exc:
        expect("30000x30000" in str(exc) or "900,000,000" in str(exc), f"size not named: {exc}")
    else:
        raise NotClean("check_pixel_budget accepted a 900-megapixel image")
    expect(time.monotonic() - started < 5, "reading the header took too long")
    ran = run_cli(["check", "--caption", "#ad new serum", "--region", "US", "--relationship", "paid",
                   "--asr-backend", "none", "bomb.png"], work)
    one_line_error(ran, "bomb.png", "pixels", "limit")
    expect(ran.rss_mb < MAX_RSS_MB, f"peak RSS {ran.rss_mb:.0f} MB")
    video = work / "frame.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=5:duration=1", "-pix_fmt", "yuv420p", str(video))
    ran = run_cli(["check", "--caption", "#ad x", "--region", "US", "--relationship", "paid", "--asr-backend",
                   "none", "frame.mp4"], work, env={"COMPLIANCEGUARD_MAX_PIXELS": "10000"})
    one_line_error(ran, "frame.mp4", "320x240", "10,000")
    return True


def row_3_full_disk_journal(work: Path) -> bool:
    """The journal cannot be written (EFBIG past RLIMIT_FSIZE, as ENOSPC on a full disk): one line,
    exit 2, no respawn loop; the finished posts are resumed from the journal."""
    rows = [[f"p{i}", "GB", f"#ad serum number {i} " + "lorem ipsum " * 20, "paid"] for i in range(1500)]
    write_csv(work / "many.csv", rows)
    write_csv(work / "one.csv", rows[:1])  # warms the cache folder (the language model copy), which is not the
    run_cli(["scan", "one.csv", "--out", "warm", "-q", "--asr-backend", "none"], work)  # point here
    ran = run_cli(["scan", "many.csv", "--out", "out", "-j", "2", "-q", "--format", "json", "--asr-backend", "none"],
                  work, timeout_s=90, file_size_limit=128 * 1024)
    one_line_error(ran, "out", "journal", "File too large")
    expect(ran.seconds < 60, f"took {ran.seconds:.0f} s")
    again = run_cli(["scan", "many.csv", "--out", "out", "-j", "2", "-q", "--format", "json", "--asr-backend", "none"],
                    work)
    expect(again.rc == 0 and "unchanged since the last run" in again.stdout and "1500 pass" in again.stdout,
           f"no resume: {again.stdout}")
    return True


def row_4_deep_json_manifest(work: Path) -> bool:
    batch = work / "b"
    manifest(batch, "good")
    (batch / "deep.post.json").write_text('{"caption": ' + "[" * 100_000 + "]" * 100_000 + "}")
    ran, report = scan_report(work, ["b"])
    items = items_by_id(report)
    expect("Traceback" not in ran.stderr and ran.rc == 2, f"exit {ran.rc}: {ran.stderr[-400:]}")
    expect(items.get("good", {}).get("verdict") == "pass", "the good post was lost")
    error = items.get("b/deep.post.json", {}).get("errors", [""])[0]
    expect("nested too deeply" in error, f"deep post: {error!r}")
    return True


def row_5_csv_field_over_128k(work: Path) -> bool:
    write_csv(work / "big.csv", [["a", "GB", "#ad one", "paid"], ["b", "GB", "#ad " + "y" * 140_000, "paid"],
                                 ["c", "GB", "#ad three", "paid"]])
    ran, report = scan_report(work, ["big.csv"])
    items = items_by_id(report)
    expect(ran.rc == 2 and "Traceback" not in ran.stderr, f"exit {ran.rc}: {ran.stderr[-400:]}")
    expect(items.get("a", {}).get("verdict") == "pass" and items.get("c", {}).get("verdict") == "pass",
           f"good rows lost: {sorted(items)}")
    error_item = items.get("b", {})  # the row's own id is kept (issue #13); its source names the row
    error = error_item.get("errors", [""])[0]
    expect("field caption: too long" in error and error_item.get("source_file") == "big.csv:row 3", f"row 3: {error!r}")
    return True


def row_6_latin1_csv(work: Path) -> bool:
    (work / "latin1.csv").write_bytes("id,regions,caption\nl1,GB,#ad café crème\n".encode("cp1252"))
    manifest(work / "b", "good")
    found = load([work / "latin1.csv", work / "b"])
    error = found[str(work / "latin1.csv")][1] or ""
    expect("not UTF-8" in error and "latin1.csv" in error and "offset" in error, f"error: {error!r}")
    ran, report = scan_report(work, ["latin1.csv", "b"])
    expect(ran.rc == 2 and "Traceback" not in ran.stderr and items_by_id(report).get("good"), ran.stderr[-400:])
    return True


def row_7_csv_unclosed_quote(work: Path) -> bool:
    (work / "unterminated.csv").write_text(
        'id,regions,caption,relationship\nu1,GB,"#ad great serum,paid\nu2,GB,no label here,paid\n', "utf-8")
    found = load([work / "unterminated.csv"])
    errors = [error for _, error in found.values() if error]
    expect(len(errors) == 1 and ":row 2:" in errors[0] and "quoted field" in errors[0], f"found: {found}")
    expect(not any(ident == "u1" for ident, _ in found.values()), "u1 was accepted with u2 swallowed")
    (work / "multiline.csv").write_text('id,regions,caption,relationship\nm1,GB,"#ad line one\nline two",paid\n'
                                        'm2,GB,#ad plain,paid\n', "utf-8")  # a legitimate multi-line caption
    found = load([work / "multiline.csv"])
    expect(sorted(i for i, _ in found.values()) == ["m1", "m2"], f"multi-line caption: {found}")
    return True


def row_8_wildcard_redos_pack(work: Path) -> bool:
    stars = hostile_pack(work / "redos.yaml", vocabulary={"en": {"labels": ["#a" + "*a" * 24 + "!"]}})
    ran = run_cli(["check", "--region", "GB", "--relationship", "paid", "--caption",
                   "#ad love #" + "a" * 69, "--pack", "redos.yaml"], work, timeout_s=60)
    one_line_error(ran, "redos.yaml", "wildcards")
    run_of_stars = hostile_pack(work / "stars.yaml", vocabulary={"en": {"labels": ["#" + "*" * 30 + "q"]}})
    ran = run_cli(["rules", "validate", run_of_stars.name], work, timeout_s=60)
    one_line_error(ran, "stars.yaml", "wildcards")
    # The one wildcard allowed stays linear, even on a hashtag of 20,000 letters.
    hostile_pack(work / "one.yaml", vocabulary={"en": {"labels": ["#*aq"]}})
    ran = run_cli(["check", "--region", "GB", "--relationship", "paid", "--caption",
                   "#ad love #" + "a" * 20_000, "--pack", "one.yaml"], work, timeout_s=60)
    expect(ran.rc in (0, 1) and not ran.timed_out and ran.seconds < 45,
           f"exit {ran.rc} after {ran.seconds:.0f} s: {ran.stderr[-300:]}")
    expect(stars.is_file(), "")
    return True


def row_9_huge_vocabulary_pack(work: Path) -> bool:
    hostile_pack(work / "huge.yaml", vocabulary={"en": {"labels": [f"#label{i}" for i in range(200_000)]}})
    ran = run_cli(["rules", "validate", "huge.yaml"], work, timeout_s=90)
    one_line_error(ran, "huge.yaml", "200,000 terms")
    expect(ran.seconds < 60, f"took {ran.seconds:.0f} s")
    return True


def row_10_pack_shadowing_a_shipped_id(work: Path) -> bool:
    import yaml

    (work / "shadow.yaml").write_text(yaml.safe_dump({"id": "gb-asa", "version": "9.9.9", "name": "shadow",
                                                      "region": "GB", "extends": "base",
                                                      "disclosure_required_for": []}), "utf-8")
    ran = run_cli(["check", "--region", "GB", "--relationship", "paid", "--caption", "no label here",
                   "--pack", "shadow.yaml"], work, timeout_s=60)
    one_line_error(ran, "shadow.yaml", "'gb-asa'", "own id")
    return True


def row_11_full_disk_reports(work: Path) -> bool:
    """Reports that cannot be written: one line naming the folder, exit 2, no half-written report,
    the journal kept. In this process, with the report writer failing as on a full disk."""
    import errno
    from unittest import mock

    from complianceguard import scan as scan_module
    from complianceguard.batch.work import ScanSettings
    from complianceguard.errors import OutputError
    from complianceguard.packs.loader import PackLibrary

    batch = work / "b"
    for i in range(3):
        manifest(batch, f"p{i}")
    settings = ScanSettings(asr_backend="none", read_media=False, cwd=str(work))
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    previous = os.getcwd()
    os.chdir(work)
    try:
        with mock.patch.object(scan_module, "write_batch_reports", side_effect=full):
            try:
                scan_module.scan_batch([batch], PackLibrary(), settings, work / "out", ["json"], {}, jobs=1)
            except OutputError as exc:
                message = str(exc)
            else:
                raise NotClean("no error when the reports could not be written")
    finally:
        os.chdir(previous)
    expect("\n" not in message and "No space left on device" in message and str(work / "out") in message, message)
    expect((work / "out" / "scan.journal").is_file() and not (work / "out" / "report.json").exists(), "journal")
    return True


def row_12_huge_caption(work: Path) -> bool:
    manifest(work / "b", "huge", caption="#ad " + "x" * 1_048_576)
    found = load([work / "b"])
    error = next(iter(found.values()))[1] or ""
    expect("field caption: too long" in error and "100,000" in error and "E088" not in error, error)
    return True


def row_13_lone_surrogate(work: Path) -> bool:
    ran = run_cli(["check", "--caption", "#ad \udcff", "--region", "GB", "--relationship", "paid"], work,
                  timeout_s=60)
    one_line_error(ran, "--caption", "not valid Unicode")
    (work / "b").mkdir()
    (work / "b" / "sur.post.json").write_text('{"regions": ["GB"], "caption": "#ad \\udcff"}', "utf-8")
    error = next(iter(load([work / "b"]).values()))[1] or ""
    expect("field caption: not valid Unicode" in error, error)
    return True


LOOKALIKES = {
    "fullwidth": "\uff03\uff41\uff44 new serum",
    "math-bold": "#\U0001d41a\U0001d41d new serum",
    "circled": "#\u24d0\u24d3 new serum",
    "nbsp-hashtag": "#\u00a0ad new serum",
    "cyrillic": "#\u0430d new serum",
    "greek": "#\u03b1d new serum",
}


def row_15_lookalike_labels(work: Path) -> bool:
    from complianceguard.engine import Engine
    from complianceguard.model import Submission
    from complianceguard.packs.loader import PackLibrary

    engine = Engine(PackLibrary())

    def outcome(name: str, caption: str) -> tuple[str, dict[str, str]]:
        item = engine.evaluate(Submission(id=name, caption=caption, regions=["GB"], relationship="paid"))
        return item.verdict, {f.name: f.status for f in item.regions["GB"].findings}

    reference = outcome("cyrillic", LOOKALIKES["cyrillic"])  # what the probe found handled: the standard
    expect(reference[0] == "fail" and reference[1].get("disguised-label") in ("fail", "warn"), f"{reference}")
    for name, caption in LOOKALIKES.items():
        found = outcome(name, caption)
        expect(found == reference, f"{name}: {found[0]}, disguised-label {found[1].get('disguised-label')}; "
                                   f"Cyrillic: {reference[0]}, {reference[1].get('disguised-label')}")
    plain = engine.evaluate(Submission(id="plain", caption="#ad new serum", regions=["GB"], relationship="paid"))
    expect(plain.verdict != "fail", f"plain #ad: {plain.verdict}")
    return True


def row_16_audio_only_mp4(work: Path) -> bool:
    from complianceguard.extract import extract as extract_caption
    from complianceguard.extract import read_media
    from complianceguard.model import Submission

    audio = work / "audioonly.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", str(audio))
    post = Submission(id="a", caption="#ad x", regions=["US"], relationship="paid", media=[str(audio)])
    extraction = read_media(post, extract_caption(post), "en", transcriber=None, ocr=None)
    expect(extraction.media_kinds == frozenset({"audio"}), f"kinds: {extraction.media_kinds}")
    expect(extraction.coverage["overlay"].read, f"overlay: {extraction.coverage['overlay'].detail}")
    expect("not transcribed" in extraction.coverage["speech"].detail, extraction.coverage["speech"].detail)
    return True


def row_18_poisoned_cache(work: Path) -> bool:
    from complianceguard.cache import Cache, cache_key

    cache = Cache(work / "cache")
    calls: list[int] = []

    def compute() -> dict:
        calls.append(1)
        return {"text": "no disclosure here"}

    args = ("transcript", "ab" * 32, {"model": "tiny"}, {"v": "1"}, compute, json.dumps, json.loads)
    expect(cache.cached(*args) == {"text": "no disclosure here"}, "first value")
    entry = cache.path("transcript", cache_key("transcript", "ab" * 32, {"model": "tiny"}, {"v": "1"}))
    header = entry.read_bytes().split(b"\n", 1)[0]
    entry.write_bytes(header + b"\n" + json.dumps({"text": "This is an ad. Paid partnership."}).encode())
    expect(cache.cached(*args) == {"text": "no disclosure here"} and len(calls) == 2, "a forged entry was trusted")
    entry.write_text(json.dumps([None, False, False]))  # an unsealed (hand-written) entry
    expect(cache.cached(*args) == {"text": "no disclosure here"} and len(calls) == 3, "an unsealed entry was trusted")
    return True


def row_19_terminal_escapes(work: Path) -> bool:
    manifest(work / "b", "ansi", id="ansi\x1b]0;HACKED\x07\x1b[2Jdone", caption="no label\x1b[8m here")  # fails: listed in MD
    ran = run_cli(["scan", "b", "--out", "out", "-j", "1", "--format", "json,md", "--asr-backend", "none"], work,
                  timeout_s=90)
    expect(ran.rc == 1, f"exit {ran.rc}: {ran.stderr[-300:]}")
    expect("\x1b" not in ran.stdout + ran.stderr and "\\x1b]0;HACKED" in ran.stdout + ran.stderr,
           f"terminal output: {(ran.stdout + ran.stderr)[-300:]!r}")
    markdown = (work / "out" / "report.md").read_text("utf-8")
    expect("\x1b" not in markdown and "HACKED" in markdown, "ESC written raw into report.md")
    return True


def row_20_misleading_errors(work: Path) -> bool:
    """A FIFO, a UTF-8-BOM JSON manifest, a UTF-16 one, and (media) a 60,000 fps video."""
    batch = work / "b"
    manifest(batch, "plain")
    bom = batch / "bom.post.json"
    bom.write_bytes(b"\xef\xbb\xbf" + bom.with_name("plain.post.json").read_bytes())
    bom.with_name("plain.post.json").unlink()
    (batch / "u16.post.json").write_bytes(json.dumps({"regions": ["GB"], "caption": "#ad"}).encode("utf-16"))
    os.mkfifo(batch / "pipe.mp4")
    manifest(batch, "fifo", media=["pipe.mp4"])
    found = {label.rsplit("/", 1)[-1]: value for label, value in load([batch]).items()}
    expect(found["bom.post.json"][0] == "bom", f"BOM manifest: {found['bom.post.json']}")
    expect("UTF-16" in (found["u16.post.json"][1] or ""), f"UTF-16: {found['u16.post.json']}")
    expect("named pipe" in (found["fifo.post.json"][1] or ""), f"FIFO: {found['fifo.post.json']}")
    from complianceguard.extract.media import ExtractionError, probe

    try:
        probe(batch / "pipe.mp4")
    except ExtractionError as exc:
        expect("named pipe" in str(exc), str(exc))
    else:
        raise NotClean("a FIFO was probed")
    return True


def row_20_absurd_frame_rate(work: Path) -> bool:
    video = work / "manyframes.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:rate=60000:duration=0.001", "-c:v", "mpeg4", str(video))
    ran = run_cli(["check", "--caption", "#ad x", "--region", "US", "--relationship", "paid", "--asr-backend",
                   "none", "manyframes.mp4"], work, timeout_s=60)
    one_line_error(ran, "manyframes.mp4", "frames per second", "limit")
    return True


def row_21_duplicate_keys(work: Path) -> bool:
    batch = work / "b"
    batch.mkdir()
    (batch / "dup.post.yaml").write_text("regions: [GB]\ncaption: '#ad first'\ncaption: second\n", "utf-8")
    (batch / "dupj.post.json").write_text('{"regions": ["GB"], "caption": "#ad a", "caption": "b"}', "utf-8")
    (batch / "merge.post.yaml").write_text(textwrap.dedent("""\
        base: &base {regions: [GB], relationship: paid}
        <<: *base
        relationship: gifted
        caption: '#ad merged'
        """), "utf-8")
    found = {label.rsplit("/", 1)[-1]: value for label, value in load([batch]).items()}
    expect("line 3: duplicate key 'caption'" in (found["dup.post.yaml"][1] or ""), f"YAML: {found['dup.post.yaml']}")
    expect("duplicate key 'caption'" in (found["dupj.post.json"][1] or ""), f"JSON: {found['dupj.post.json']}")
    (work / "duppack.yaml").write_text("id: brand-dup\nid: gb-asa\nname: x\nversion: 1.0.0\nextends: gb-asa\n")
    ran = run_cli(["rules", "validate", "duppack.yaml"], work, timeout_s=60)
    one_line_error(ran, "duppack.yaml", "duplicate key 'id'")
    return True


def row_22_empty_csv(work: Path) -> bool:
    (work / "nohdr.csv").write_bytes(b"")
    ran = run_cli(["scan", "nohdr.csv", "--out", "out", "-q", "--asr-backend", "none"], work, timeout_s=60)
    expect(ran.rc == 2 and "Traceback" not in ran.stderr, f"exit {ran.rc}: {ran.stderr[-300:]}")
    found = load([work / "nohdr.csv"])
    expect("empty" in (next(iter(found.values()))[1] or ""), f"{found}")
    return True


def row_23_csv_formula_with_leading_space(work: Path) -> bool:
    manifest(work / "b", "space", id=" =1+1")
    manifest(work / "b", "newline", id="\n=1+2")
    ran, _ = scan_report(work, ["b"])
    cells = [row[0] for row in csv.reader((work / "out" / "report.csv").open(encoding="utf-8"))][1:]
    expect(cells and all(cell.startswith("'") for cell in cells), f"id cells: {cells}")
    return True


_ORPHAN_SCRIPT = """
import os, subprocess, sys, time
from complianceguard.batch.pool import WorkerPool

def handle(task):
    child = subprocess.Popen(["sleep", "60"])  # stands for ffmpeg or tesseract
    with open(sys.argv[1], "a") as pids:
        pids.write(f"{os.getpid()} {child.pid}\\n")
    child.wait()
    return task

with WorkerPool(2, handle, timeout_s=600) as pool:
    pool.run([(0, 0), (1, 1)], lambda index, result: None, heavy=lambda task: True)
"""


def row_26_workers_die_with_the_scan(work: Path) -> bool:
    import psutil

    script = work / "orphans.py"
    script.write_text(_ORPHAN_SCRIPT)
    pids_file = work / "pids.txt"
    parent = subprocess.Popen([sys.executable, str(script), str(pids_file)], cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not pids_file.exists() or len(pids_file.read_text().split()) < 4):
        time.sleep(0.1)
    pids = [int(p) for p in pids_file.read_text().split()] if pids_file.exists() else []
    parent.kill()
    parent.wait()
    expect(len(pids) == 4, f"the workers did not start: {pids}")
    processes = [psutil.Process(p) for p in pids if psutil.pid_exists(p)]
    _, alive = psutil.wait_procs(processes, timeout=5)
    alive = [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    for process in alive:
        process.kill()
    expect(not alive, f"still running 5 s after the scan was killed: {[p.pid for p in alive]}")
    return True


CASES: list[Case] = [
    Case("1", "PNG decompression bomb (30000x30000, <1 MB) and a video frame over the pixel budget",
         row_1_decompression_bomb, media=True),
    Case("3", "journal on a full disk: one line, exit 2, no respawn loop, resumable", row_3_full_disk_journal),
    Case("4", "JSON manifest nested 100,000 deep next to a good one", row_4_deep_json_manifest),
    Case("5", "CSV caption over 131,072 characters", row_5_csv_field_over_128k),
    Case("6", "CSV saved as cp1252 (Excel)", row_6_latin1_csv),
    Case("7", "CSV with an unclosed quote swallowing the next row", row_7_csv_unclosed_quote),
    Case("8", "pack wildcard terms that backtrack (24 stars, a run of stars)", row_8_wildcard_redos_pack),
    Case("9", "pack with 200,000 labels", row_9_huge_vocabulary_pack),
    Case("10", "--pack reusing a shipped pack's id", row_10_pack_shadowing_a_shipped_id),
    Case("11", "reports on a full disk: one line, exit 2, journal kept", row_11_full_disk_reports),
    Case("12", "1 MB caption in a manifest", row_12_huge_caption),
    Case("13", "lone surrogate in a caption (argv and JSON)", row_13_lone_surrogate),
    Case("15", "fullwidth, math-bold, circled and NBSP look-alike labels", row_15_lookalike_labels),
    Case("16", "audio-only .mp4 read as audio", row_16_audio_only_mp4, media=True),
    Case("18", "edited cache entries are not trusted", row_18_poisoned_cache),
    Case("19", "terminal escapes (OSC title) in ids", row_19_terminal_escapes),
    Case("20", "FIFO, UTF-8 BOM and UTF-16 manifests: accurate errors", row_20_misleading_errors),
    Case("20b", "60,000 fps video: the frame rate is named", row_20_absurd_frame_rate, media=True),
    Case("21", "duplicate keys in YAML/JSON manifests and packs", row_21_duplicate_keys),
    Case("22", "empty CSV is an error", row_22_empty_csv),
    Case("23", "CSV formula cell with a leading space or newline", row_23_csv_formula_with_leading_space),
    Case("26", "workers and their children die with a SIGKILLed scan", row_26_workers_die_with_the_scan),
]

# The API rows (SSRF webhooks, API auth throttling, slow clients, 422s) are appended here by the
# API's own list, when it exists: complianceguard/api cases as Case objects in bench/hostile_api.py.
try:  # pragma: no cover - optional
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from hostile_api import API_CASES  # type: ignore[import-not-found]
except ImportError:
    API_CASES = []
CASES += API_CASES


def media_tools() -> bool:
    return bool(shutil.which("ffmpeg") and shutil.which("ffprobe"))


def as_case(entry: Case | tuple) -> Case:
    """A Case, or a plain (row, description, check[, media]) tuple or look-alike object from another list."""
    if isinstance(entry, tuple):
        return Case(*entry)
    return Case(entry.row, entry.description, entry.check, getattr(entry, "media", False))


def main(argv: list[str]) -> int:
    wanted = set(argv)
    cases = [c for c in map(as_case, CASES) if not wanted or c.row in wanted]
    handled = 0
    tried = 0
    for case in cases:
        if case.media and not media_tools():
            print(f"row {case.row:4} SKIP  {case.description} (needs ffmpeg)")
            continue
        tried += 1
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"hostile-{case.row}-") as scratch:
            try:
                ok, why = bool(case.check(Path(scratch))), ""
            except Exception as exc:  # noqa: BLE001 - a row that raises is a row not handled cleanly
                ok, why = False, f"{type(exc).__name__}: {exc}"
        handled += ok
        print(f"row {case.row:4} {'ok  ' if ok else 'NOT '}  {case.description} ({time.monotonic() - started:.1f} s)"
              + (f"\n          {why[:500]}" if why else ""))
    load1, load5, load15 = os.getloadavg()
    print(f"{tried} tried, {handled} handled cleanly (load average {load1:.2f} {load5:.2f} {load15:.2f})")
    return 0 if handled == tried else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
