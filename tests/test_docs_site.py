"""The documentation site builds with ``mkdocs build --strict`` (no broken link or anchor, every
docstring rendered by mkdocstrings parses), and the generated API page is up to date."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    site = tmp_path / "site"
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                          str(site)], cwd=ROOT, capture_output=True, text=True, env=env,
                         timeout=600)
    assert res.returncode == 0, res.stderr[-4000:]
    assert "WARNING" not in res.stderr, res.stderr[-4000:]
    for page in ("index.html", "scenario-format/index.html", "reference/index.html"):
        assert (site / page).is_file(), page
    # mkdocstrings rendered the docstrings (not an empty page)
    reference = (site / "reference" / "index.html").read_text(encoding="utf-8")
    assert "write_template" in reference and "detection_power" in reference


def test_api_page_is_up_to_date():
    res = subprocess.run([sys.executable, str(ROOT / "docs" / "gen_api.py"), "--check"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
