"""A scenario file refused from Python and by ``sibsim run``: exit 2, one line naming the key,
no traceback, no output written (shared by the tests of each scenario-file feature)."""

from __future__ import annotations

from pathlib import Path

import pytest

import sibsim
from sibsim.cli import main
from sibsim.scenario_file import ScenarioFileError


def assert_file_refused(tmp_path: Path, capsys, text: str, words: list[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioFileError):
        sibsim.load_scenario(path)
    code = main(["run", str(path), "--draws", "3", "--out", str(tmp_path / "o.nc"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("sibsim: error: ") and err.count("\n") == 1 and "Traceback" not in err
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "o.nc").exists()
