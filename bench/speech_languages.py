"""Spoken labels in the packs' languages (issue #15). Run: `.venv/bin/python bench/speech_languages.py`.

Generated speech (espeak-ng voices) in 15 languages, heard by the shipped models as a scan hears it
(the language detected from the audio, tiny.en for English, Whisper base otherwise, hotwords and
keyword verification from the packs' spoken labels):

1. Per language, spoken-label recall: one clip says each of the region pack's spoken labels (not the
   hashtag-only or punctuation forms), each as its own sentence followed by casual talk; a label
   counts as heard when the analyzer finds a label (not negated, not a reading only verified by
   rescoring) within its sentence's time. Target >= 0.90. Recall is computed once (the same audio
   through the same models gives the same transcript); the detected language is shown, and where it
   is wrong the recall with the language given is shown beside it (what the models can hear);
   "below" counts labels Whisper did write, but only in segments below its quality thresholds
   (avg log-probability < -1, no-speech > 0.6 or compression > 2.4), which are not evidence.
   A label found under a term spelt one or two letters longer or shorter counts as the label said
   (Portuguese "publicidade" said, found as the term "publicidad"; before, that counted as a false
   label and the label as not heard).
2. False labels: labels found where none was said (casual talk; a denial from the pack, e.g.
   "keine Werbung", which must be negated; the casual sentences of the label clip). Target 0. The
   transcriber gets the packs' denials (packs.plan.spoken_denials), which compete with a label
   heard: Czech "není reklama" was written "lehí reklama" before.
3. Wall time of 60 s of German speech on 2 cores (decode, language detection, transcription,
   verification; models loaded), the median of 3 runs with 1 and 2 CTranslate2 threads, and the load
   average before and after. Target <= 10 s.

`--languages de,fr` runs some; `--part recall|time` one part.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from complianceguard.analyze import ADVERTISER, Analyzer  # noqa: E402
from complianceguard.extract import speech_segments  # noqa: E402
from complianceguard.extract.keyword_verify import has_keyword  # noqa: E402
from complianceguard.extract.speech import FasterWhisperTranscriber  # noqa: E402
from complianceguard.model import Submission  # noqa: E402
from complianceguard.packs.loader import PackLibrary  # noqa: E402
from complianceguard.packs.plan import expected_languages, spoken_denials, spoken_keywords  # noqa: E402

RATE = 16_000
GAP_S = 1.2  # a pause between sentences, as between a label and the talk after it
# language: (espeak-ng voice, region, pack vocabulary language, two casual sentences)
LANGUAGES: dict[str, tuple[str, str, str, tuple[str, str]]] = {
    "de": ("de", "DE", "de", ("Heute zeige ich euch meine Morgenroutine.", "Danach gehen wir zusammen in den Park.")),
    "fr": ("fr", "FR", "fr", ("Aujourd'hui je vous montre ma routine du matin.", "Ensuite nous allons au parc ensemble.")),
    "es": ("es", "ES", "es", ("Hoy os enseño mi rutina de la mañana.", "Después vamos juntos al parque.")),
    "it": ("it", "IT", "it", ("Oggi vi mostro la mia routine del mattino.", "Poi andiamo insieme al parco.")),
    "nl": ("nl", "NL", "nl", ("Vandaag laat ik jullie mijn ochtendroutine zien.", "Daarna gaan we samen naar het park.")),
    "pt": ("pt", "PT", "pt", ("Hoje mostro-vos a minha rotina da manhã.", "Depois vamos juntos ao parque.")),
    "pl": ("pl", "PL", "pl", ("Dzisiaj pokażę wam moją poranną rutynę.", "Potem idziemy razem do parku.")),
    "sv": ("sv", "SE", "sv", ("Idag visar jag min morgonrutin.", "Sedan går vi tillsammans till parken.")),
    "da": ("da", "DK", "da", ("I dag viser jeg jer min morgenrutine.", "Bagefter går vi sammen i parken.")),
    "nb": ("nb", "NO", "no", ("I dag viser jeg dere morgenrutinen min.", "Etterpå går vi sammen i parken.")),
    "fi": ("fi", "FI", "fi", ("Tänään näytän teille aamurutiinini.", "Sen jälkeen menemme yhdessä puistoon.")),
    "cs": ("cs", "CZ", "cs", ("Dnes vám ukážu svou ranní rutinu.", "Potom půjdeme spolu do parku.")),
    "ja": ("ja", "JP", "ja", ("きょうは わたしの あさの ルーティンを しょうかいします。", "そのあと いっしょに こうえんに いきます。")),
    "ko": ("ko", "KR", "ko", ("오늘은 제 아침 루틴을 보여드릴게요.", "그 다음에 같이 공원에 가요.")),
    "zh": ("cmn-latn-pinyin", "CN", "zh", ("今天我给大家看看我的早晨习惯。", "然后我们一起去公园。")),
}
# espeak-ng's Japanese voice reads kana only (a kanji is said as the English words "Chinese letter"):
# what to say for a label written in kanji or Latin letters (the pack keeps the written form, which
# Whisper writes back). Looked up without the sentence's full stop.
READINGS = {"広告": "こうこく", "宣伝": "せんでん", "提供を受けて": "ていきょうをうけて", "PR": "ピーアール",
            "広告ではありません": "こうこくではありません", "商品提供": "しょうひんていきょう",
            "提供していただき": "ていきょうしていただき", "提供いただき": "ていきょういただき",
            "ご提供いただき": "ごていきょういただき", "観光大使": "かんこうたいし",
            "観光親善大使": "かんこうしんぜんたいし", "の社員です": "のしゃいんです",
            "の社員として": "のしゃいんとして", "の従業員です": "のじゅうぎょういんです"}
# espeak-ng's Mandarin voice has no readings for Chinese characters here (its "cmn" voice spells each
# one's pinyin and tone number in English: "guang three gao four"), so Chinese is said from pinyin
# with tone numbers by its "cmn-latn-pinyin" voice. A Chinese text without a reading is an error.
PINYIN = {"广告": "guang3 gao4", "廣告": "guang3 gao4", "不是广告": "bu2 shi4 guang3 gao4",
          "今天我给大家看看我的早晨习惯": "jin1 tian1 wo3 gei3 da4 jia1 kan4 kan4 wo3 de zao3 chen2 xi2 guan4",
          "然后我们一起去公园": "ran2 hou4 wo3 men yi4 qi3 qu4 gong1 yuan2"}
# A label that names the advertiser ("Reklam för {advertiser}") is said with this brand, which the
# submission declares: the analyzer counts such a label only with a name after it.
BRAND = "Nivea"
GERMAN_MINUTE = ["Hallo zusammen und willkommen zurück auf meinem Kanal.", "Werbung.",
                 "Heute zeige ich euch meine neue Morgenroutine mit einem Serum.",
                 "Ich benutze es seit sechs Wochen und meine Haut fühlt sich gut an.",
                 "Zuerst wasche ich mein Gesicht mit lauwarmem Wasser.",
                 "Dann nehme ich zwei Tropfen und verteile sie sanft.",
                 "Danach kommt die Feuchtigkeitscreme und zum Schluss der Sonnenschutz.",
                 "Mit meinem Rabattcode spart ihr zehn Prozent.", "Der Link ist in der Beschreibung.",
                 "Wenn euch das Video gefallen hat, lasst gerne ein Abo da.",
                 "Nächste Woche zeige ich euch meine Abendroutine.", "Bis bald und einen schönen Tag noch."]


def spoken_labels(library: PackLibrary, region: str, vocab: str) -> list[str]:
    """The pack's labels that are words one says: no hashtag-only, wildcard or punctuation forms
    (a label naming the advertiser is said with BRAND in its place)."""
    labels = library.for_region(region).pack.vocabulary[vocab].labels
    said = [label for label in labels
            if not re.search(r"[#*\[\]|:/–\-：]", label.replace(ADVERTISER, "")) and len(label.strip()) > 1]
    return list({_fold(label): label for label in reversed(said)}.values())[::-1]  # "pubblicita" = "pubblicità"


def spoken_text(text: str) -> str:
    """What the voice is given for a sentence: BRAND for {advertiser}, the kana or pinyin reading
    of a Japanese or Chinese text (looked up without its full stop)."""
    text = text.replace(ADVERTISER, BRAND)
    bare = text.rstrip(".。")
    if bare in READINGS:
        return READINGS[bare] + "."
    if re.search(r"[\u4e00-\u9fff]", text) and not re.search(r"[\u3040-\u30ff]", text):
        if bare not in PINYIN:
            raise SystemExit(f"no pinyin reading for {bare!r}: add it to PINYIN in {__file__}")
        return PINYIN[bare] + "."
    return text


def say(voice: str, text: str, work: Path, index: int) -> np.ndarray:
    raw, clip = work / f"r{index}.wav", work / f"c{index}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), spoken_text(text)],
                   check=True, capture_output=True)
    subprocess.run(["sox", "-R", "-q", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(clip)],
                   check=True, capture_output=True)
    with wave.open(str(clip)) as handle:
        return np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16)


def clip(voice: str, sentences: list[tuple[str, str]], path: Path, pad_to_s: float | None = None) -> list[dict]:
    """A WAV of the sentences (text, kind) with GAP_S between them; returns each one's time."""
    pieces, truth, cursor = [np.zeros(int(0.5 * RATE), np.int16)], [], 0.5
    with tempfile.TemporaryDirectory() as tmp:
        for index, (text, kind) in enumerate(sentences):
            audio = say(voice, text, Path(tmp), index)
            truth.append({"text": text, "kind": kind, "start_s": round(cursor, 2),
                          "end_s": round(cursor + len(audio) / RATE, 2)})
            pieces += [audio, np.zeros(int(GAP_S * RATE), np.int16)]
            cursor += len(audio) / RATE + GAP_S
    samples = np.concatenate(pieces)
    if pad_to_s:
        samples = np.concatenate([samples, np.zeros(max(0, int(pad_to_s * RATE) - len(samples)), np.int16)])
        samples = samples[:int(pad_to_s * RATE)]
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes(samples.tobytes())
    return truth


