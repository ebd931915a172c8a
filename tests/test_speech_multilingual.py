"""Speech in the packs' languages: the shipped multilingual Whisper base, the language told from the
audio, and the packs' spoken labels steering and double-checking what is heard."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from complianceguard.analyze import ADVERTISER
from complianceguard.engine import Engine
from complianceguard.extract import extract, read_media, speech_segments
from complianceguard.extract import models as shipped
from complianceguard.extract import speech
from complianceguard.extract.keyword_verify import VerifiedReading, has_keyword, proposal_sites, sound_key
from complianceguard.extract.speech import FasterWhisperTranscriber, choose_language
from complianceguard.model import Submission
from complianceguard.packs.plan import spoken_denials, spoken_form, spoken_keywords
from conftest import FIXTURES

LANGUAGES = FIXTURES / "media" / "languages"
media = pytest.mark.media


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("COMPLIANCEGUARD_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def spoken(library):
    return spoken_keywords(library)


@pytest.fixture(scope="module")
def transcriber(spoken, library):
    """As the scan builds it: the packs' spoken labels and denials (cli.py, batch/work.py)."""
    return FasterWhisperTranscriber(spoken=spoken, denials=spoken_denials(library))


def _truth(name: str) -> dict:
    return json.loads((LANGUAGES / f"{name}.truth.json").read_text("utf-8"))


def de_post(name: str, caption: str = "Meine neue Morgenroutine mit dem Serum", **fields) -> Submission:
    fields.setdefault("relationship", "paid")
    fields.setdefault("platform", "youtube")
    return Submission(id=name, regions=["DE"], caption=caption, media=[str(LANGUAGES / f"{name}.mp4")], **fields)


# ------------------------------------------------------------------ spoken labels from the packs


def test_spoken_keywords_are_the_packs_labels_as_said_per_language(spoken, library):
    de = library.for_region("DE").pack.vocabulary["de"].labels
    # A label naming the advertiser ("unterstützt durch {advertiser}") is its words and a name: not a keyword.
    assert spoken["de"][:2] == ("Werbung", "Anzeige") and {t for t in de if ADVERTISER not in t} <= set(spoken["de"])
    assert any(ADVERTISER in t for t in de) and not any(ADVERTISER in t for t in spoken["de"])
    assert "an ad" in spoken["en"] and "ad" not in spoken["en"]  # "#ad" / "ad" are said "an ad"
    assert spoken_form("#pub") == "pub" and spoken_form("#*partner") is None
    assert spoken_form("#Ad", {"ad": "an ad"}) == "an ad"
    assert {"ja", "ko", "zh", "pl", "sv", "da", "no", "fi", "cs", "nl", "pt", "es", "it", "fr"} <= set(spoken)
    assert len({k.casefold() for k in spoken["it"]}) == len(spoken["it"])  # "pubblicità" / "pubblicita" once


def test_extract_holds_no_disclosure_words_of_its_own():
    """The extractors get their words from the packs: none are written into extract/."""
    folder = Path(speech.__file__).parent
    words = {"sponsored", "paid partnership", "an ad", "advertisement", "werbung", "publicité"}
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
                      and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        strings = {node.value.casefold() for node in ast.walk(tree) if isinstance(node, ast.Constant)
                   and isinstance(node.value, str) and id(node) not in docstrings}
        assert not strings & words, (path.name, strings & words)


def test_keywords_match_in_every_script():
    assert has_keyword("Dieses Video enthält Werbung!", ["Werbung"])
    assert has_keyword("Cette vidéo contient de la PUBLICITE.", ["publicité"])  # case and accents
    assert has_keyword("この動画は広告です", ["広告"]) and has_keyword("이 영상은 광고입니다", ["광고"])
    assert not has_keyword("Hoy por la mañana", ["patrocinado por"])  # "por" is not the label
    assert not has_keyword("Dieses Video enthält mehr", ["Werbung"])
    assert sound_key("Mehrung") and proposal_sites([(" Dieses", 0.9), (" Video", 0.9), (" Mehrung", 0.9)],
                                                   ["Werbung"]) == [(2, "Werbung")]


