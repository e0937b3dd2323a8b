"""The examples are notebooks: each ``examples/*.py`` (jupytext percent format) is paired with
the ``.ipynb`` beside it, and every notebook runs from top to bottom in a Jupyter kernel.

After editing an example, ``jupytext --sync examples/*.py`` updates its notebook (the pairing
test says which one is out of date). The notebooks are executed with few draws
(``SIBSIM_EXAMPLE_DRAWS``), in a temporary folder, with nothing from the network.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
DRAWS = 200


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_every_example_has_a_notebook_and_back():
    assert len(SCRIPTS) >= 6
    assert {p.stem for p in EXAMPLES.glob("*.ipynb")} == {p.stem for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_notebook_matches_its_script(script):
    py = jupytext.read(script)
    ipynb = jupytext.read(script.with_suffix(".ipynb"))
    assert py.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert _cells(ipynb) == _cells(py), (
        f"{script.with_suffix('.ipynb').name} is out of date: run "
        f"'jupytext --sync {script.relative_to(EXAMPLES.parent)}'")
    # committed without outputs: the notebook is the script, not a record of one run
    stored = nbformat.read(script.with_suffix(".ipynb"), as_version=4)
    assert all(not c.get("outputs") for c in stored.cells if c.cell_type == "code")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_notebook_runs(script, tmp_path, monkeypatch):
    monkeypatch.setenv("SIBSIM_EXAMPLE_DRAWS", str(DRAWS))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(script.with_suffix(".ipynb"), as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    t0 = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - t0
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert text.strip(), "the notebook printed nothing"
    print(f"{script.stem}: {seconds:.1f} s")