def heard_labels(transcriber: FasterWhisperTranscriber, library: PackLibrary, region: str, vocab: str,
                 path: Path, language: str | None = None) -> tuple[list, object]:
    pack = library.for_region(region)
    # As a scan does: the region's expected languages steer the detection (packs.plan.expected_languages).
    transcript = transcriber.transcribe(path, language=language, expected=expected_languages(library, [region]))
    post = Submission(id="bench", regions=[region], caption="", language=vocab, brand=BRAND)
    segments = speech_segments(transcript, str(path), 1)
    mentions = Analyzer([pack]).mentions(segments, pack, vocab, post)
    return [m for m in mentions if m.channel == "speech" and m.kind == "label" and m.time is not None], transcript


def _shown(segment) -> str:
    """A transcript line for the JSON: its text, marked when below Whisper's quality thresholds."""
    if segment.reliable:
        return segment.text
    return (f"[below thresholds: logprob {segment.avg_logprob:.2f}, no-speech {segment.no_speech_prob:.2f}, "
            f"compression {segment.compression_ratio:.2f}] {segment.text}")


def _fold(text: str) -> str:
    from complianceguard.extract.keyword_verify import fold

    return fold(text)


def score(mentions: list, truth: list[dict]) -> tuple[int, int, int, int]:
    """(labels said, heard, possibly said (rescoring only), false labels) for one clip. A label is
    heard when a label mention of that pack term is found (each label is said once per clip, and a
    Whisper segment may span several sentences, so its time does not tell them apart). A term found
    more often than the said labels that contain it is a false label ("reklame" heard in a garbled
    "reklame for Nivea" is the label said, not a false one; in casual talk every label is false)."""
    said = [_fold(t["text"]) for t in truth if t["kind"] == "label"]
    firm = [_fold(m.term) for m in mentions if not m.negated and not m.tentative]
    possible = [_fold(m.term) for m in mentions if not m.negated and m.tentative]
    heard = sum(any(_same_label(term, label) for term in firm) for label in said)
    maybe = sum(not any(_same_label(t, label) for t in firm) and any(_same_label(t, label) for t in possible)
                for label in said)
    false = sum(max(0, firm.count(term) - sum(f" {term} " in f" {label} " or _same_label(term, label)
                                             for label in said)) for term in set(firm))
    return len(said), heard, maybe, false