def test_a_label_heard_without_the_prompt_may_be_split_or_respelt_but_must_sound_alike():
    from complianceguard.extract.keyword_verify import sounds_like_keyword

    czech = ("reklama", "placená spolupráce")
    assert sounds_like_keyword("Rekla má.", "Reklama.", czech)  # measured: espeak-ng Czech without the prompt
    assert sounds_like_keyword("Plácena spolu práce", "placená spolupráce", czech)
    german = ("Werbung", "bezahlte Werbepartnerschaft")
    assert not sounds_like_keyword("und die Runde.", "Werbepartnerschaft", german)  # a prompt echo
    assert not sounds_like_keyword("Rekla má.", "Heute zeige ich", czech)  # only keywords the heard text has


def test_a_segment_that_only_writes_out_the_hotwords_is_not_evidence():
    hotwords = "Werbung, Anzeige, Werbevideo, bezahlte Werbepartnerschaft"
    assert speech.echoes_prompt("Werbevideo, bezahlte Werbepartnerschaft", hotwords)
    assert not speech.echoes_prompt("Werbung, heute zeige ich euch meine Morgenroutine.", hotwords)
    assert not speech.echoes_prompt("Werbung.", hotwords) and not speech.echoes_prompt("Werbung", None)


def test_the_language_is_chosen_among_the_packs_languages_and_unlikely_ones_stay_unknown():
    candidates = {"de", "sv", "en"}
    assert choose_language({"th": 0.6, "de": 0.3, "en": 0.1}, candidates) == ("de", 0.3)
    assert choose_language({"th": 0.96, "sv": 0.01}, candidates) == (None, 0.01)
    # English goes to the English-only model only when it is clearly English.
    assert choose_language({"th": 0.6, "en": 0.15, "de": 0.05}, candidates) == ("de", 0.05)
    assert choose_language({"th": 0.6, "en": 0.15, "de": 0.01}, candidates) == (None, 0.15)
    assert choose_language({"en": 0.66, "de": 0.2}, candidates) == ("en", 0.66)
    assert choose_language({"nn": 0.7}, {"no"}) == ("no", 0.7)  # Whisper's Nynorsk is Norwegian
    assert choose_language({"th": 0.9}, None) == ("th", 0.9)


def test_the_regions_expected_languages_are_preferred_and_a_sure_language_still_wins():
    candidates = {"de", "sv", "nl", "en"}
    # espeak-ng Swedish, as measured: English first, Swedish nearly nowhere. A Swedish post's speech
    # is decoded as Swedish (the language assumed, and said so), not sent to the English-only model.
    measured = {"en": 0.524, "th": 0.181, "de": 0.034, "sv": 0.002}
    assert choose_language(measured, candidates) == ("en", 0.524)
    assert choose_language(measured, candidates, {"sv"}) == ("sv", 0.002)
    # A language Whisper is sure of is taken where it is not expected (German speech in a GB post) ...
    assert choose_language({"de": 0.9, "en": 0.05}, candidates, {"en"}) == ("de", 0.9)
    assert choose_language({"en": 0.95, "sv": 0.01}, candidates, {"sv"}) == ("en", 0.95)
    # ... English needs to be clearly English even where expected (NL lists nl and en).
    assert choose_language({"en": 0.227, "de": 0.221, "nl": 0.026}, candidates, {"nl", "en"}) == ("nl", 0.026)
    assert choose_language({"th": 0.9}, candidates, {"nl"}) == ("nl", 0.0)
    assert choose_language({"nn": 0.01}, candidates | {"no"}, {"no"}) == ("no", 0.01)


def test_the_transcript_says_whether_its_language_was_detected_or_assumed():
    def transcript(probability):
        return speech.Transcript("faster-whisper", "base", "sv", [], [], probability)

    assert transcript(None).language_note is None  # given by the caller
    assert transcript(0.42).language_note == "detected from the audio (p=0.42)"
    assert "assumed from the regions' packs" in transcript(0.002).language_note
    again = speech.Transcript.from_json(speech.Transcript("faster-whisper", "base", "sv", [], [], 0.5, None,
                                                          7200.0).to_json())
    assert again.seconds_read == 7200.0


