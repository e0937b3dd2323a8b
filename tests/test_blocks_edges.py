"""Putting blocks of draws back together at the edges: sums over chunks that span blocks, the
first block's variables, and the checks of a block's draws.

Each test pins a behaviour that mutation testing (benchmarks/bench_mutation.py) found unguarded;
the expected sums are computed independently, chunk by chunk, from the definition.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sibsim.analysis.blocks import SUM_CHUNK, DrawAssembler, DrawSum


def _chunked_sum(x: np.ndarray) -> np.ndarray:
    """The documented sum: consecutive chunks of SUM_CHUNK draws summed, then added in order."""
    total = None
    for lo in range(0, x.shape[0], SUM_CHUNK):
        s = np.add.reduce(np.array(x[lo:lo + SUM_CHUNK], order="C"), axis=0)
        total = s if total is None else total + s
    return total


@pytest.mark.parametrize("sizes", [[2 * SUM_CHUNK + 5], [1, SUM_CHUNK - 1, SUM_CHUNK + 2, 3],
                                   [SUM_CHUNK + 3, SUM_CHUNK + 2], [7, 2 * SUM_CHUNK - 2],
                                   [SUM_CHUNK, SUM_CHUNK, 5]])
def test_draw_sum_is_the_chunked_sum_whatever_the_blocks(sizes):
    x = np.random.default_rng(3).lognormal(size=(sum(sizes), 2))
    total, lo = DrawSum(), 0
    for n in sizes:
        total.add(x[lo:lo + n])
        lo += n
    assert total.count == x.shape[0]
    expected = _chunked_sum(x)
    assert np.array_equal(total.sum(), expected)  # bitwise
    assert np.array_equal(total.mean(), expected / x.shape[0])
    assert total.sum().shape == (2,)


def test_draw_sum_of_whole_chunks_and_of_a_short_run():
    x = np.arange(2.0 * SUM_CHUNK).reshape(-1, 2)  # SUM_CHUNK draws of 2 values
    total = DrawSum()
    total.add(x)
    assert np.array_equal(total.sum(), _chunked_sum(x))
    total.add(np.array([[1.0, 2.0]]))
    assert np.array_equal(total.sum(), np.add(_chunked_sum(x), [1.0, 2.0]))
    assert total.count == SUM_CHUNK + 1
    short = DrawSum()
    short.add([1, 2])  # integers, read as numbers
    short.add(np.array([4.0]))
    assert short.sum() == 7.0 and short.count == 3 and short.mean() == pytest.approx(7 / 3)


def test_draw_sum_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="no draws were added"):
        DrawSum().sum()


def _whole(draws: int = 6, first: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(1)
    return xr.Dataset(
        {"x": (("period", "draw"), rng.normal(size=(3, draws)), {"units": "EUR"}),
         "n": (("draw",), np.arange(draws, dtype=np.int32)),
         "size": (("arm",), np.array([10.0, np.nan]))},
        coords={"draw": ("draw", first + np.arange(draws), {"description": "draw"}),
                "arm": ["treatment", "comparison"], "label": ("arm", ["t", "c"])},
        attrs={"seed": 4})


@pytest.mark.parametrize("first", [0, 100])
def test_assembler_puts_blocks_in_any_order_back_together(first):
    whole = _whole(first=first)
    asm = DrawAssembler(6, first_draw=first)
    for lo, hi in [(4, 6), (0, 1), (1, 4)]:
        asm.add(whole.isel(draw=slice(lo, hi)))
    out = asm.result()
    xr.testing.assert_identical(out, whole)
    assert out["n"].dtype == np.int32
    assert set(out.coords) == {"draw", "arm", "label"} and set(out.data_vars) == {"x", "n", "size"}


def test_assembler_refuses_blocks_outside_the_run_or_not_contiguous():
    whole = _whole(draws=6)
    asm = DrawAssembler(4, first_draw=1)
    with pytest.raises(ValueError, match=r"draws 0\.\.0 does not lie in draws 1\.\.4"):
        asm.add(whole.isel(draw=[0]))
    with pytest.raises(ValueError, match="does not lie"):
        asm.add(whole.isel(draw=slice(3, 6)))  # draw 5 is past the last, 4
    with pytest.raises(ValueError, match="one contiguous range"):
        asm.add(whole.isel(draw=[1, 3]))
    asm.add(whole.isel(draw=slice(1, 5)))  # exactly the run: accepted
    assert asm.result().sizes["draw"] == 4


def test_assembler_refuses_a_variable_new_or_different_in_a_later_block():
    whole = _whole()
    asm = DrawAssembler(6)
    asm.add(whole.isel(draw=slice(0, 2)))
    with pytest.raises(ValueError, match="'extra' is not in the first block"):
        asm.add(whole.isel(draw=slice(2, 4)).assign(extra=1.0))
    with pytest.raises(ValueError, match="'size' differs between blocks"):
        asm.add(whole.isel(draw=slice(2, 4)).assign(size=("arm", [10.0, 1.0])))
    with pytest.raises(ValueError, match="'label' differs between blocks"):
        asm.add(whole.isel(draw=slice(2, 4)).assign_coords(label=("arm", ["t", "x"])))


def test_assembler_result_needs_every_draw():
    whole = _whole()
    asm = DrawAssembler(6)
    asm.add(whole.isel(draw=slice(0, 3)))
    with pytest.raises(ValueError, match="3 of 6 draws were added"):
        asm.result()


def test_draw_sum_of_a_column_major_block_sums_in_the_same_order():
    # numpy sums a contiguous axis pairwise: a column-major block must be summed as a
    # row-major one, or the bits would depend on how a caller laid out its array
    x = np.random.default_rng(5).lognormal(size=(1000, 3))
    total = DrawSum()
    total.add(np.asfortranarray(x))
    assert np.array_equal(total.sum(), _chunked_sum(x))
    whole = DrawSum()
    whole.add(np.asfortranarray(np.random.default_rng(6).lognormal(size=(SUM_CHUNK + 9, 3))))
    assert np.array_equal(whole.sum(),
                          _chunked_sum(np.random.default_rng(6).lognormal(size=(SUM_CHUNK + 9, 3))))


def test_assembler_keeps_encodings_single_precision_nan_and_the_draw_numbers():
    draws, first = 20_000, 7
    whole = xr.Dataset(
        {"x": (("draw",), np.linspace(0.0, 1.0, draws)),
         "w": (("arm",), np.array([1.0, np.nan], dtype=np.float32))},
        coords={"draw": first + np.arange(draws), "arm": ["treatment", "comparison"]})
    whole["x"].encoding = {"zlib": True, "complevel": 4}
    asm = DrawAssembler(draws, first_draw=first)
    for lo, hi in [(0, 5_000), (5_000, draws)]:
        asm.add(whole.isel(draw=slice(lo, hi)))  # NaN == NaN in a float32 variable too
    out = asm.result()
    np.testing.assert_array_equal(out["draw"].values, first + np.arange(draws))
    xr.testing.assert_identical(out, whole)
    assert out["x"].encoding["zlib"] is True and out["x"].encoding["complevel"] == 4
    assert out["w"].dtype == np.float32