def _same_label(term: str, label: str) -> bool:
    """Is a label term found the label said? The same words, or the same word in another language's
    spelling of it (Portuguese "publicidade" said, found as the term "publicidad": one or two
    letters more at the end). Not a shorter label inside a longer one ("pub" in "publicidade")."""
    if term == label:
        return True
    short, long = sorted((term, label), key=len)
    return len(short) >= 6 and long.startswith(short) and len(long) - len(short) <= 2


def recall_part(languages: list[str], library: PackLibrary, transcriber: FasterWhisperTranscriber,
                out: Path, progress: Path | None = None) -> list[dict]:
    """One row per language; with `progress`, the rows so far are written there after each language
    (a run over 15 languages takes tens of minutes, and one language's error must not lose the rest)."""
    rows = []
    print(f"{'lang':5} {'labels':>6} {'heard':>5} {'recall':>6} {'maybe':>5} {'below':>5} {'false':>5}  detected (p)          "
          f"language given: recall   seconds")
    for code in languages:
        voice, region, vocab, (casual_a, casual_b) = LANGUAGES[code]
        labels = spoken_labels(library, region, vocab)
        denials = library.for_region(region).pack.vocabulary[vocab].denials[:1]
        started = time.perf_counter()
        sentences = []
        for index, label in enumerate(labels):
            sentences += [(f"{label}.", "label"), (casual_a if index % 2 == 0 else casual_b, "casual")]
        labelled = [dict(t, text=t["text"].rstrip(".")) for t in clip(voice, sentences, out / f"{code}-labels.wav")]
        mentions, transcript = heard_labels(transcriber, library, region, vocab, out / f"{code}-labels.wav")
        said, heard, maybe, false = score(mentions, labelled)
        detected = f"{transcript.language} ({transcript.language_probability or 0:.2f})"
        if transcript.unread:
            detected = f"not read ({transcript.language_probability or 0:.2f})"
        texts = [_shown(s) for s in transcript.segments]
        # Labels Whisper wrote only in segments below its quality thresholds (not evidence, so not heard).
        firm_terms = {_fold(m.term) for m in mentions if not m.negated and not m.tentative}
        below = sum(1 for t in labelled if t["kind"] == "label" and _fold(t["text"]) not in firm_terms and any(
            has_keyword(seg.text, (t["text"].replace(ADVERTISER, BRAND),)) for seg in transcript.segments
            if not seg.reliable))
        for name, extra in (("casual", [(casual_a, "casual"), (casual_b, "casual")]),
                            ("denial", [(f"{d}.", "denial") for d in denials] + [(casual_a, "casual")])):
            if not extra or (name == "denial" and not denials):
                continue
            truth = clip(voice, extra, out / f"{code}-{name}.wav")
            found, other = heard_labels(transcriber, library, region, vocab, out / f"{code}-{name}.wav")
            false += score(found, truth)[3]
            texts += [f"[{name}] " + _shown(s) for s in other.segments]
        given = ""
        if transcript.language != vocab or transcript.unread:
            forced, _ = heard_labels(transcriber, library, region, vocab, out / f"{code}-labels.wav",
                                     language="no" if vocab == "no" else vocab)
            given = f"{score(forced, labelled)[1] / max(1, said):.2f}"
        seconds = time.perf_counter() - started
        row = {"language": code, "labels": said, "heard": heard, "recall": round(heard / max(1, said), 2),
               "possibly": maybe, "below_thresholds": below, "false": false, "detected": detected, "recall_language_given": given,
               "seconds": round(seconds, 1), "transcript": texts}
        rows.append(row)
        print(f"{code:5} {said:6} {heard:5} {row['recall']:6.2f} {maybe:5} {below:5} {false:5}  {detected:21} "
              f"{given:>22}   {seconds:7.1f}", flush=True)
        if progress:
            progress.write_text(json.dumps({"recall": rows}, ensure_ascii=False, indent=2))
    return rows


