"""Speech: real transcription (faster-whisper, tiny.en from the models wheel) of generated clips."""

from __future__ import annotations

import json
import os

import pytest

from complianceguard.analyze import Analyzer
from complianceguard.engine import Engine
from complianceguard.extract import extract, read_media
from complianceguard.extract.speech import FasterWhisperTranscriber, cached_transcribe
from complianceguard.model import Segment, Submission, TimeSpan
from complianceguard.scan import scan
from conftest import FIXTURES

MEDIA = FIXTURES / "media"

pytestmark = pytest.mark.media  # real transcription with the Whisper model (ffmpeg, the models wheel)


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("COMPLIANCEGUARD_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def transcriber(library):
    """As the scan builds it: listening for the packs' spoken labels and denials (packs.plan)."""
    from complianceguard.packs.plan import spoken_denials, spoken_keywords

    return FasterWhisperTranscriber(spoken=spoken_keywords(library), denials=spoken_denials(library))


@pytest.fixture(scope="module")
def speech_engine(library, transcriber):
    return Engine(library, read_media=True, transcriber=transcriber)


def video_post(name: str, caption: str = "#ad My morning routine", **fields) -> Submission:
    fields.setdefault("relationship", "paid")
    return Submission(id=name, regions=["US"], caption=caption, media=[str(MEDIA / f"{name}.mp4")], **fields)


def speech_mentions(engine: Engine, post: Submission):
    item = engine.evaluate(post)
    return item, [m for m in item.mentions if m.channel == "speech"]


@pytest.mark.parametrize("name", [p.stem.removesuffix(".truth") for p in sorted(MEDIA.glob("*.truth.json"))])
def test_spoken_disclosures_are_heard_and_nothing_else_is_called_one(speech_engine, name):
    truth = json.loads((MEDIA / f"{name}.truth.json").read_text())
    item, mentions = speech_mentions(speech_engine, video_post(name))
    labels = [m for m in mentions if m.kind == "label" and not m.negated]
    said = [s for s in truth["speech"] if s["kind"] == "disclosure"]
    assert bool(labels) == bool(said), (name, [(m.kind, m.text) for m in mentions])
    for line in said:  # heard where it was said (within a second)
        assert any(abs(m.time.start_s - line["start_s"]) < 1.0 for m in labels), (line, labels)


def test_us_spoken_disclosure_at_the_start_passes_and_late_fails_with_the_transcript_line(speech_engine):
    start, _ = speech_mentions(speech_engine, video_post("spoken-disclosure-start"))
    not_passed = {f.rule: f.status for f in start.regions["US"].findings if f.status not in ("pass", "not-applicable")}
    # Said at the start, so every timing rule passes; only US115 warns: said, never shown (R-A:59).
    assert not_passed == {"US115": "warn"}, not_passed
    late, _ = speech_mentions(speech_engine, video_post("spoken-disclosure-late"))
    finding = next(f for f in late.regions["US"].findings if f.check == "video-timing")
    # US108's 15-s window is our reading, so a late spoken disclosure warns (audit US-5).
    assert finding.status == "warn" and "50" in finding.message
    evidence = finding.evidence[0]
    assert evidence.channel == "speech" and 49.0 < evidence.time.start_s < 51.5
    assert "sponsored by" in evidence.context.lower()  # the transcript line it was heard in


def test_denial_spoken_in_a_video_is_a_false_denial(speech_engine):
    item, mentions = speech_mentions(speech_engine, video_post("spoken-denial"))
    assert [m.kind for m in mentions] == ["denial"]


def test_video_without_audio_is_known_to_say_nothing(speech_engine):
    item, _ = speech_mentions(speech_engine, video_post("no-audio-track", caption="My morning routine"))
    coverage = [c for f in item.regions["US"].findings for c in f.coverage if c.channel == "speech"]
    assert coverage and coverage[0].read and "no audio track (nothing is said)" in coverage[0].detail


def test_non_english_content_is_not_run_through_the_english_only_model(library, transcriber):
    """Without a multilingual model the audio's language cannot be told: the caption's is the hint."""
    english_only = FasterWhisperTranscriber(spoken=transcriber.spoken, multilingual=False)
    post = video_post("spoken-disclosure-start", caption="Werbung | Meine Morgenroutine", language="de")
    extraction = read_media(post, extract(post), "de", english_only)
    assert not [s for s in extraction.segments if s.channel == "speech"]
    assert "English-only" in extraction.coverage["speech"].detail and not extraction.coverage["speech"].read


def test_bad_media_is_one_error_item_and_the_batch_goes_on(tmp_path, library, transcriber):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "fake.mp4").write_text("this is not a video")
    (tmp_path / "ok.mp4").write_bytes((MEDIA / "casual-talk.mp4").read_bytes())
    for name in ("empty", "fake", "ok"):
        (tmp_path / f"{name}.post.yaml").write_text(
            f"regions: [US]\ncaption: '#ad hi'\nrelationship: paid\nmedia: [{name}.mp4]\n")
    report = scan([tmp_path], library, transcriber=transcriber)
    by_id = {item.id: item for item in report.items}
    assert "empty (0 bytes)" in by_id["empty"].errors[0] and "empty.mp4" in by_id["empty"].errors[0]
    assert "not a readable" in by_id["fake"].errors[0]
    assert by_id["ok"].verdict != "error" and by_id["ok"].regions["US"].findings


