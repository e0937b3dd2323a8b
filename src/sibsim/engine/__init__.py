"""Simulation engine layer: specification -> arrays of simulated outcomes.

* :mod:`sibsim.engine.parameters` samples uncertain parameters per draw;
* :mod:`sibsim.engine.tables` holds the kernels' arrays and the helpers that build them;
* :mod:`sibsim.engine.outcome_models` has one model per outcome kind (registered by ``kind``):
  its tables and which kernels simulate it (:mod:`sibsim.engine.state_counts`: counts whose
  rate follows another process's state);
* :mod:`sibsim.engine.kernels` holds the numba kernels (pure functions over arrays);
* :mod:`sibsim.engine.expected` computes the deterministic expected trace;
* :mod:`sibsim.engine.run` picks an engine and runs it over chunks of draws.
"""

from sibsim.engine import state_counts as _state_counts  # noqa: F401  (registers its model)
from sibsim.engine.run import ENGINES, EngineOutput, choose_engine, run_engine

__all__ = ["ENGINES", "EngineOutput", "choose_engine", "run_engine"]