def time_part(library: PackLibrary, out: Path, runs: int = 3) -> dict:
    path = out / "de-60s.wav"
    truth = clip("de", [(s, "label" if s == "Werbung." else "casual") for s in GERMAN_MINUTE] * 2, path, pad_to_s=60)
    spoken_s = truth[-1]["end_s"] if truth[-1]["end_s"] <= 60 else 60
    figures = {}
    for threads in (1, 2):
        transcriber = FasterWhisperTranscriber(spoken=spoken_keywords(library), denials=spoken_denials(library),
                                               cpu_threads=threads)
        started = time.perf_counter()
        transcriber.transcribe(path)  # loads the models (not counted below)
        first = time.perf_counter() - started
        walls, cpus, before = [], [], os.getloadavg()
        for _ in range(runs):
            started, cpu = time.perf_counter(), _cpu_s()
            transcript = transcriber.transcribe(path, expected=expected_languages(library, ["DE"]))
            walls.append(time.perf_counter() - started)
            cpus.append(_cpu_s() - cpu)
        after = os.getloadavg()
        figures[threads] = {"median_s": round(statistics.median(walls), 2), "runs_s": [round(w, 2) for w in walls],
                            "median_cpu_s": round(statistics.median(cpus), 2),
                            "first_run_with_model_load_s": round(first, 2), "model": transcript.model,
                            "language": transcript.language, "load_before": [round(x, 2) for x in before],
                            "load_after": [round(x, 2) for x in after],
                            "heard_werbung": sum("werbung" in s.text.casefold() for s in transcript.segments)}
        print(f"60 s of German ({spoken_s:.0f} s spoken), {threads} thread(s): median {figures[threads]['median_s']:.2f} s "
              f"of {figures[threads]['runs_s']}, CPU {figures[threads]['median_cpu_s']:.2f} s (first run with model load "
              f"{first:.2f} s), {transcript.model} "
              f"{transcript.language}, 'Werbung' heard in {figures[threads]['heard_werbung']} of 2 places; "
              f"load average {before[0]:.2f} -> {after[0]:.2f} on {os.cpu_count()} cores", flush=True)
    return figures


def _cpu_s() -> float:
    """CPU seconds of this process and its children (ffmpeg), user + system."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--part", choices=["recall", "time", "all"], default="all")
    parser.add_argument("--json", type=Path, help="also write the figures (and transcripts) here")
    parser.add_argument("--no-hotwords", action="store_true", help="measure without the packs' hotwords")
    args = parser.parse_args()
    library = PackLibrary()
    result: dict = {"cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="cg-bench-lang-") as tmp:
        out = Path(tmp)
        if args.part in ("recall", "all"):
            transcriber = FasterWhisperTranscriber(spoken=spoken_keywords(library), denials=spoken_denials(library),
                                                   hotwords=not args.no_hotwords)
            result["hotwords"] = not args.no_hotwords
            result["recall"] = recall_part([c.strip() for c in args.languages.split(",") if c.strip()],
                                           library, transcriber, out, args.json)
        if args.part in ("time", "all"):
            result["german_60s"] = time_part(library, out)
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
