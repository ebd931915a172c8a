"""spaCy is imported without torch and without its command line (lean_spacy.py, issue #16), and
both stay importable afterwards. Each check runs in a fresh interpreter: the import happens once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import json, sys
import complianceguard.analyze as analyze
loaded = {name: name in sys.modules for name in ("torch", "spacy.cli", "requests", "typer", "weasel")}
doc = analyze.pipeline("en").make_doc("Loving it #ad @glowskincare")
import spacy.cli
print(json.dumps({"loaded": loaded, "tokens": [t.text for t in doc], "real_cli": hasattr(spacy.cli, "download"),
                  "info_is_real": spacy.cli.info.__module__ == "spacy.cli.info"}))
"""


def _probe() -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_analyzer_imports_spacy_without_torch_or_its_command_line():
    probe = _probe()
    assert probe["loaded"] == {"torch": False, "spacy.cli": False, "requests": False, "typer": False, "weasel": False}
    assert probe["tokens"] == ["Loving", "it", "#", "ad", "@glowskincare"]


def test_spacys_command_line_still_imports_afterwards():
    probe = _probe()
    assert probe["real_cli"] and probe["info_is_real"]
