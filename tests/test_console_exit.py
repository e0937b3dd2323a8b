"""The ``sibsim`` command's entry point: the status of ``main`` is the exit status, and an
interrupted or terminated run ends the process at once (no interpreter shutdown)."""

from __future__ import annotations

import pytest

from sibsim import cli


@pytest.mark.parametrize("status", [cli.EXIT_INTERRUPTED, cli.EXIT_TERMINATED])
def test_an_interrupted_run_exits_at_once(status: int, monkeypatch) -> None:
    ended = []
    monkeypatch.setattr(cli, "main", lambda: status)

    def _exit(code: int) -> None:
        ended.append(code)
        raise SystemExit(code)  # stands in for os._exit, which would end pytest
    monkeypatch.setattr(cli.os, "_exit", _exit)
    with pytest.raises(SystemExit) as info:
        cli.console_main()
    assert ended == [status] and info.value.code == status


@pytest.mark.parametrize("status", [cli.EXIT_OK, cli.EXIT_USAGE])
def test_other_statuses_exit_normally(status: int, monkeypatch) -> None:
    monkeypatch.setattr(cli, "main", lambda: status)
    monkeypatch.setattr(cli.os, "_exit", lambda code: pytest.fail("os._exit called"))
    with pytest.raises(SystemExit) as info:
        cli.console_main()
    assert info.value.code == status
