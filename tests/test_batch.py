"""Batch scans at scale: worker pool isolation, the resume journal, streamed reports, the
content-addressed cache and the progress bar. The scale-out over Redis is in test_batch_queue.py."""

from __future__ import annotations

import csv
import faulthandler
import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from complianceguard.batch.journal import JOURNAL_NAME, Journal
from complianceguard.batch.progress import Progress
from complianceguard.batch.work import ScanSettings, UnitResult
from complianceguard.cache import Cache, cache_key
from complianceguard.engine import Engine
from complianceguard.report import write_reports
from complianceguard.scan import scan, scan_batch
from conftest import FIXTURES, ROOT
from report_schema import reports_match_the_schema, validate_report  # noqa: F401 - autouse

FIELDS = ["id", "regions", "caption", "relationship"]


def captions_csv(path: Path, count: int) -> Path:
    """`count` realistic mixed captions, from the throughput benchmark's generator."""
    spec = importlib.util.spec_from_file_location("caption_throughput", ROOT / "bench" / "caption_throughput.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench.write_captions(path, count, seed=8)


def write_rows(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        writer.writerows([(post_id, "GB", caption, "paid") for post_id, caption in rows])
    return path


def read(folder: Path):
    from complianceguard.report import load_report

    return load_report(folder / "report.json")


def report_without_time(folder: Path) -> dict:
    report = json.loads((folder / "report.json").read_text())
    report.pop("generated_at")
    return report


def test_a_hung_and_a_crashing_post_become_errors_and_the_batch_goes_on(tmp_path, library, monkeypatch):
    posts = write_rows(tmp_path / "posts.csv", [
        ("ok-1", "#ad Loving my new serum"), ("hang", "#ad this one never finishes"), ("ok-2", "My new serum"),
        ("crash", "#ad this one kills its worker"), ("ok-3", "#ad #skincare"), ("ok-4", "Ad | new lipstick")])
    original = Engine.evaluate

    def evaluate(self, submission, extraction=None):  # runs in the forked workers, which inherit the patch
        if submission.id == "hang":
            time.sleep(3600)
        if submission.id == "crash":
            faulthandler.disable()  # pytest's traceback dump on SIGSEGV would only add noise
            os.kill(os.getpid(), signal.SIGSEGV)
        return original(self, submission, extraction)

    monkeypatch.setattr(Engine, "evaluate", evaluate)
    settings = ScanSettings(asr_backend="none", read_media=False, cwd=str(tmp_path), timeout_s=3)
    started = time.monotonic()
    outcome = scan_batch([posts], library, settings, tmp_path / "out", ["json"], {}, jobs=2)
    assert time.monotonic() - started < 60  # the hung post cost its time limit, not an hour
    items = {i["id"]: i for i in json.loads((tmp_path / "out" / "report.json").read_text())["items"]}
    hung, crashed = items[f"{posts}:row 3"], items[f"{posts}:row 5"]  # named by file and row: never loaded
    assert list(items) == ["ok-1", hung["id"], "ok-2", crashed["id"], "ok-3", "ok-4"]  # input order
    assert hung["verdict"] == "error" and "timed out after 3 s" in hung["errors"][0]
    assert crashed["verdict"] == "error" and "crashed (killed by SIGSEGV)" in crashed["errors"][0]
    assert [items[k]["verdict"] for k in ("ok-1", "ok-2", "ok-3", "ok-4")] == ["pass", "fail", "pass", "pass"]
    assert outcome.summary == {"error": 2, "fail": 1, "pass": 3} and outcome.exit_code == 2

    # Time-outs and crashes are not final: the next run checks those two again, and only those.
    monkeypatch.setattr(Engine, "evaluate", original)
    again = scan_batch([posts], library, settings, tmp_path / "out", ["json"], {}, jobs=2)
    assert again.reused == 4 and again.summary == {"fail": 1, "pass": 5}


@pytest.mark.parametrize("bad", ["hang", "crash"])
def test_answers_sent_in_batches_still_blame_only_the_item_that_hung_or_crashed(bad):
    # Fast items answer in batches (pool.ANSWER_EVERY_S): those its worker finished just before the
    # bad one, answered but unsent when it was killed, are checked again, not blamed.
    from complianceguard.batch.pool import Failure, WorkerPool

    def handle(task: int) -> int:
        if task == 50:
            if bad == "hang":
                time.sleep(3600)
            os._exit(3)
        return task * 2

    answers: dict[int, object] = {}
    with WorkerPool(2, handle, timeout_s=2) as pool:
        pool.run([(i, i) for i in range(100)], answers.__setitem__)
    assert sorted(answers) == list(range(100))
    assert isinstance(answers.pop(50), Failure)
    assert answers == {i: i * 2 for i in range(100) if i != 50}


def test_batch_report_is_the_in_process_report_and_every_format_is_written(tmp_path, library):
    inputs = [FIXTURES / "posts", FIXTURES / "captions.csv"]
    settings = ScanSettings(asr_backend="none", read_media=False, cwd=os.getcwd())
    formats = ["json", "csv", "md", "junit"]
    outcome = scan_batch(inputs, library, settings, tmp_path / "batch", formats, {"formats": formats}, jobs=2)
    assert [p.name for p in outcome.written] == ["report.json", "report.csv", "report.md", "report.junit.xml"]
    whole = scan(inputs, library, options={"formats": formats}, read_media=False)
    write_reports(whole, tmp_path / "whole", formats, library=library)
    assert report_without_time(tmp_path / "batch") == report_without_time(tmp_path / "whole")
    for name in ("report.csv", "report.md", "report.junit.xml"):
        batch, whole_text = ((folder / name).read_text().replace(report.generated_at, "T")
                             for folder, report in ((tmp_path / "batch", read(tmp_path / "batch")),
                                                    (tmp_path / "whole", whole)))
        assert batch == whole_text, name
    assert outcome.total == len(whole.items) and outcome.summary == whole.summary
    assert not [p for p in (tmp_path / "batch").iterdir() if p.name.startswith(".")], "temporary files left"


def test_a_changed_caption_rechecks_only_that_post(tmp_path, library):
    batch = tmp_path / "batch"
    batch.mkdir()
    for number in range(6):
        manifest = f"regions: [GB]\ncaption: '#ad post {number}'\nrelationship: paid\n"
        (batch / f"p{number}.post.yaml").write_text(manifest)
    settings = ScanSettings(asr_backend="none", read_media=False, cwd=str(tmp_path))
    first = scan_batch([batch], library, settings, tmp_path / "out", ["json"], {}, jobs=2)
    assert first.reused == 0 and first.summary == {"pass": 6}
    (batch / "p3.post.yaml").write_text("regions: [GB]\ncaption: 'post 3, label forgotten'\nrelationship: paid\n")
    second = scan_batch([batch], library, settings, tmp_path / "out", ["json"], {}, jobs=2)
    assert second.reused == 5 and second.summary == {"fail": 1, "pass": 5}
    other = ScanSettings(regions=("DE",), asr_backend="none", read_media=False, cwd=str(tmp_path))
    assert scan_batch([batch], library, other, tmp_path / "out", ["json"], {}, jobs=2).reused == 0  # new settings


def journal_records(path: Path) -> int:
    """The whole records in a journal being written: a record's meta line can be on disk before its
    body (buffered writes), and a record torn by the kill is not one the resumed scan can reuse."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    count, at = 0, data.find(b'\n{"key": ')
    while at >= 0:
        end = data.find(b"\n", at + 1)
        if end < 0:
            break
        size = json.loads(data[at + 1:end])["bytes"]
        if len(data) < end + 1 + size + 1:
            break
        count, at = count + 1, data.find(b'\n{"key": ', end + 1 + size)
    return count


@pytest.mark.server  # a real scan process and its worker pool, SIGKILLed: not in `make test-fast`
def test_a_scan_killed_with_sigkill_resumes_and_reports_as_if_never_stopped(tmp_path):
    posts = captions_csv(tmp_path / "posts.csv", 1200)
    env = {**os.environ, "COMPLIANCEGUARD_CACHE": str(tmp_path / "cache")}

    def command(out: str) -> list[str]:
        return [sys.executable, "-m", "complianceguard", "scan", str(posts), "--out", str(tmp_path / out),
                "--format", "json,csv", "--jobs", "2", "--quiet"]

    whole = subprocess.run(command("whole"), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert whole.returncode == 1, whole.stderr

    scan_process = subprocess.Popen(command("resumed"), cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
    journal = tmp_path / "resumed" / JOURNAL_NAME
    deadline = time.monotonic() + 300
    while journal_records(journal) < 100 and scan_process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = psutil.Process(scan_process.pid).children()
    done_before = journal_records(journal)
    scan_process.send_signal(signal.SIGKILL)
    scan_process.wait()
    assert 100 <= done_before < 1200, "the kill did not land mid-batch"
    assert not (tmp_path / "resumed" / "report.json").exists()
    assert len(workers) == 2
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, "workers outlived the killed scan"

    resumed = subprocess.run(command("resumed"), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 1, resumed.stderr
    reused = int(resumed.stdout.split("(")[1].split()[0])  # "1200 posts: ... (N unchanged since the last run ...)"
    assert reused >= done_before
    assert report_without_time(tmp_path / "resumed") == report_without_time(tmp_path / "whole")
    assert (tmp_path / "resumed" / "report.csv").read_text() == (tmp_path / "whole" / "report.csv").read_text()


def result(key: str, verdict: str = "pass", retry: bool = False) -> UnitResult:
    return UnitResult(key=key, label=f"label-{key}", verdict=verdict, item_json=json.dumps({"id": key}, indent=2),
                      line=f"{verdict} {key}", packs=["gb-asa@1.0.0"], retry=retry)


def test_journal_keeps_whole_records_cuts_a_torn_tail_and_starts_over_for_other_settings(tmp_path):
    with Journal(tmp_path, "fingerprint-1") as journal:
        for key in ("a", "b", "c"):
            journal.append(result(key))
        journal.append(result("slow", "error", retry=True))
    path = tmp_path / JOURNAL_NAME
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"key": "d", "label": "half a rec')  # a write cut short by SIGKILL
    with Journal(tmp_path, "fingerprint-1") as journal:
        assert set(journal.entries) == {"a", "b", "c"}  # the time-out is checked again, not reused
        assert journal.get("b").item_json == result("b").item_json and journal.get("b").packs == ["gb-asa@1.0.0"]
        assert path.read_bytes() == whole  # the torn tail is cut before anything is appended
        journal.append(result("d"))
    damaged = bytearray(path.read_bytes())
    damaged[damaged.rindex(b'"id"') + 1] ^= 1  # flip a bit inside d's item: its CRC no longer matches
    path.write_bytes(bytes(damaged))
    with Journal(tmp_path, "fingerprint-1") as journal:
        assert set(journal.entries) == {"a", "b", "c"}
    with Journal(tmp_path, "fingerprint-2") as journal:  # other packs, options or version
        assert journal.entries == {}
    with Journal(tmp_path, "fingerprint-2"), pytest.raises(Exception, match="another scan is writing"):
        Journal(tmp_path, "fingerprint-2").open()


def test_cache_key_is_input_settings_and_versions_and_bad_entries_are_recomputed(tmp_path):
    key = cache_key("ocr", "ab" * 32, {"fps": 1, "languages": "eng"}, {"rapidocr": "1.4.4"})
    assert key == cache_key("ocr", "ab" * 32, {"languages": "eng", "fps": 1}, {"rapidocr": "1.4.4"})  # order-free
    assert len({key, cache_key("ocr", "cd" * 32, {"fps": 1, "languages": "eng"}, {"rapidocr": "1.4.4"}),
                cache_key("ocr", "ab" * 32, {"fps": 2, "languages": "eng"}, {"rapidocr": "1.4.4"}),
                cache_key("ocr", "ab" * 32, {"fps": 1, "languages": "eng"}, {"rapidocr": "1.4.5"}),
                cache_key("transcript", "ab" * 32, {"fps": 1, "languages": "eng"}, {"rapidocr": "1.4.4"})}) == 5
    cache = Cache(tmp_path)
    calls = []

    def compute() -> dict:
        calls.append(1)
        return {"text": "#ad"}

    args = ("ocr", "ab" * 32, {"fps": 1}, {"v": "1"}, compute, json.dumps, json.loads)
    assert cache.cached(*args) == cache.cached(*args) == {"text": "#ad"} and len(calls) == 1
    assert (cache.hits, cache.misses) == (1, 1)
    entry = cache.path("ocr", cache_key("ocr", "ab" * 32, {"fps": 1}, {"v": "1"}))
    entry.write_text("{not json")
    assert cache.cached(*args) == {"text": "#ad"} and len(calls) == 2
    assert json.loads(cache.get("ocr", entry.name))  # replaced by a good (sealed) entry
    assert not [p for p in entry.parent.iterdir() if p.name.startswith(".tmp")]


@pytest.mark.media
def test_a_rescan_of_unchanged_media_does_no_ocr_or_asr(tmp_path, library, monkeypatch):
    from complianceguard.cache import default_cache
    from complianceguard.extract.speech import FasterWhisperTranscriber

    monkeypatch.setenv("COMPLIANCEGUARD_CACHE", str(tmp_path / "cache"))
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "clip.mp4").write_bytes((FIXTURES / "media" / "spoken-denial.mp4").read_bytes())
    (batch / "clip.post.yaml").write_text("regions: [US]\ncaption: 'Morning routine'\nmedia: [clip.mp4]\n"
                                          "relationship: paid\n")
    transcriber = FasterWhisperTranscriber()
    calls = []
    real = transcriber.transcribe
    transcriber.transcribe = lambda audio, *args, **kwargs: calls.append(audio) or real(audio, *args, **kwargs)
    cache = default_cache()

    cold = scan([batch], library, transcriber=transcriber)
    misses = cache.misses
    assert len(calls) == 1 and misses >= 2  # speech and on-screen text were worked out and stored
    warm = scan([batch], library, transcriber=transcriber)
    assert len(calls) == 1 and cache.misses == misses  # neither read again
    assert warm.items == cold.items

    (batch / "clip.post.yaml").write_text("regions: [US]\ncaption: '#ad Morning routine'\nmedia: [clip.mp4]\n"
                                          "relationship: paid\n")
    changed = scan([batch], library, transcriber=transcriber)
    assert len(calls) == 1 and cache.misses == misses  # a new caption re-checks the caption only
    assert changed.items[0].caption == "#ad Morning routine"


def test_progress_bar_shows_done_failures_and_errors_only_on_a_terminal():
    from rich.console import Console

    assert not Progress(10, enabled=True, console=Console(file=io.StringIO(), force_terminal=False)).shown
    assert not Progress(10, enabled=False).shown
    screen = io.StringIO()
    bar = Progress(10, enabled=True, done=2, console=Console(file=screen, force_terminal=True, width=120))
    for verdict in ("pass", "fail", "error"):
        bar.advance(verdict)
    bar.close()
    last = screen.getvalue().split("\r")[-1]
    assert "5/10" in last and "1 fail" in last and "1 error" in last and "ETA" in last
