"""Speech benchmarks (issue: speech). Prints its figures; run with `.venv/bin/python bench/speech.py`.

Run one part with `--part detection` or `--part backends`.

1. Spoken-disclosure detection on generated speech (espeak-ng, two voices): recall over clips that
   say a disclosure, and how many clips that do not (casual talk, denials, sponsor reads without a
   disclosure, silence) are wrongly reported as disclosing. Target: recall >= 0.95, none wrong.
2. faster-whisper vs openai-whisper on the same 60-second clip, side by side: wall time (model
   load excluded, median of 3 runs) and word agreement of the transcripts. Target: faster-whisper <= 5 s.
"""

from __future__ import annotations

import difflib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from complianceguard.analyze import Analyzer  # noqa: E402
from complianceguard.extract import speech_segments  # noqa: E402
from complianceguard.extract.speech import FasterWhisperTranscriber, OpenAIWhisperTranscriber  # noqa: E402
from complianceguard.model import Submission  # noqa: E402
from complianceguard.packs.loader import PackLibrary  # noqa: E402

DISCLOSURES = [
    "This video is sponsored by Glow Skincare.",
    "Today's video is sponsored by NordVPN.",
    "This is a paid advertisement for Acme Protein.",
    "This video contains an ad for Glow Skincare.",
    "Thanks to Squarespace for sponsoring this video.",
    "This episode is sponsored by Audible.",
    "Quick ad break: this part is sponsored by Glow.",
    "This post is an advertisement for Acme running shoes.",
    "I want to be upfront, this video is sponsored.",
    "Just so you know, this is an ad.",
]
NEGATIVES = [
    ("casual", "Good morning everyone, today we are making a simple pasta salad with fresh tomatoes."),
    ("casual", "I went for a long run this morning and the weather was beautiful."),
    ("casual", "Let me show you how I organise my desk for the week."),
    ("denial", "This is not sponsored, I bought it with my own money."),
    ("denial", "Nobody paid me to say this, I just really like it."),
    ("sponsor-read", "Use my code GLOW twenty for twenty percent off, link in the description."),
    ("sponsor-read", "Head to acme dot com slash run to get your first order free."),
    ("silence", ""),
]
VOICES = ["en-us", "en"]
RUNS = 3
LONG_TEXT = (
    "Hi everyone and welcome back. Today I am reviewing three running shoes I have used for the past month. "
    "This video is sponsored by Acme Protein. Acme makes a clean whey protein that I use after every long run, "
    "and you can use my code RUN fifteen for fifteen percent off your first order. Now, the first shoe is light "
    "and fast, with a firm heel and a wide toe box. I took it on three tempo runs and one long run of eighteen "
    "kilometres, and my feet felt fresh at the end. The second shoe is softer, better for easy days, but it felt "
    "heavy when I tried to speed up. The third one is the most expensive, and honestly I am not sure it is worth "
    "the price. Let me know in the comments which one you would pick."
)


def speak(text: str, voice: str, out: Path, pad_to: float | None = None) -> Path:
    raw = out.with_suffix(".raw.wav")
    if text:
        subprocess.run(["espeak-ng", "-v", voice, "-s", "155", "-w", str(raw), text], check=True)
    else:
        subprocess.run(["sox", "-R", "-n", "-r", "16000", "-c", "1", str(raw), "trim", "0", "4"], check=True)
    command = ["sox", "-R", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)]
    if pad_to:
        length = float(subprocess.run(["soxi", "-D", str(raw)], capture_output=True, text=True).stdout)
        command += ["pad", "0", str(max(pad_to - length, 0))]
    subprocess.run(command, check=True)
    return out


def detection(work: Path) -> None:
    library = PackLibrary()
    pack = library.for_region("US")
    analyzer = Analyzer([pack])
    transcriber = FasterWhisperTranscriber()
    post = Submission(id="b", regions=["US"], caption="")

    def discloses(audio: Path) -> tuple[bool, str]:
        transcript = transcriber.transcribe(audio)
        segments = speech_segments(transcript, str(audio), 1)  # as the scan makes them
        text = " ".join(s.text for s in segments if not s.tentative)
        # Readings verified by rescoring (keyword_verify.py) are tentative segments: in a report they make
        # a missing spoken label inconclusive ("possibly said ... listen to confirm"), never a pass.
        text += "".join(f" [{s.tentative}]" for s in segments if s.tentative)
        mentions = analyzer.mentions(segments, pack, "en", post)
        return any(m.kind == "label" and not m.negated for m in mentions), text

    hits, total, wrong, negatives, rescored = 0, 0, [], 0, 0
    for voice in VOICES:
        for index, sentence in enumerate(DISCLOSURES):
            found, heard = discloses(speak(sentence, voice, work / f"d{voice}{index}.wav"))
            total += 1
            hits += found
            if not found:
                print(f"  missed ({voice}): {sentence!r} heard as {heard!r}")
            elif "[verified by rescoring" in heard:
                rescored += 1
                print(f"  found only by rescoring ({voice}): {sentence!r}: {heard}")
        for index, (kind, sentence) in enumerate(NEGATIVES):
            found, heard = discloses(speak(sentence, voice, work / f"n{voice}{index}.wav"))
            negatives += 1
            if found:
                wrong.append((kind, voice, heard))
    print(f"spoken-disclosure recall: {hits}/{total} = {hits / total:.3f} (target >= 0.95; "
          f"{rescored} of them only by a reading verified by rescoring)")
    print(f"clips without a disclosure reported as disclosing: {len(wrong)}/{negatives} (target 0)")
    for kind, voice, heard in wrong:
        print(f"  false disclosure ({kind}, {voice}): {heard!r}")


def backends(work: Path) -> None:
    clip = speak(LONG_TEXT, "en-us", work / "long60.wav", pad_to=60.0)
    duration = float(subprocess.run(["soxi", "-D", str(clip)], capture_output=True, text=True).stdout)
    warm = speak("Warm up.", "en-us", work / "warm.wav")
    results = {}
    for transcriber in (FasterWhisperTranscriber(), OpenAIWhisperTranscriber()):
        transcriber.transcribe(warm)  # loads the model (and converts it once for openai-whisper)
        times = []
        for _ in range(RUNS):  # the median of a few runs: one run on a shared 2-core machine varies by 10 %
            started = time.perf_counter()
            transcript = transcriber.transcribe(clip)
            times.append(time.perf_counter() - started)
        results[transcriber.backend] = (statistics.median(times), " ".join(s.text for s in transcript.segments))
    print(f"clip: {duration:.1f} s of speech + silence, beam 5, word timestamps, faster-whisper int8 on 1 thread, "
          f"openai-whisper fp32; wall time is the median of {RUNS} runs")
    for backend, (seconds, _) in results.items():
        print(f"{backend:15} {seconds:6.2f} s  (RTF {seconds / duration:.3f})")
    words = [[w.strip(".,!?").lower() for w in text.split()] for _, text in results.values()]
    agreement = difflib.SequenceMatcher(a=words[0], b=words[1]).ratio()
    print(f"word agreement faster-whisper vs openai-whisper: {agreement:.3f}")
    print(f"faster-whisper target <= 5 s for 60 s: {'met' if results['faster-whisper'][0] <= 5 else 'NOT met'}")


PARTS = {"detection": detection, "backends": backends}

if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all", help="run one part only (default: both)")
    chosen = parser.parse_args().part
    with tempfile.TemporaryDirectory() as tmp:
        for name, part in PARTS.items():
            if chosen in (name, "all"):
                part(Path(tmp))