def test_a_misheard_early_disclosure_is_rescored_even_when_a_later_one_was_heard(monkeypatch):
    """Timing rules need the first disclosure: a later one heard must not stop the search before it
    (and the segments between two heard ones are not searched: they change no time)."""
    searched = []

    class Verifier:
        def __init__(self, model, keywords, language, hotwords):
            assert keywords == ("Werbung",) and language == "de"

        def verify(self, samples, start, end, words):
            searched.append(start)
            return VerifiedReading(start, end, "Mehrung", "Werbung", "Werbung", -2.0, -2.5) if start == 0.5 else None

    monkeypatch.setattr(speech, "KeywordVerifier", Verifier)

    def segment(start, text):
        return SimpleNamespace(start=start, end=start + 2, text=text, avg_logprob=-0.3, no_speech_prob=0.01,
                               compression_ratio=1.1, words=[SimpleNamespace(word=" " + w, probability=0.9)
                                                             for w in text.split()])

    decoded = [segment(0.5, "Mehrung."), segment(5.0, "Heute zeige ich euch."), segment(20.0, "Werbung."),
               segment(30.0, "Noch mehr Text."), segment(40.0, "Werbung!"), segment(50.0, "Tschüss.")]
    readings = FasterWhisperTranscriber._verify(None, None, decoded, ("Werbung",), "de", None)
    assert [r.start_s for r in readings] == [0.5]
    assert searched == [0.5, 5.0, 50.0]


def _fw_segment(start, words, text=None):
    """A faster-whisper segment of (start, end, word) triples, as the model returns it."""
    from faster_whisper.transcribe import Segment, Word

    found = [Word(a, b, w, 0.9) for a, b, w in words]
    return Segment(0, 0, start, words[-1][1], text or "".join(w for _, _, w in words), [], -0.3, 1.1, 0.01,
                   found, 0.0)


def test_a_whisper_segment_is_judged_one_sentence_at_a_time():
    """One Whisper segment can hold several sentences: each becomes its own, with its own words and
    time and the segment's quality, so a check of one sentence's audio sees only that sentence."""
    segment = _fw_segment(7.6, [(7.6, 8.0, " Daher"), (8.0, 9.7, " gehen."), (11.0, 11.9, " Werbung,"),
                                (13.2, 14.0, " bezahlte"), (14.0, 14.9, " Werbepartnerschaft")])
    pieces = speech.decoded_sentences([segment])
    assert [(p.start, p.end, p.text) for p in pieces] == [
        (7.6, 9.7, " Daher gehen."), (11.0, 11.9, " Werbung,"), (13.2, 14.9, " bezahlte Werbepartnerschaft")]
    assert all(p.avg_logprob == -0.3 and p.no_speech_prob == 0.01 for p in pieces)
    assert [len(p.words) for p in pieces] == [2, 1, 2]
    single = _fw_segment(0.5, [(0.5, 0.9, " Werbung.")])
    assert speech.decoded_sentences([single]) == [single]  # one sentence: the segment as it is


def test_a_hotword_echo_is_found_even_in_a_segment_where_a_label_was_truly_said(monkeypatch):
    """Measured (German, espeak-ng): "Werbung." said, then casual talk decoded under the hotwords as
    "bezahlte Werbepartnerschaft", in one Whisper segment. Judged whole, the true "Werbung" made the
    segment stand; judged by sentence, the echo is replaced by the unprompted reading (and not kept
    as possibly said: it scores far below that reading)."""
    checked = []

    class Verifier:
        def __init__(self, model, keywords, language, hotwords):
            assert hotwords is None  # the echo check listens without the prompt

        def unprompted(self, samples, start, end, text):
            checked.append((start, text.strip()))
            return ("Bis bald.", -84.3, -38.9) if "Werbepartnerschaft" in text else None

    monkeypatch.setattr(speech, "KeywordVerifier", Verifier)
    segment = _fw_segment(11.0, [(11.0, 11.9, " Werbung,"), (13.2, 14.0, " bezahlte"),
                                 (14.0, 14.9, " Werbepartnerschaft")])
    transcriber = FasterWhisperTranscriber.__new__(FasterWhisperTranscriber)
    transcriber.verify_keywords = True
    kept = transcriber._without_prompt_echoes(
        None, None, speech.decoded_sentences([segment]), ("Werbung", "bezahlte Werbepartnerschaft"), "de",
        "Werbung, bezahlte Werbepartnerschaft")
    assert checked == [(11.0, "Werbung,"), (13.2, "bezahlte Werbepartnerschaft")]
    assert [k.text.strip() for k in kept] == ["Werbung,", "Bis bald."]