def test_transcripts_are_cached_by_audio_and_settings(tmp_path, transcriber):
    from complianceguard.extract.media import extract_audio

    audio = extract_audio(MEDIA / "casual-talk.mp4", tmp_path / "a.wav")
    first = cached_transcribe(transcriber, audio)
    calls = []
    original = transcriber.transcribe
    transcriber.transcribe = lambda path: calls.append(path) or original(path)
    try:
        assert cached_transcribe(transcriber, audio) == first and not calls
    finally:
        del transcriber.transcribe


def test_asr_misspellings_match_fuzzily_with_the_score_as_confidence(library):
    au = library.for_region("AU")
    post = Submission(id="t", regions=["AU"], caption="")
    heard = Segment(id="s", channel="speech", text="Paint partnership with low skincare.", confidence=1.0,
                    time=TimeSpan(start_s=0, end_s=3))
    mentions = Analyzer([au]).mentions([heard], au, "en", post)
    label = next(m for m in mentions if m.kind == "label")
    assert label.text == "Paint partnership" and 0.85 <= label.confidence < 1.0
    casual = Segment(id="c", channel="speech", text="Today we paint the partition wall.", confidence=1.0)
    assert not [m for m in Analyzer([au]).mentions([casual], au, "en", post) if m.kind == "label"]


def test_a_spoken_sponsor_read_without_a_disclosure_near_it_fails(speech_engine):
    item, mentions = speech_mentions(speech_engine, video_post("sponsor-read-undisclosed"))
    finding = next(f for f in item.regions["US"].findings if f.check == "sponsor-read-disclosed")
    assert finding.status == "fail" and "Sponsor read at" in finding.message
    assert finding.evidence[0].channel == "speech" and finding.evidence[0].time is not None
    disclosed, _ = speech_mentions(speech_engine, video_post("spoken-disclosure-start"))
    assert {f.status for f in disclosed.regions["US"].findings if f.check == "sponsor-read-disclosed"} <= {
        "pass", "not-applicable"}


def _truth_line(name: str, kind: str) -> dict:
    return next(s for s in json.loads((MEDIA / f"{name}.truth.json").read_text())["speech"] if s["kind"] == kind)


def test_a_misheard_disclosure_is_verified_by_rescoring_against_its_audio(tmp_path, transcriber):
    """The fixture says "This video is sponsored by Glow Skincare."; given the mishearing tiny.en makes of
    espeak-ng elsewhere ("sponsored" -> "answered"), rescoring against the real audio finds the disclosure
    reading, at the line's time, as its own kind of evidence; the heard words never change."""
    from faster_whisper.audio import decode_audio

    from complianceguard.extract.keyword_verify import MARGIN_NATS, KeywordVerifier
    from complianceguard.extract.media import extract_audio
    from complianceguard.extract.speech import VERIFIED_PER_LANGUAGE, _faster_whisper_model

    samples = decode_audio(str(extract_audio(MEDIA / "spoken-disclosure-start.mp4", tmp_path / "a.wav")), 16000)
    model = _faster_whisper_model(str(transcriber.model_path), "int8", 1, os.getpid())
    verifier = KeywordVerifier(model, transcriber.keywords("en")[:VERIFIED_PER_LANGUAGE], "en", transcriber.hotwords)
    line = _truth_line("spoken-disclosure-start", "disclosure")
    misheard = [(" " + w, 0.9) for w in line["text"].replace("sponsored", "answered").split()]
    reading = verifier.verify(samples, line["start_s"], line["end_s"], misheard)
    assert reading is not None and "sponsored" in reading.text.lower(), reading
    assert "answered" in reading.heard and abs(reading.start_s - line["start_s"]) < 1.0
    assert reading.reading_logprob >= reading.heard_logprob - MARGIN_NATS and 0 < reading.share < 1
    assert reading.note.startswith("verified by rescoring")
    # What was said plainly is not rescored, and a casual line has no disclosure reading close to it.
    said = [(" " + w, 0.9) for w in line["text"].split()]
    assert verifier.verify(samples, line["start_s"], line["end_s"], said) is None
    casual = _truth_line("spoken-disclosure-start", "casual")
    unsure = [(" " + w, 0.3) for w in casual["text"].split()]  # every word a proposal site
    assert verifier.verify(samples, casual["start_s"], casual["end_s"], unsure) is None


