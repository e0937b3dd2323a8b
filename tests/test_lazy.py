"""scipy.stats is imported on first use (sibsim._lazy): ``import sibsim`` does not pay for it,
and every use gets scipy's own objects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sibsim
from sibsim._lazy import stats


def test_import_sibsim_leaves_scipy_stats_for_later():
    src = str(Path(sibsim.__file__).parents[1])
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    code = ("import sys, sibsim\n"
            "print('scipy.stats' in sys.modules)\n"
            "from sibsim._lazy import stats\n"
            "stats.norm\n"
            "print('scipy.stats' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120, check=True).stdout.split()
    assert out == ["False", "True"]


def test_the_stand_in_gives_scipy_s_objects():
    import scipy.stats

    assert stats.norm is scipy.stats.norm and stats.gamma is scipy.stats.gamma
    assert float(stats.norm.isf(0.025)) == float(scipy.stats.norm.isf(0.025))