# ------------------------------------------------------------------ the shipped multilingual model


@media
def test_base_is_assembled_once_from_its_wheels_and_checked(tmp_path):
    assert shipped.base_installed()
    folder = shipped.assemble_base(tmp_path)
    assert shipped._sha256(folder / "model.bin") == shipped.BASE_SHA256
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name]  # no temporary folder left
    stamp = (folder / "model.bin").stat().st_mtime_ns
    assert shipped.assemble_base(tmp_path) == folder and (folder / "model.bin").stat().st_mtime_ns == stamp
    (folder / "model.bin").write_bytes(b"damaged")  # a damaged copy is rebuilt, never used
    assert shipped.assemble_base(tmp_path) == folder
    assert (folder / "model.bin").stat().st_size == shipped.BASE_SIZE


def test_a_changed_part_is_refused(tmp_path, monkeypatch):
    part = tmp_path / "model.bin.part1"
    part.write_bytes(b"not the model")
    monkeypatch.setattr(shipped, "_part_path", lambda package, relative: part)
    with pytest.raises(shipped.ModelError, match="SHA-256"):
        shipped.assemble_base(tmp_path / "cache")
    assert not any((tmp_path / "cache").iterdir())  # nothing half-built is left


@media
def test_the_report_header_names_both_models_with_their_hashes(transcriber):
    manifest = speech.model_manifest(transcriber)
    assert manifest[0].startswith("tiny.en sha256:") and len(manifest) == 2
    assert manifest[1].startswith(f"base sha256:{shipped.BASE_SHA256}")


# ------------------------------------------------------------------ German speech, end to end


@pytest.fixture(scope="module")
def engine(library, transcriber):
    return Engine(library, read_media=True, transcriber=transcriber)  # on-screen text is read too (none here)


@media
def test_german_werbung_spoken_first_is_a_spoken_label_with_its_time_and_the_de_rules_use_it(engine):
    """The only disclosure is "Werbung" said in the first second (the caption has no label). The
    label is heard with its time, and the DE rule that counts speech (label present on YouTube,
    DE108) passes on it; DE109 asks for "Werbung" on screen at the start (the sources name an
    overlay for video and a spoken label only for audio, R-E:69-71), so said alone it fails."""
    item = engine.evaluate(de_post("de-werbung-start"))
    said = next(line for line in _truth("de-werbung-start")["speech"] if line["kind"] == "disclosure")
    labels = [m for m in item.mentions if m.channel == "speech" and m.kind == "label" and not m.negated]
    assert labels, [(m.kind, m.text) for m in item.mentions]
    assert labels[0].text.casefold().startswith("werbung") and labels[0].time is not None
    assert abs(labels[0].time.start_s - said["start_s"]) < 1.0, labels[0].time
    speech_read = [c for f in item.regions["DE"].findings for c in f.coverage if c.channel == "speech"]
    assert speech_read and speech_read[0].read and "language de detected from the audio" in speech_read[0].detail
    findings = {f.rule: f for f in item.regions["DE"].findings}
    assert findings["DE108"].status == "pass", findings["DE108"].message
    assert any(e.channel == "speech" and e.time is not None for e in findings["DE108"].evidence)
    assert findings["DE109"].status == "fail" and "on screen" in findings["DE109"].message


@media
def test_the_language_of_speech_is_the_audios_not_the_captions(transcriber):
    """An English caption does not make German speech English: the audio's first speech decides."""
    post = de_post("de-werbung-start", caption="My new morning routine with the serum", language="en")
    extraction = read_media(post, extract(post), "en", transcriber)
    heard = " ".join(s.text for s in extraction.segments if s.channel == "speech")
    assert "werbung" in heard.casefold() and extraction.coverage["speech"].read
    assert "language de detected from the audio" in extraction.coverage["speech"].detail