@pytest.mark.parametrize("name", ["casual-talk", "sponsor-read-undisclosed", "silence"])
def test_speech_without_a_disclosure_gets_no_reading_verified_by_rescoring(tmp_path, transcriber, name):
    from complianceguard.extract.media import extract_audio

    transcript = transcriber.transcribe(extract_audio(MEDIA / f"{name}.mp4", tmp_path / "a.wav"))
    assert transcript.verified == [], transcript.verified


def test_verified_readings_survive_the_transcript_cache_and_change_its_key(transcriber):
    from complianceguard.extract.keyword_verify import VerifiedReading
    from complianceguard.extract.speech import Transcript, _transcript_key

    reading = VerifiedReading(0.5, 3.2, "this video is answered", "this video is sponsored.", "sponsored", -1.85, -2.79)
    transcript = Transcript("faster-whisper", "tiny.en", "en", [], [reading])
    assert Transcript.from_json(transcript.to_json()) == transcript
    assert round(reading.share, 2) == 0.28
    plain = FasterWhisperTranscriber(spoken=transcriber.spoken, verify_keywords=False)
    assert _transcript_key(plain)[0] != _transcript_key(transcriber)[0]


def test_a_disclosure_only_possibly_said_neither_passes_nor_fails_the_spoken_rules(engine):
    """A reading verified by rescoring is a tentative segment: the US spoken-at-start rule (US108)
    becomes inconclusive, points at where to listen and quotes what Whisper wrote; a line that was
    heard passes, and with no reading at all the rule fails."""
    from dataclasses import replace as swap

    from complianceguard.extract import described

    post = Submission(id="t", regions=["US"], caption="#ad my week", relationship="paid", platform="youtube")
    heard = described(post, "video", 60, [], [("hi everyone welcome back", 0.0, 2.0)])
    note = ("verified by rescoring: Whisper wrote 'this video is answered'; the reading 'this video is sponsored.' "
            "scores -2.79 vs -1.85 (log-probability, same audio)")
    possible = Segment(id="speech:1:rescored:1", channel="speech", text="this video is sponsored.", media="described",
                       time=TimeSpan(start_s=2.0, end_s=4.0), confidence=0.28, tentative=note)
    tentative = swap(heard, segments=[*heard.segments, possible])

    def us108(extraction):
        return next(f for f in engine.evaluate(post, extraction).regions["US"].findings if f.rule == "US108")

    assert us108(heard).status == "warn"  # US108 is a warning since the US-5 audit fix (its 15 s are our reading)
    result = us108(tentative)
    assert result.status == "inconclusive", result
    assert "Possibly said: 'sponsored' at 2.0 s" in result.message and "listen to confirm" in result.message
    assert any(e.kind == "possible label" and e.reason == note for e in result.evidence)
    said = swap(heard, segments=[*heard.segments, possible.model_copy(update={"tentative": None})])
    assert us108(said).status == "pass"


def test_a_worker_forked_after_this_process_transcribed_still_transcribes(tmp_path, transcriber):
    """Batch workers are forked from a process that may have used the model already (a CTranslate2
    model used before a fork hangs in the child): each process loads its own."""
    from complianceguard.batch.pool import Failure, WorkerPool
    from complianceguard.extract.media import extract_audio

    audio = extract_audio(MEDIA / "spoken-disclosure-start.mp4", tmp_path / "a.wav")
    heard_here = [s.text for s in transcriber.transcribe(audio).segments]
    answers: dict[int, object] = {}
    with WorkerPool(1, lambda path: [s.text for s in transcriber.transcribe(path).segments], timeout_s=60) as pool:
        pool.run([(0, audio)], answers.__setitem__)
    assert not isinstance(answers[0], Failure), answers[0]
    assert answers[0] == heard_here


def test_the_compute_type_follows_the_kernels_ctranslate2_runs(monkeypatch):
    """int8 on MKL's kernels, float32 on CTranslate2's own (AMD): there its int8 kernels lost the
    synthetic voices' labels. CT2_USE_MKL, CTranslate2's own switch, decides where it is set."""
    from complianceguard.extract.speech import FasterWhisperTranscriber, default_compute_type

    monkeypatch.setenv("CT2_USE_MKL", "1")
    assert default_compute_type() == "int8"
    monkeypatch.setenv("CT2_USE_MKL", "0")
    assert default_compute_type() == "float32"
    assert FasterWhisperTranscriber().compute_type == "float32"
    assert FasterWhisperTranscriber(compute_type="int8").compute_type == "int8"  # asked for: kept
