"""Run a scenario end to end and describe the results in plain language.

The command line and the README's main job call :func:`run_and_report`.
"""

from __future__ import annotations

from pathlib import Path

from sibsim.dataset import simulate, to_netcdf
from sibsim.spec.scenario import Scenario


def run_and_report(scenario: Scenario, *, draws: int, seed: int, engine: str = "auto",
                   out: Path | None = None, figure: Path | None = None,
                   progress: bool | None = None) -> str:
    """Simulate, write ``out`` (netCDF) and return a plain-language summary."""
    from sibsim.cli import summarise_outcomes

    ds = simulate(scenario, draws=draws, seed=seed, engine=engine, progress=progress)
    lines = [summarise_outcomes(ds)]
    if out is not None:
        to_netcdf(ds, out)
        lines.append(f"Results written to {out}")
    return "\n".join(lines)