@media
def test_german_speech_without_a_label_never_passes_the_spoken_rules(engine):
    """No label is said: the spoken rules fail, or are inconclusive where Whisper's own quality
    thresholds reject what base made of the synthetic voice (as it does for this clip)."""
    item = engine.evaluate(de_post("de-casual"))
    assert not [m for m in item.mentions if m.channel == "speech" and m.kind == "label"]
    findings = {f.rule: f for f in item.regions["DE"].findings}
    for rule in ("DE108", "DE109"):
        assert findings[rule].status in ("fail", "inconclusive"), findings[rule].message
        if findings[rule].status == "inconclusive":
            assert "below Whisper's quality thresholds" in findings[rule].message


@media
def test_without_the_multilingual_model_german_speech_stays_not_read(library, spoken):
    english_only = FasterWhisperTranscriber(spoken=spoken, multilingual=False)
    post = de_post("de-werbung-start", caption="Meine Morgenroutine", language="de")
    extraction = read_media(post, extract(post), "de", english_only)
    assert not [s for s in extraction.segments if s.channel == "speech"]
    assert not extraction.coverage["speech"].read and "English-only" in extraction.coverage["speech"].detail
    # Told the language, a transcriber with no model for it says so instead of guessing.
    transcript = english_only.transcribe(LANGUAGES / "de-werbung-start.mp4", language="de")
    assert transcript.unread and "no installed Whisper model decodes it" in transcript.unread


@media
def test_the_language_detection_and_the_transcription_encode_the_first_window_once(spoken, monkeypatch):
    """The detection listens to the transcription's first window (the same speech, cut the same
    way): base encodes it once, not twice (1.2 s of CPU each on these machines)."""
    import faster_whisper

    encoded, windows = [], []
    model_class = faster_whisper.WhisperModel
    encode, decode = model_class.encode, model_class.generate_with_fallback
    monkeypatch.setattr(model_class, "encode", lambda self, f: encoded.append(1) or encode(self, f))
    monkeypatch.setattr(model_class, "generate_with_fallback", lambda self, *a, **k: windows.append(1) or decode(
        self, *a, **k))
    quiet = FasterWhisperTranscriber(spoken=spoken, verify_keywords=False)  # no rescoring windows
    quiet._model(quiet.multilingual)._encoded.clear()  # nothing kept from the tests before
    transcript = quiet.transcribe(LANGUAGES / "de-werbung-start.mp4", expected=("de",))
    assert transcript.model == "base" and transcript.language == "de" and transcript.segments
    assert windows and len(encoded) == len(windows)  # the detection's encoding is the first window's


@media
def test_english_speech_keeps_the_fast_english_model(transcriber):
    transcript = transcriber.transcribe(FIXTURES / "media" / "spoken-disclosure-start.mp4")
    assert transcript.model == "tiny.en" and transcript.language == "en"
    assert transcript.language_probability is not None
    assert "sponsored" in " ".join(s.text for s in transcript.segments).lower()


@media
def test_base_is_converted_for_openai_whisper_and_that_backend_routes_german_to_it(spoken):
    """The same assembled base weights, converted once (as tiny.en is), load in openai-whisper as a
    multilingual model; the reference backend tells German from the audio too."""
    from complianceguard.extract import whisper_convert
    from complianceguard.extract.speech import OpenAIWhisperTranscriber

    model = whisper_convert.load(shipped.base().path)
    assert model.is_multilingual and model.dims.n_audio_layer == 6 and model.dims.n_vocab == 51865
    transcript = OpenAIWhisperTranscriber(spoken=spoken).transcribe(LANGUAGES / "de-werbung-start.mp4")
    assert transcript.backend == "openai-whisper" and transcript.model == "base" and transcript.language == "de"
    assert transcript.segments and transcript.segments[0].start_s < 1.5


# ------------------------------------------------------------------ long sound in bounded chunks


@media
def test_sound_is_read_in_chunks_cut_in_pauses_and_covers_the_whole_file(monkeypatch):
    from complianceguard.extract.media import read_audio

    monkeypatch.setattr(speech, "CHUNK_S", 6)
    monkeypatch.setattr(speech, "CHUNK_TAIL_S", 3)
    path = FIXTURES / "media" / "spoken-disclosure-start.mp4"
    whole = read_audio(path, 0, 3600)
    chunks = list(speech.audio_chunks(path))
    assert len(chunks) >= 3 and all(len(samples) <= 9 * 16000 for _, samples in chunks)
    assert sum(len(samples) for _, samples in chunks) == pytest.approx(len(whole), abs=16 * len(chunks))
    for (offset, samples), (following, _) in zip(chunks, chunks[1:]):
        assert following == pytest.approx(offset + len(samples) / 16000, abs=1e-6)  # nothing skipped or read twice


