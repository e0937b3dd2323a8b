"""Processing a long run block by block, with results identical to one pass over all draws.

A run of ``D`` draws can be processed in blocks of draws ``[b, b + n)`` (every layer takes the
global index of a block's first draw: :func:`sibsim.simulate` ``first_draw``, the ``draw``
coordinate of the outcome dataset for the evaluation, the counterfactual and the break-even
search). Two helpers put the blocks back together:

* :class:`DrawAssembler` writes each block's per-draw variables into arrays allocated once for
  all draws (no concatenation, so the memory is the results plus one block);
* :class:`DrawSum` sums over draws in fixed chunks of :data:`SUM_CHUNK` consecutive draws, so
  that a mean over draws is bitwise the same however the draws were split into blocks.

Examples
--------
>>> import numpy as np, xarray as xr
>>> whole = xr.Dataset({"x": ("draw", np.arange(5.0))}, coords={"draw": np.arange(5)})
>>> asm, total = DrawAssembler(5), DrawSum()
>>> for lo, hi in [(0, 2), (2, 5)]:
...     block = whole.isel(draw=slice(lo, hi))
...     asm.add(block)
...     total.add(block["x"].values)
>>> asm.result().identical(whole), total.mean().item()
(True, 2.0)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import xarray as xr

__all__ = ["SUM_CHUNK", "DrawAssembler", "DrawSum", "DrawSumPart"]

#: Draws summed together before their sum is added to the running total (a fixed partition of
#: the draw sequence, so sums do not depend on block boundaries). Small next to a block, so
#: that a block computed on a dask worker sends its chunk sums, not its draws
#: (:class:`DrawSumPart`).
SUM_CHUNK = 512


class DrawSum:
    """Sum (and mean) over draws of arrays ``(n, ...)`` added block by block, in draw order.

    The draws are summed in consecutive chunks of :data:`SUM_CHUNK` (a chunk may span two
    blocks: its first part waits in a buffer), and the chunk sums are added to the total in
    order. The result therefore depends on the values and their order only, not on the block
    sizes: a run processed in blocks gives the same means, to the last bit, as one pass.
    """

    def __init__(self, chunk: int | None = None) -> None:
        #: draws summed together (default :data:`SUM_CHUNK`)
        self.chunk = int(SUM_CHUNK if chunk is None else chunk)
        self._total: np.ndarray | None = None
        self._buffer: list[np.ndarray] = []
        self._buffered = 0
        self.count = 0

    def add(self, values: np.ndarray) -> None:
        """Add the values of the next draws (first axis: draws, in order)."""
        values = np.asarray(values, dtype=float)
        self.count += values.shape[0]
        self._buffer.append(values)
        self._buffered += values.shape[0]
        if self._buffered < self.chunk:
            return
        rows = np.concatenate(self._buffer, axis=0) if len(self._buffer) > 1 else values
        full = (rows.shape[0] // self.chunk) * self.chunk
        for lo in range(0, full, self.chunk):
            self._add_chunk(rows[lo:lo + self.chunk])
        rest = rows[full:]
        self._buffer = [rest.copy()] if rest.shape[0] else []
        self._buffered = rest.shape[0]

    def _add_chunk(self, chunk: np.ndarray) -> None:
        self._add_chunk_sum(_chunk_sum(chunk))

    def _add_chunk_sum(self, s: np.ndarray) -> None:
        self._total = s if self._total is None else self._total + s

    def add_part(self, part: DrawSumPart) -> None:
        """Add a block's values summed where they were computed (:meth:`DrawSumPart.of`):
        the same result, to the last bit, as :meth:`add` of the block's values."""
        if self._buffered != part.offset:
            raise ValueError(f"DrawSum: a part made for {part.offset} draws waiting in the "
                             f"buffer added with {self._buffered} waiting")
        if part.head.shape[0]:
            self.add(part.head)
        for s in part.chunk_sums:  # the head finished the chunk that was waiting
            self._add_chunk_sum(s)
        self.count += part.chunk_sums.shape[0] * self.chunk
        if part.tail.shape[0]:
            self.add(part.tail)

    def sum(self) -> np.ndarray:
        """Sum over every draw added so far."""
        if self._buffer:
            rows = np.concatenate(self._buffer, axis=0)
            total = self._total
            s = _chunk_sum(rows)
            return s if total is None else total + s
        if self._total is None:
            raise ValueError("DrawSum: no draws were added")
        return self._total

    def mean(self) -> np.ndarray:
        """Mean over every draw added so far."""
        return self.sum() / self.count


