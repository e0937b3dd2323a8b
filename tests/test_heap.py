"""kept_heap: freed memory is reused while evaluations repeat (fewer page faults), the settings
are undone when the last use ends, and the effect-scaling shortcut for one value per grid point
gives the numbers of the per-draw powers."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import threading

import numpy as np
import pytest

from sibsim.analysis import heap
from sibsim.analysis.threads import in_order
from sibsim.engine.tables import scaled_effect

glibc = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                           reason="glibc's malloc only")


class _Recorder:
    """A stand-in for libc: records mallopt and malloc_trim calls."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append(("mallopt", param, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("trim", pad))
        return 1


def test_nested_uses_set_once_and_undo_once(monkeypatch) -> None:
    rec = _Recorder()
    monkeypatch.setattr(heap, "_libc", lambda: rec)
    with heap.kept_heap():
        assert [c[1] for c in rec.calls] == [heap._M_MMAP_THRESHOLD, heap._M_TRIM_THRESHOLD,
                                             heap._M_TOP_PAD]
        assert rec.calls[0][2] == heap._KEEP_MMAP and rec.calls[1][2] == heap._KEEP_TRIM
        with heap.kept_heap():
            pass
        assert len(rec.calls) == 3  # the inner use neither sets nor undoes
    assert rec.calls[3:] == [("mallopt", p, v) for p, v in heap._AFTER] + [("trim", 0)]
    assert heap._depth == 0


def test_undone_after_an_error(monkeypatch) -> None:
    rec = _Recorder()
    monkeypatch.setattr(heap, "_libc", lambda: rec)
    with pytest.raises(KeyError), heap.kept_heap():
        raise KeyError("x")
    assert rec.calls[-1] == ("trim", 0) and heap._depth == 0


def test_concurrent_uses_share_one_setting(monkeypatch) -> None:
    rec = _Recorder()
    monkeypatch.setattr(heap, "_libc", lambda: rec)
    inside, go = threading.Barrier(2), threading.Event()

    def user() -> None:
        with heap.kept_heap():
            inside.wait()
            go.wait()

    ts = [threading.Thread(target=user) for _ in range(2)]
    for t in ts:
        t.start()
    while heap._depth < 2:
        pass
    go.set()
    for t in ts:
        t.join()
    sets = [c for c in rec.calls if c[0] == "mallopt" and c[2] == heap._KEEP_MMAP]
    assert len(sets) == 1 and rec.calls.count(("trim", 0)) == 1 and heap._depth == 0


def _numpy_advice(switch) -> bool:
    """numpy's huge-page advice now (set and put back with ``switch``)."""
    before = switch(True)
    switch(before)
    return bool(before)


@pytest.mark.parametrize("before", [True, False])
def test_numpy_huge_page_advice_is_off_inside_and_restored_after(monkeypatch, before) -> None:
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    switch = heap._hugepage_switch()
    if switch is None:
        pytest.skip("this numpy has no huge-page switch")
    monkeypatch.setattr(heap, "_libc", lambda: _Recorder())
    old = switch(before)
    try:
        with heap.kept_heap():
            assert _numpy_advice(switch) is False
            with heap.kept_heap():  # a nested use changes nothing
                assert _numpy_advice(switch) is False
            assert _numpy_advice(switch) is False
        assert _numpy_advice(switch) is before and heap._numpy_advice is None
        with pytest.raises(KeyError), heap.kept_heap():  # restored after an error too
            raise KeyError("x")
        assert _numpy_advice(switch) is before
    finally:
        switch(old)


def test_a_users_huge_page_choice_is_kept(monkeypatch) -> None:
    monkeypatch.setattr(heap, "_libc", lambda: _Recorder())
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    switch = heap._hugepage_switch()
    if switch is None:
        pytest.skip("this numpy has no huge-page switch")
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    assert heap._hugepage_switch() is None
    old = switch(True)
    try:
        with heap.kept_heap():
            assert _numpy_advice(switch) is True  # the user's setting, untouched
        monkeypatch.setattr(heap, "_libc", lambda: None)  # kept_heap off: nothing is touched
        monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE")
        with heap.kept_heap():
            assert _numpy_advice(switch) is True
    finally:
        switch(old)


def test_switched_off_by_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("SIBSIM_KEEP_HEAP", "0")
    assert heap._libc() is None


_FAULTS_SCRIPT = """
import resource
import numpy as np
from sibsim.analysis import heap

def faults(rounds=4):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):
        arrays = [np.ones(437_500) for _ in range(20)]
        del arrays
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

faults()
plain = faults()
with heap.kept_heap():
    kept = faults()
print(plain, kept)
"""


@glibc
def test_repeated_evaluations_fault_less() -> None:
    # an "evaluation": 20 arrays of 3.5 MB live together (70 MB, more than glibc trims at
    # after its own adjustment, 64 MiB; each below numpy's 4 MiB huge-page size), then freed;
    # without kept_heap the freed top of the heap goes back to the system and the next
    # evaluation's pages are zero-filled again on first touch. In a fresh process: a long one
    # (the test suite) may hold enough free memory inside its heap to need no new pages.
    out = subprocess.run([sys.executable, "-c", _FAULTS_SCRIPT], capture_output=True,
                         text=True, check=True, env={**os.environ, "SIBSIM_KEEP_HEAP": "1"})
    plain, kept = (int(x) for x in out.stdout.split())
    pages = 4 * 20 * 3_500_000 // 4096
    assert plain > pages / 2  # each round's pages faulted in again
    assert kept < plain / 3  # the first round's only


def test_in_order_keeps_the_heap(monkeypatch) -> None:
    rec = _Recorder()
    monkeypatch.setattr(heap, "_libc", lambda: rec)
    assert in_order(lambda x: heap._depth, [1, 2], threads=1) == [1, 1]
    assert heap._depth == 0 and rec.calls[-1] == ("trim", 0)


@pytest.mark.parametrize("measure", ["rr", "hr", "or"])
def test_one_value_for_every_draw_gives_the_per_draw_powers(measure: str) -> None:
    strength = np.array([0.0, 0.007265625, 0.125, 0.5, 0.93, 1.0, 1.07])[None, None, :]
    same = np.full((4, 1, 1), 0.8123)
    mixed = np.array([0.8123, 0.8123, 0.8123, 0.8123, 0.5])[:, None, None]  # per-draw path
    a = scaled_effect(measure, same, strength)
    b = scaled_effect(measure, mixed, strength)
    assert a.shape == (4, 1, 7)
    assert np.array_equal(a, b[:4]) and np.array_equal(np.signbit(a), np.signbit(b[:4]))
    assert a.flags.writeable
    assert np.array_equal(a[:, 0, 0], np.ones(4))  # strength 0: no effect