@media
def test_a_chunked_transcript_hears_the_same_disclosure_at_the_same_time(monkeypatch, transcriber):
    whole = transcriber.transcribe(FIXTURES / "media" / "spoken-disclosure-start.mp4", expected=("en",))
    monkeypatch.setattr(speech, "CHUNK_S", 8)
    monkeypatch.setattr(speech, "CHUNK_TAIL_S", 4)
    chunked = transcriber.transcribe(FIXTURES / "media" / "spoken-disclosure-start.mp4", expected=("en",))
    first = [s for s in chunked.segments if "sponsored" in s.text.lower()]
    assert first and first[0].start_s == pytest.approx(whole.segments[0].start_s, abs=0.3)
    assert chunked.seconds_read == pytest.approx(whole.seconds_read, abs=0.1) and whole.seconds_read > 19
    # every sentence of the clip is still heard once: the chunk cuts fell in pauses
    from complianceguard.extract.keyword_verify import fold

    assert [fold(s.text) for s in chunked.segments] == [fold(s.text) for s in whole.segments]


@media
def test_a_label_written_only_because_the_hotwords_asked_for_it_is_not_firm(transcriber, spoken):
    """German casual talk decoded under the packs' hotwords came out with "Werbepartnerschaft" in it;
    without the prompt the same audio reads as ordinary words, so the label is only possibly said."""
    transcript = transcriber.transcribe(LANGUAGES / "de-casual.mp4", expected=("de",))
    keywords = spoken["de"]
    assert transcript.segments and not any(has_keyword(s.text, keywords) for s in transcript.segments)
    labelled = transcriber.transcribe(LANGUAGES / "de-werbung-start.mp4", expected=("de",))
    assert has_keyword(labelled.segments[0].text, ("Werbung",))  # a label that is said still stands


# ------------------------------------------------------------------ a denial heard as its label word


def test_the_packs_denials_are_offered_per_language_as_said(library):
    denials = spoken_denials(library)
    assert "není reklama" in denials["cs"] and "keine Werbung" in denials["de"]
    assert "não é publicidade" in denials["pt"]
    said = [d for forms in denials.values() for d in forms]
    assert not [d for d in said if "{" in d or "*" in d or d.startswith("#")]
    assert set(library.for_region("CZ").pack.vocabulary["cs"].denials) - {"#neníreklama"} <= set(denials["cs"])


def test_a_denial_reading_is_only_proposed_where_its_label_was_heard():
    from complianceguard.extract.keyword_verify import denial_readings

    labels, denials = ("reklama", "placená spolupráce", "spolupráce"), ("není reklama", "žádná reklama",
                                                                         "nesponzorováno", "není placená spolupráce")
    readings = dict(denial_readings("lehí reklama,", labels, denials))
    # the misheard negator replaced by the denial's own, or the denial in the label's place alone
    assert readings["není reklama,"] == "není reklama" and readings["lehí není reklama,"] == "není reklama"
    assert "žádná reklama," in readings and not [r for r in readings if "nesponzorováno" in r]
    # a label inside a longer one heard is the longer one: no "placená není placená spolupráce"
    assert dict(denial_readings("placená spolupráce", labels, denials)) == {
        "není placená spolupráce": "není placená spolupráce"}
    assert denial_readings("Potom půjdeme spolu do parku.", labels, denials) == []
    assert dict(denial_readings("广告。", ("广告",), ("不是广告", "无合作"))) == {"不是广告。": "不是广告"}


