"""Import spaCy without the parts a blank rule-matching pipeline never uses (issue #16: a creator's
`check` of one caption should answer in half a second, and importing spaCy was most of it).

- **torch**: thinc imports it when it is installed (3-6 s per process on these machines). It is
  hidden while spaCy imports; only thinc's own torch flag sees the difference, and torch stays
  importable afterwards (openai-whisper needs it).
- **spaCy's command line** (`spacy.cli`: download, train, package...): `spacy/__init__.py` imports
  it for its `spacy.info` shortcut, and with it requests, httpx, typer and weasel: about 0.2 s of
  CPU and 350 modules. A placeholder stands in while spaCy imports and is taken out afterwards,
  so `import spacy.cli` (or `spacy.info()`) still loads the real one.

A module that imports spaCy imports this module first (`from complianceguard import lean_spacy`):
importing it imports spaCy so; later imports of spaCy find it loaded.
"""

from __future__ import annotations

import importlib
import sys
import types

_PLACEHOLDERS = ("spacy.cli", "spacy.cli.info")


def _info(*args, **kwargs):
    """`spacy.info`, loading spaCy's command line when someone asks for it."""
    return importlib.import_module("spacy.cli.info").info(*args, **kwargs)


def import_spacy() -> None:
    if "spacy" in sys.modules:
        return
    cli, info = types.ModuleType("spacy.cli"), types.ModuleType("spacy.cli.info")
    info.info = cli.info = _info
    cli.__path__ = []  # a package, so `from .cli.info import info` resolves to the placeholder
    stand_ins: dict[str, object] = {"spacy.cli": cli, "spacy.cli.info": info}
    if "torch" not in sys.modules:
        stand_ins["torch"] = None  # `import torch` raises ImportError
    sys.modules.update(stand_ins)  # type: ignore[arg-type]
    try:
        import spacy
    finally:
        for name, stand_in in stand_ins.items():
            if name in sys.modules and sys.modules[name] is stand_in:
                del sys.modules[name]
    if getattr(spacy, "cli", None) is cli:
        del spacy.cli  # `import spacy.cli` binds the real one


import_spacy()
