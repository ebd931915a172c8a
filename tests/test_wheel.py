"""What `pip install complianceguard` gives a user: the wheel carries every pack, and an install
into a fresh virtual environment outside the repository lists 29 regions and checks a caption.

Slow (a real dependency install, about 30 s with pip's cache warm): part of the full tier only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from complianceguard.packs.loader import BUILTIN_RULES

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.install  # full tier: builds and installs


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(out)],
                   check=True, timeout=600)
    (found,) = out.glob("complianceguard-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv (no --system-site-packages), outside the repository, with the wheel installed."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    str(wheel)], check=True, timeout=900)
    return venv


def _run(venv: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("COMPLIANCEGUARD_RULES", "PYTHONPATH")}
    return subprocess.run([str(venv / "bin" / "complianceguard"), *args], capture_output=True, text=True,
                          timeout=300, cwd=venv.parent, env=env)


def test_the_wheel_lists_every_pack_and_the_pack_schema(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packs = sorted(p.name for p in BUILTIN_RULES.glob("*.yaml"))
    assert len(packs) == 30  # 29 regions and the base vocabulary
    assert {f"complianceguard/packs/builtin/{name}" for name in packs} <= names
    assert {"complianceguard/packs/builtin/schema/pack.schema.json",
            "complianceguard/packs/builtin/README.md"} <= names


def test_an_installed_wheel_has_its_packs(installed):
    listed = _run(installed, "rules", "list")
    assert listed.returncode == 0, listed.stderr
    regions = {line.split()[0] for line in listed.stdout.splitlines() if line[:1].isalpha()}
    assert len(regions) == 29
    location = subprocess.run([str(installed / "bin" / "python"), "-c",
                               "import complianceguard.packs.loader as l; print(l.BUILTIN_RULES)"],
                              capture_output=True, text=True, check=True, cwd=installed.parent)
    assert "site-packages" in location.stdout and str(ROOT) not in location.stdout


def test_an_installed_wheel_checks_a_caption(installed):
    checked = _run(installed, "check", "--caption", "Love this serum from @glow", "--region", "GB",
                   "--relationship", "paid", "--format", "json")
    assert checked.returncode == 1, checked.stderr  # fails: no label on a paid post
    item = json.loads(checked.stdout)
    assert item["regions"]["GB"]["verdict"] == "fail"
    labelled = _run(installed, "check", "--caption", "#ad Love this serum from @glow", "--region", "GB",
                    "--relationship", "paid")
    assert labelled.returncode in (0, 1) and "GB" in labelled.stdout