def test_a_denial_wins_over_its_label_only_when_it_scores_at_least_as_well():
    """The decision itself, with a stand-in for the audio's scores: Czech "není reklama" was written
    "lehí reklama" (bench/speech_languages.py); a plain "reklama" said alone must stay a label."""
    from complianceguard.extract.keyword_verify import denial_over_label

    labels, denials = ("reklama",), ("není reklama", "to není reklama")
    scored = []

    def scores(table):
        def score(text):
            scored.append(text)
            return table.get(text, -50.0)
        return score

    won = denial_over_label("lehí reklama,", labels, denials, scores({"lehí reklama,": -6.0, "není reklama,": -5.5,
                                                                      "to není reklama,": -5.9}))
    assert won is not None and won.text == "není reklama," and won.denial == "není reklama"
    assert (won.heard_logprob, won.reading_logprob) == (-6.0, -5.5)
    tie = denial_over_label("lehí reklama,", labels, denials, scores({"lehí reklama,": -6.0, "není reklama,": -6.0}))
    assert tie is not None and tie.text == "není reklama,"
    assert denial_over_label("reklama.", labels, denials, scores({"reklama.": -1.2, "není reklama.": -4.0,
                                                                 "to není reklama.": -7.0})) is None
    scored.clear()
    assert denial_over_label("Dnes vám ukážu rutinu.", labels, denials, scores({})) is None
    assert scored == []  # no label word heard: nothing is scored, no denial is written


def test_a_label_sentence_beaten_by_a_denial_becomes_the_denial_and_no_longer_counts_as_heard(monkeypatch):
    checked = []

    class Verifier:
        def __init__(self, model, keywords, language, hotwords):
            assert hotwords is None and language == "cs"  # scored without the label-only prompt

        def denial(self, samples, start, end, text, denials):
            checked.append(text.strip())
            assert denials == ("není reklama",)
            from complianceguard.extract.keyword_verify import DenialReading

            return DenialReading(text.strip(), "není reklama,", "není reklama", -6.0, -5.5) if "lehí" in text else None

    monkeypatch.setattr(speech, "KeywordVerifier", Verifier)
    transcriber = FasterWhisperTranscriber.__new__(FasterWhisperTranscriber)
    transcriber.verify_keywords = True
    transcriber.denied = {"cs": ("není reklama",)}
    decoded = [_fw_segment(0.5, [(0.5, 0.9, " reklama.")]),
               _fw_segment(2.0, [(2.0, 2.5, " Dnes"), (2.5, 3.0, " vám.")]),
               _fw_segment(4.0, [(4.0, 4.4, " lehí"), (4.4, 5.0, " reklama,")])]
    kept, denied = transcriber._denials_over_labels(None, None, decoded, ("reklama",), "cs")
    assert checked == ["reklama.", "lehí reklama,"]  # the sentence without a label word is not checked
    assert [k.text.strip() for k in kept] == ["reklama.", "Dnes vám.", "není reklama,"] and denied == {2}
    assert kept[2].words is None and (kept[2].start, kept[2].end) == (4.0, 5.0)
    # a sentence that became a denial is no disclosure heard: the rescoring searches past it
    verified = []

    class Searching(Verifier):
        def verify(self, samples, start, end, words):
            verified.append(start)

    monkeypatch.setattr(speech, "KeywordVerifier", Searching)
    speech.FasterWhisperTranscriber._verify(None, None, kept, ("reklama",), "cs", None, denied)
    assert verified == [2.0]  # between two labels heard nothing would be searched


def test_a_label_only_rescored_is_dropped_where_a_denial_scores_as_well(monkeypatch):
    class Verifier:
        def __init__(self, model, keywords, language, hotwords):
            assert hotwords is None

        def denial(self, samples, start, end, text, denials):
            from complianceguard.extract.keyword_verify import DenialReading

            return DenialReading(text, "keine Werbung", "keine Werbung", -4.0, -3.0) if start == 5.0 else None

    monkeypatch.setattr(speech, "KeywordVerifier", Verifier)
    transcriber = FasterWhisperTranscriber.__new__(FasterWhisperTranscriber)
    transcriber.denied = {"de": ("keine Werbung",)}
    readings = [VerifiedReading(0.5, 1.5, "Mehrung", "Werbung", "Werbung", -2.0, -2.5),
                VerifiedReading(5.0, 6.0, "keine Mehrung", "Werbung", "Werbung", -4.0, -4.5)]
    assert transcriber._readings_not_denied(None, None, readings, ("Werbung",), "de") == readings[:1]