def _chunk_sum(chunk: np.ndarray) -> np.ndarray:
    """Sum over the first axis of one chunk of draws (of a fresh C-order copy: the same
    layout, so the same order of additions, wherever the chunk was cut from)."""
    return np.add.reduce(np.array(chunk, dtype=float, order="C"), axis=0)


class DrawSumPart(NamedTuple):
    """A block's values for a :class:`DrawSum`, with its whole chunks already summed.

    Made where the block is computed (a dask worker) with :meth:`of`, so that only the chunk
    sums and the few draws of the chunks the block shares with its neighbours travel;
    :meth:`DrawSum.add_part` gives the same sums as :meth:`DrawSum.add` of all the values.

    >>> x = np.arange(10.0)[:, None] * 0.1
    >>> whole, parts = DrawSum(chunk=4), DrawSum(chunk=4)
    >>> whole.add(x)
    >>> for lo, hi in [(0, 3), (3, 10)]:
    ...     parts.add_part(DrawSumPart.of(x[lo:hi], lo, chunk=4))
    >>> bool(np.array_equal(whole.sum(), parts.sum()))
    True
    """

    offset: int  #: draws of the block's first chunk that come before the block
    head: np.ndarray  #: (h, ...) the draws that finish that chunk (h < SUM_CHUNK)
    chunk_sums: np.ndarray  #: (k, ...) sums of the block's whole chunks, in order
    tail: np.ndarray  #: (t, ...) the draws of the last, unfinished chunk

    @classmethod
    def of(cls, values: np.ndarray, first: int, chunk: int | None = None) -> DrawSumPart:
        """The part of ``values`` (draws ``first, first + 1, ...`` of a run, counted from the
        run's first draw; first axis: draws), for a :class:`DrawSum` of chunks of ``chunk``
        (default :data:`SUM_CHUNK`)."""
        chunk = SUM_CHUNK if chunk is None else int(chunk)
        values = np.asarray(values, dtype=float)
        offset = first % chunk
        h = min(values.shape[0], (chunk - offset) % chunk)
        full = ((values.shape[0] - h) // chunk) * chunk
        body = values[h:h + full]
        sums = (np.stack([_chunk_sum(body[lo:lo + chunk]) for lo in range(0, full, chunk)])
                if full else np.empty((0, *values.shape[1:])))
        return cls(offset, values[:h].copy(), sums, values[h + full:].copy())


class DrawAssembler:
    """Put blocks of draws of one kind of dataset back together, in preallocated arrays.

    ``draws``: the number of draws of the whole run; ``first_draw``: the global index of its
    first draw. Each :meth:`add` writes the block's variables that have a ``draw`` dimension at
    the rows its ``draw`` coordinate names; variables without one are taken from the first block
    and must be the same in every block.
    """

    def __init__(self, draws: int, first_draw: int = 0) -> None:
        self.draws, self.first_draw = int(draws), int(first_draw)
        self._vars: dict[str, xr.Variable] = {}
        self._coord_names: set[str] = set()
        self._attrs: dict = {}
        self._filled = 0
        self._started = False

    def add(self, block: xr.Dataset) -> None:
        """Write one block (a dataset whose ``draw`` coordinate holds global draw indices)."""
        draw = np.asarray(block["draw"].values, dtype=np.int64)
        lo = int(draw[0]) - self.first_draw
        hi = lo + draw.size
        if lo < 0 or hi > self.draws or not np.array_equal(draw, np.arange(draw[0],
                                                                        draw[0] + draw.size)):
            raise ValueError(f"DrawAssembler: a block of draws {draw[0]}..{draw[-1]} does not "
                             f"lie in draws {self.first_draw}..{self.first_draw + self.draws - 1}"
                             " as one contiguous range")
        if not self._started:
            self._start(block)
        for name, var in block.variables.items():
            if name == "draw":
                continue
            if name not in self._vars:
                raise ValueError(f"DrawAssembler: variable {name!r} is not in the first block")
            target = self._vars[name]
            if "draw" in var.dims:
                axis = var.dims.index("draw")
                index = (slice(None),) * axis + (slice(lo, hi),)
                target.values[index] = var.values
            elif not np.array_equal(target.values, var.values, equal_nan=_floating(var)):
                raise ValueError(f"DrawAssembler: {name!r} differs between blocks")
        self._filled += draw.size

    def _start(self, block: xr.Dataset) -> None:
        self._started = True
        self._attrs = dict(block.attrs)
        self._coord_names = set(block.coords)
        per_draw = {name: tuple(self.draws if d == "draw" else n
                                for d, n in zip(var.dims, var.shape, strict=True))
                    for name, var in block.variables.items()
                    if name != "draw" and "draw" in var.dims}
        arrays = _pooled({k: (shape, block[k].dtype) for k, shape in per_draw.items()})
        for name, var in block.variables.items():
            if name == "draw":
                continue
            if name in per_draw:
                self._vars[name] = xr.Variable(var.dims, arrays[name], attrs=dict(var.attrs),
                                               encoding=var.encoding)
            else:
                self._vars[name] = var.copy(deep=True)
        self._draw_attrs = dict(block["draw"].attrs)

    def result(self) -> xr.Dataset:
        """The assembled dataset (every draw must have been added)."""
        if self._filled != self.draws:
            raise ValueError(f"DrawAssembler: {self._filled} of {self.draws} draws were added")
        coords = {"draw": xr.Variable("draw", self.first_draw + np.arange(self.draws),
                                      attrs=self._draw_attrs)}
        coords.update({k: v for k, v in self._vars.items() if k in self._coord_names})
        data = {k: v for k, v in self._vars.items() if k not in self._coord_names}
        out = xr.Dataset(data, coords=coords)
        out.attrs.update(self._attrs)
        return out


#: Alignment of each array in :func:`_pooled`'s buffer (a cache line).
_ALIGN = 64


def _pooled(specs: dict[str, tuple[tuple[int, ...], np.dtype]]) -> dict[str, np.ndarray]:
    """Empty arrays of the given shapes and dtypes; the numeric ones are views into one buffer.

    A run's per-draw results are many arrays of a few megabytes each (e.g. 40,000 draws x 8
    periods: 2.5 MB). numpy asks the system for transparent huge pages only for allocations
    of 4 MiB or more, so each such array was faulted in 4 KiB page by page as the blocks
    arrived; one buffer of their total size is faulted in 2 MiB at a time where the system
    allows it (Linux, ``transparent_hugepage`` = ``madvise`` or ``always``). The values are
    the same; only where they live changes. Other dtypes (objects, strings) get arrays of
    their own.

    >>> a = _pooled({"x": ((3, 2), np.dtype(float)), "n": ((3,), np.dtype(np.int64))})
    >>> a["x"].shape, a["n"].dtype, a["x"].flags.c_contiguous
    ((3, 2), dtype('int64'), True)
    """
    out: dict[str, np.ndarray] = {}
    placed: dict[str, tuple[int, int]] = {}  # name -> (offset, bytes) in the buffer
    total = 0
    for name, (shape, dtype) in specs.items():
        if np.dtype(dtype).kind not in "biufc":
            out[name] = np.empty(shape, dtype=dtype)
            continue
        n = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        placed[name] = (total, n)
        total += -(-n // _ALIGN) * _ALIGN
    if placed:
        buf = np.empty(total + _ALIGN, dtype=np.uint8)
        start = -buf.ctypes.data % _ALIGN  # the first aligned byte
        for name, (off, n) in placed.items():
            shape, dtype = specs[name]
            out[name] = buf[start + off:start + off + n].view(dtype).reshape(shape)
    return out


def _floating(var: xr.Variable) -> bool:
    return np.issubdtype(var.dtype, np.floating)