def _espeak_clip(path: Path, voice: str, sentences: list[str]) -> Path:
    """Generated speech as bench/speech_languages.py makes it: 0.5 s of silence, then each sentence
    (espeak-ng, 150 words a minute, 16 kHz mono) followed by 1.2 s of silence."""
    import shutil
    import subprocess
    import wave

    import numpy as np

    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("needs espeak-ng and sox")
    pieces = [np.zeros(8000, np.int16)]
    for index, sentence in enumerate(sentences):
        raw, said = path.parent / f"{path.stem}-r{index}.wav", path.parent / f"{path.stem}-c{index}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), sentence], check=True,
                       capture_output=True)
        subprocess.run(["sox", "-R", "-q", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(said)], check=True)
        with wave.open(str(said)) as handle:
            pieces += [np.frombuffer(handle.readframes(handle.getnframes()), np.int16), np.zeros(19200, np.int16)]
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(np.concatenate(pieces).tobytes())
    return path


@media
def test_a_spoken_czech_denial_is_heard_as_a_denial_and_a_label_said_alone_stays_a_label(tmp_path, library,
                                                                                         transcriber):
    """Measured (bench/speech_languages.py, cs): "Není reklama." was written "lehí reklama", a false
    label; rescored against the packs' denials it is the denial. "Reklama." said stays the label."""
    from complianceguard.analyze import Analyzer

    pack = library.for_region("CZ")
    post = Submission(id="cs", regions=["CZ"], caption="", language="cs")
    found = {}
    for name, said in (("denial", "Není reklama."), ("label", "Reklama.")):
        clip = _espeak_clip(tmp_path / f"cs-{name}.wav", "cs", [said, "Dnes vám ukážu svou ranní rutinu."])
        transcript = transcriber.transcribe(clip, expected=("cs",))
        segments = speech_segments(transcript, str(clip), 1)
        found[name] = [(m.kind, m.negated, m.tentative) for m in Analyzer([pack]).mentions(segments, pack, "cs", post)
                       if m.channel == "speech"], [s.text for s in transcript.segments]
    assert ("label", False, False) not in found["denial"][0], found["denial"]
    assert ("denial", False, False) in found["denial"][0], found["denial"]
    assert ("label", False, False) in found["label"][0], found["label"]


def test_a_term_a_pack_keeps_to_itself_is_counted_once_for_the_hotwords(library):
    """eu.yaml re-lists AT's "entgeltliche Einschaltung" for itself used alone (`not_inherited`):
    counted again it took a place in the German hotwords and the 60 s German bench lost a
    "Werbung" and ran 4x slower. It is still spoken vocabulary, through AT."""
    from complianceguard.packs.plan import _spoken_terms

    eu = library.get("eu-ucpd").pack
    assert "entgeltliche Einschaltung" in eu.vocabulary["de"].labels
    assert "entgeltliche Einschaltung" not in _spoken_terms(eu, "labels")["de"]
    assert "entgeltliche Einschaltung" in spoken_keywords(library)["de"]


def test_every_language_listens_for_a_label_its_packs_prefer(library):
    """The hotwords are the labels most packs share: when eu.yaml stopped handing its Czech "reklama"
    to the member packs (`not_inherited`), it fell to ninth and out of the Czech hotwords and
    rescoring keywords, and a spoken "Není reklama." was heard as a label again (full tier only).
    Each language's hotwords keep at least one label its packs name as `preferred`."""
    from complianceguard.extract.speech import HOTWORD_MIN_LETTERS, hotword_list
    from complianceguard.packs.plan import _fold

    preferred: dict[str, set[str]] = {}
    for resolved in library.packs:
        for language, vocabulary in resolved.pack.vocabulary.items():
            said = spoken_form(vocabulary.preferred, vocabulary.spoken) if vocabulary.preferred else None
            if said and sum(c.isalpha() for c in said) >= HOTWORD_MIN_LETTERS:
                preferred.setdefault(language, set()).add(_fold(said))
    keywords = spoken_keywords(library)
    missing = {language: hotword_list(keywords.get(language, ())) for language, labels in preferred.items()
               if not any(_fold(word) in labels for word in hotword_list(keywords.get(language, ())))}
    assert not missing, missing
