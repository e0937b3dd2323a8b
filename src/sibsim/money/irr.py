"""Vectorised internal rate of return (IRR) and net present value (NPV).

Timing convention (the numpy-financial one)
-------------------------------------------
``cashflows[..., t]`` is the net cash flow of period index ``t`` (``t = 0 .. T-1``), in currency
units, signed from the holder's point of view (money paid out is negative, money received is
positive).  Flow ``t`` is discounted by ``(1 + rate) ** t``: flow 0 occurs at the valuation date
and is **not** discounted, flow 1 one period later, and so on.  This is exactly
``numpy_financial.npv`` / ``numpy_financial.irr`` (and ``pyxirr.irr``), and it differs from the
spreadsheet ``NPV()`` function, which discounts its first value by one period.

Rates are **per period** of the cash-flow columns (per year for annual columns, per quarter for
quarterly columns, ...) and are plain fractions (``0.05`` means 5 % per period).  Use
:func:`annualise_rate` to convert a per-period rate into an effective annual rate.

Layout
------
The numerical work is done by pure numba kernels (``_irr_kernel``, ``_npv_kernel``) that take
C-contiguous ``float64`` arrays of shape ``(paths, periods)`` and loop over paths with ``prange``
(below 512 paths, identical single-threaded twins are used).  Every path is solved independently
by the same per-path function, so results do not depend on the number of threads.  The public
functions (:func:`irr`, :func:`npv`, :func:`annualise_rate`) validate and prepare inputs and raise
``ValueError`` / ``TypeError`` naming the offending argument.

See ``docs/irr.md`` for the full description of the conventions and the status codes.
"""

from __future__ import annotations

import math
import numbers
import operator
from enum import IntEnum
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt
from numba import njit, prange

__all__ = ["IRRStatus", "annualise_rate", "irr", "npv"]


class IRRStatus(IntEnum):
    """Per-path outcome codes returned by ``irr(..., return_info=True)`` (stored as ``int8``).

    Attributes
    ----------
    OK : 0
        The non-zero flows change sign exactly once, so the IRR is the unique root in
        ``(-1, inf)``; it converged to ``tol``.
    MULTIPLE_SIGN_CHANGES : 1
        The flows change sign two or more times, so several IRRs may exist.  The rate returned is
        the root closest to ``guess`` on the ``log(1 + rate)`` scale, found by scanning a fixed grid
        outward from ``guess`` and refining the first bracketing cell (see ``docs/irr.md``).
    TOTAL_LOSS : 2
        Money goes out and nothing comes back (at least one negative flow, no positive flow).
        By convention the rate is ``-1.0`` (all capital lost).
    NO_SIGN_CHANGE : 3
        Money comes back but none goes out (at least one positive flow, no negative flow): no
        IRR exists; the rate is NaN.
    NOT_CONVERGED : 4
        A root was bracketed but the safeguarded Newton iteration did not reach ``tol`` within
        ``maxiter`` steps; the rate is NaN (raise ``maxiter`` or loosen ``tol``).
    ALL_ZERO : 5
        Every flow is zero: the NPV is zero at every rate, no IRR is defined; the rate is NaN.
    NO_ROOT_FOUND : 6
        The flows change sign but no root was found: with several sign changes the NPV does not
        cross zero on the scan grid (e.g. ``[1, -2, 2]`` has no real IRR), or the root lies
        outside the representable range ``|log(1 + rate)| <= 700``.  The rate is NaN.
    """

    OK = 0
    MULTIPLE_SIGN_CHANGES = 1
    TOTAL_LOSS = 2
    NO_SIGN_CHANGE = 3
    NOT_CONVERGED = 4
    ALL_ZERO = 5
    NO_ROOT_FOUND = 6


# Plain ints for use inside numba kernels (numba cannot read IntEnum members cheaply).
_OK = np.int8(IRRStatus.OK)
_MULTI = np.int8(IRRStatus.MULTIPLE_SIGN_CHANGES)
_TOTAL_LOSS = np.int8(IRRStatus.TOTAL_LOSS)
_NO_SIGN_CHANGE = np.int8(IRRStatus.NO_SIGN_CHANGE)
_NOT_CONVERGED = np.int8(IRRStatus.NOT_CONVERGED)
_ALL_ZERO = np.int8(IRRStatus.ALL_ZERO)
_NO_ROOT = np.int8(IRRStatus.NO_ROOT_FOUND)
_INVALID = np.int8(-1)  # internal only: a non-finite flow (the wrapper raises ValueError)

#: Search range for u = log(1 + rate) = -log(y), with y = 1 / (1 + rate) the one-period discount
#: factor; exp(+-700) stays well inside float64.
_U_MAX = 700.0
_Y_MIN = math.exp(-_U_MAX)
_Y_MAX = math.exp(_U_MAX)
#: Multiple-sign-change scan: cells of width _SCAN_H0 (in u) near the guess, growing in proportion
#: to the distance d from the guess beyond d = _SCAN_H0 / _SCAN_REL (width = max(H0, REL * d)).
_SCAN_H0 = 0.005
_SCAN_REL = 0.02
#: While one end of the bracket is the (never evaluated) edge of the range, step out from the
#: last point by this factor on y, squared after each use (0.25, 0.5, 1, 2, ... in log(1 + rate)).
_GROW0 = math.exp(0.25)

#: Flows whose largest magnitude lies outside (_SCALE_LO, _SCALE_HI) are rescaled first.
_SCALE_LO = 2.0**-300
_SCALE_HI = 2.0**300
#: Below this many paths the single-threaded kernels are used: waking the thread pool costs more
#: than it saves, and much more on a loaded machine.  Results are identical either way.
_PARALLEL_MIN_PATHS = 512

# Outcome of _refine.
_CONVERGED = 0
_MAXITER = 1
_OUT_OF_RANGE = 2


# --------------------------------------------------------------------------------------------
# numba kernels (pure functions of arrays and scalars)
# --------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, inline="always")
def _poly(f: np.ndarray, t0: int, t1: int, scale: float, y: float) -> tuple[float, float, float]:
    """``(Q(y), Q'(y), Q''(y) / 2)`` for ``Q(y) = sum_{t=t0}^{t1} scale * f[t] * y**(t - t0)``.

    ``y = 1 / (1 + rate)``; ``Q(y)`` is the NPV times the positive factor
    ``scale * (1 + rate)**t0``, so it has the NPV's sign and roots.  Horner from the last non-zero
    flow; with ``max |scale * f| < 1`` an overflow can only occur where the top power dominates,
    so the sign of ``Q`` stays correct even when it saturates to +-inf (and it is never NaN).
    """
    p = f[t1] * scale
    dp = 0.0
    ddp = 0.0
    for t in range(t1 - 1, t0 - 1, -1):
        ddp = ddp * y + dp
        dp = dp * y + p
        p = p * y + f[t] * scale
    return p, dp, ddp


@njit(cache=True, nogil=True)
def _refine(
    f: np.ndarray,
    t0: int,
    t1: int,
    scale: float,
    lo: float,
    hi: float,
    pos_at_lo: bool,
    lo_virtual: bool,
    hi_virtual: bool,
    x: float,
    p: float,
    dp: float,
    ddp: float,
    tol: float,
    maxiter: int,
) -> tuple[float, int]:
    """Safeguarded Halley/Newton iteration for ``Q(y) = 0`` on the bracket ``lo < y < hi``.

    ``Q`` is positive just above ``lo`` iff ``pos_at_lo`` and has the opposite sign just below
    ``hi``.  ``x`` (with ``Q, Q', Q''/2 = p, dp, ddp``) is the starting point.  An end flagged
    ``*_virtual`` is the edge of the searched range and was never evaluated; while one end is
    virtual, ``x`` is the real end (every evaluation so far fell on one side of the root).

    Each step tries Halley (then Newton).  The step is taken only if it lands strictly inside
    the bracket and, relative to ``y``, is at most half the previous step (so accepted steps
    shrink geometrically, also on the log scale);
    while the bracket spans more than a factor 4 it must also halve ``log(hi / lo)`` at least
    every two steps.  Otherwise: with a virtual end, step out from ``x`` by a factor that is
    squared each time (0.25, 0.5, 1, 2, ... on the log scale) until the sign flips or the edge
    is reached; with two real ends, bisect (geometric mean while ``hi > 4 lo``).  Converged when
    a step is below ``tol * y``.  At most ``maxiter`` evaluations.  Returns ``(y, outcome)``.
    """
    dxr = np.inf  # relative size |step| / y of the last step
    grow = _GROW0
    r1 = np.inf  # bracket ratio hi / lo one and two steps ago
    r2 = np.inf
    for _ in range(maxiter):
        # Halley step, else Newton step; NaN/inf (from overflow) fail the bracket test.
        ok = False
        stepped = False
        xn = x
        den = dp * dp - p * ddp
        if den > 0.0:
            xn = x - p * dp / den
            stepped = True
            ok = lo < xn < hi
        if not ok and dp != 0.0:
            xn = x - p / dp
            stepped = True
            ok = lo < xn < hi
        if stepped and abs(xn - x) <= tol * x and math.isfinite(dp):
            # x is within tol of the root.  (Checked before the bracket test: at this scale the
            # sign of Q is rounding noise, and bisecting on it would only waste steps.)
            return (xn if ok else x), _CONVERGED
        if ok and 2.0 * abs(xn - x) > dxr * x:
            ok = False
        at_edge = False
        if lo_virtual or hi_virtual:
            if ok and (xn > x * grow or xn * grow < x):
                ok = False
            if not ok:
                if hi_virtual:
                    xn = x * grow
                    if xn >= hi:
                        xn = hi
                        at_edge = True
                else:
                    xn = x / grow
                    if xn <= lo:
                        xn = lo
                        at_edge = True
                grow *= grow
        else:
            ratio = hi / lo
            if ok and ratio > 4.0 and ratio * ratio > r2:
                ok = False
            r2 = r1
            r1 = ratio
            if not ok:
                xn = math.sqrt(lo) * math.sqrt(hi) if ratio > 4.0 else 0.5 * (lo + hi)
                if xn <= lo or xn >= hi or 0.5 * (hi - lo) <= tol * xn:
                    return xn, _CONVERGED  # the bracket has collapsed
        dx = abs(xn - x)
        dxr = dx / x
        x = xn
        if ok and dx <= tol * x:
            return x, _CONVERGED
        p, dp, ddp = _poly(f, t0, t1, scale, x)
        if p == 0.0:
            return x, _CONVERGED
        if (p > 0.0) == pos_at_lo:
            if at_edge and hi_virtual:
                return x, _OUT_OF_RANGE  # Q has not changed sign up to the edge
            lo = x
            lo_virtual = False
        else:
            if at_edge and lo_virtual:
                return x, _OUT_OF_RANGE
            hi = x
            hi_virtual = False
    return x, _MAXITER


@njit(cache=True, nogil=True)
def _solve_single(
    f: np.ndarray, t0: int, t1: int, scale: float, yg: float, tol: float, maxiter: int
) -> tuple[float, np.int8]:
    """Unique root ``y`` for flows with exactly one sign change; returns ``(y, status)``.

    ``Q`` has exactly one positive root (Descartes); it has the sign of the first non-zero flow
    below the root and the opposite sign above it.  One evaluation at the guess ``yg`` decides
    which side the root is on; the other end of the bracket is the edge of the searched range.
    """
    p, dp, ddp = _poly(f, t0, t1, scale, yg)
    if p == 0.0:
        return yg, _OK
    first_pos = f[t0] > 0.0
    above = (p > 0.0) == first_pos  # root above the guess (lower rate)
    lo = yg if above else _Y_MIN
    hi = _Y_MAX if above else yg
    y, out = _refine(
        f, t0, t1, scale, lo, hi, first_pos, not above, above, yg, p, dp, ddp, tol, maxiter
    )
    if out == _CONVERGED:
        return y, _OK
    if out == _MAXITER:
        return np.nan, _NOT_CONVERGED
    return np.nan, _NO_ROOT


@njit(cache=True, nogil=True)
def _refine_cell(
    f: np.ndarray,
    t0: int,
    t1: int,
    scale: float,
    u_near: float,
    q_near: tuple[float, float, float],
    u_far: float,
    p_far: float,
    tol: float,
    maxiter: int,
) -> tuple[float, int]:
    """Refine a scan cell ``[u_near, u_far]`` (either order) whose end values differ in sign."""
    if p_far == 0.0:
        return math.exp(-u_far), _CONVERGED
    y_near = math.exp(-u_near)
    y_far = math.exp(-u_far)
    p, dp, ddp = q_near
    lo = min(y_near, y_far)
    hi = max(y_near, y_far)
    pos_at_lo = (p > 0.0) if y_near < y_far else (p_far > 0.0)
    return _refine(
        f, t0, t1, scale, lo, hi, pos_at_lo, False, False, y_near, p, dp, ddp, tol, maxiter
    )


@njit(cache=True, nogil=True)
def _root_free_beyond(f: np.ndarray, t0: int, t1: int) -> tuple[float, float]:
    """``(u_left, u_right)``: ``Q`` has no root with ``u < u_left`` or ``u > u_right``.

    Cauchy's bound: every root of ``Q`` (degree ``n = t1 - t0``) has ``|y| < 1 + M`` with
    ``M = max_{t < t1} |f[t] / f[t1]|``, and (the same bound on the reversed polynomial)
    ``|y| > 1 / (1 + m)`` with ``m = max_{t > t0} |f[t] / f[t0]|``. A further factor
    ``e**0.5`` leaves the leading (or constant) term larger than all the others together by
    more than a third, so no rounding in Horner's sum can change the sign of ``Q`` there: the
    scan of :func:`_solve_multi` would find no sign change beyond these points.
    """
    big = 0.0
    small = 0.0
    for t in range(t0, t1 + 1):
        a = abs(f[t])
        if t < t1:
            big = max(big, a / abs(f[t1]))
        if t > t0:
            small = max(small, a / abs(f[t0]))
    return -math.log1p(big) - 0.5, math.log1p(small) + 0.5


@njit(cache=True, nogil=True)
def _rootless(f: np.ndarray, t0: int, t1: int, y_lo: float, y_hi: float) -> bool:
    """Whether ``Q`` has no root for ``y`` in ``[y_lo, y_hi]`` (``0 < y_lo <= y_hi``), proved by
    splitting ``Q = P - N`` into its positive and negative terms, both non-decreasing in ``y``:
    on the interval ``P(y_lo) - N(y_hi) <= Q <= P(y_hi) - N(y_lo)``. The bound must clear a
    margin of ``1e-8 * (P + N)(y_hi)``, far above the rounding of Horner's sum, so the computed
    ``Q`` keeps one sign at every point of the interval too. Overflow gives False."""
    p_lo = 0.0
    n_lo = 0.0
    p_hi = 0.0
    n_hi = 0.0
    for t in range(t1, t0 - 1, -1):
        c = f[t]
        pos = c if c > 0.0 else 0.0
        neg = -c if c < 0.0 else 0.0
        p_lo = p_lo * y_lo + pos
        n_lo = n_lo * y_lo + neg
        p_hi = p_hi * y_hi + pos
        n_hi = n_hi * y_hi + neg
    margin = 1e-8 * (p_hi + n_hi)
    return (p_lo - n_hi > margin) or (p_hi - n_lo < -margin)


#: Width of a stretch of the scan (in scan cells) that :func:`_rootless` tries to clear at once.
_CLEAR_CELLS = 8.0


@njit(cache=True, nogil=True)
def _solve_multi(
    f: np.ndarray, t0: int, t1: int, scale: float, ug: float, tol: float, maxiter: int,
    u_left: float = -np.inf, u_right: float = np.inf, clear: bool = True,
) -> tuple[float, np.int8]:
    """Root closest to ``ug`` (in ``u = log(1 + rate)``) for several sign changes: ``(y, status)``.

    Scans cells ``[ug + d_k, ug + d_{k+1}]`` and ``[ug - d_{k+1}, ug - d_k]`` for k = 0, 1, ...
    on both sides at once.  At the first k where either cell brackets a sign change, the (one or
    two) bracketing cells are refined and the root nearer to ``ug`` is returned (a tie goes to the
    lower rate).  Any root in a later cell is at least as far away, so this is the closest root,
    up to roots the grid cannot see (two roots inside one cell, or a root of even multiplicity).

    A side stops once it has passed ``u_left`` or ``u_right`` (:func:`_root_free_beyond`), where
    no cell can bracket a sign change: the same result, without scanning out to +-700 when
    there is no root (most of the time of a deal's IRRs went there). With ``clear``, the scan
    also steps over stretches of :data:`_CLEAR_CELLS` cells (twice as many after each stretch
    proved, back to that after a failure) that :func:`_rootless` proves free
    of roots, without evaluating ``Q`` in them (no cell there could bracket a sign change; the
    near end of the first cell after one is evaluated again): the same result.
    """
    qg = _poly(f, t0, t1, scale, math.exp(-ug))
    if qg[0] == 0.0:
        return math.exp(-ug), _MULTI
    d = 0.0
    ul, ql = ug, qg
    ur, qr = ug, qg
    ul_n, ql_n = ug, qg
    ur_n, qr_n = ug, qg
    left_open = ug > -_U_MAX
    right_open = ug < _U_MAX
    # proved free of roots: u in [clear_l, ug] and [ug, clear_r]; the next try at distance d
    clear_l = ug
    clear_r = ug
    try_l = 0.0
    try_r = 0.0
    stale_l = False
    stale_r = False
    grow_l = 1.0  # a stretch proved free doubles the next one's width; a failure resets it
    grow_r = 1.0
    while left_open or right_open:
        if ul < u_left:
            left_open = False
        if ur > u_right:
            right_open = False
        if not (left_open or right_open):
            break
        if clear:  # step over the cells that both sides skip, with the loop's own arithmetic
            d_from = d
            while True:
                d_next = d + max(_SCAN_H0, _SCAN_REL * d)
                u_l = ug - d_next
                u_r = ug + d_next
                if left_open and (u_l <= -_U_MAX or u_l < clear_l or ul < u_left):
                    break
                if right_open and (u_r >= _U_MAX or u_r > clear_r or ur > u_right):
                    break
                d = d_next
                if left_open:
                    ul = u_l
                if right_open:
                    ur = u_r
            if d > d_from:
                stale_l = stale_l or left_open
                stale_r = stale_r or right_open
                continue  # the side checks again at the top
        d_next = d + max(_SCAN_H0, _SCAN_REL * d)
        found_l = False
        found_r = False
        skip_l = False
        skip_r = False
        width = _CLEAR_CELLS * (d_next - d)
        if left_open:
            ul_n = ug - d_next
            if ul_n <= -_U_MAX:
                ul_n = -_U_MAX
                left_open = False
            if clear and ul_n < clear_l and d >= try_l:
                far = max(ul - grow_l * width, -_U_MAX)
                if _rootless(f, t0, t1, math.exp(-ul), math.exp(-far)):
                    clear_l = far
                    grow_l *= 2.0
                else:
                    try_l = d + width
                    grow_l = 1.0
            skip_l = ul_n >= clear_l
            if not skip_l:
                if stale_l:
                    ql = _poly(f, t0, t1, scale, math.exp(-ul))
                    stale_l = False
                ql_n = _poly(f, t0, t1, scale, math.exp(-ul_n))
                found_l = ql_n[0] == 0.0 or ((ql_n[0] > 0.0) != (ql[0] > 0.0))
        if right_open:
            ur_n = ug + d_next
            if ur_n >= _U_MAX:
                ur_n = _U_MAX
                right_open = False
            if clear and ur_n > clear_r and d >= try_r:
                far = min(ur + grow_r * width, _U_MAX)
                if _rootless(f, t0, t1, math.exp(-far), math.exp(-ur)):
                    clear_r = far
                    grow_r *= 2.0
                else:
                    try_r = d + width
                    grow_r = 1.0
            skip_r = ur_n <= clear_r
            if not skip_r:
                if stale_r:
                    qr = _poly(f, t0, t1, scale, math.exp(-ur))
                    stale_r = False
                qr_n = _poly(f, t0, t1, scale, math.exp(-ur_n))
                found_r = qr_n[0] == 0.0 or ((qr_n[0] > 0.0) != (qr[0] > 0.0))
        if found_l or found_r:
            best_y = np.nan
            best_out = _MAXITER
            best_dist = np.inf
            if found_l:
                best_y, best_out = _refine_cell(
                    f, t0, t1, scale, ul, ql, ul_n, ql_n[0], tol, maxiter
                )
                best_dist = abs(ug + math.log(best_y))
            if found_r:
                y_r, out_r = _refine_cell(f, t0, t1, scale, ur, qr, ur_n, qr_n[0], tol, maxiter)
                if abs(ug + math.log(y_r)) < best_dist:
                    best_y, best_out = y_r, out_r
            if best_out == _CONVERGED:
                return best_y, _MULTI
            return np.nan, _NOT_CONVERGED
        if left_open:
            ul = ul_n
            if skip_l:
                stale_l = True
            else:
                ql = ql_n
        if right_open:
            ur = ur_n
            if skip_r:
                stale_r = True
            else:
                qr = qr_n
        d = d_next
    return np.nan, _NO_ROOT


@njit(cache=True, nogil=True)
def _irr_path(f: np.ndarray, yg: float, tol: float, maxiter: int) -> tuple[float, np.int8]:
    """IRR of one path of flows ``f`` (1-D float64); returns ``(rate, status)``.

    ``yg = 1 / (1 + guess)``, already clipped to the searched range.
    """
    n = f.shape[0]
    t0 = -1
    t1 = -1
    has_pos = False
    has_neg = False
    changes = 0
    last_pos = False
    amax = 0.0
    for t in range(n):
        v = f[t]
        if v == 0.0:
            continue
        if not math.isfinite(v):
            return np.nan, _INVALID
        pos = v > 0.0
        if t0 < 0:
            t0 = t
        elif pos != last_pos:
            changes += 1
        t1 = t
        last_pos = pos
        if pos:
            has_pos = True
        else:
            has_neg = True
        av = abs(v)
        if av > amax:
            amax = av
    if t0 < 0:
        return np.nan, _ALL_ZERO
    if not has_pos:
        return -1.0, _TOTAL_LOSS
    if not has_neg:
        return np.nan, _NO_SIGN_CHANGE
    # Huge or tiny flows: scale by an exact power of two so that max |scale*f| is in [0.5, 1),
    # avoiding spurious overflow/underflow in Horner and in the Halley products.  Skipped within
    # 2**+-300 (the usual case; saves two libm calls), where an overflow needs an extreme rate,
    # keeps the sign of Q right, and only makes a step fall back from Halley to Newton/bisection.
    scale = 1.0
    if not (_SCALE_LO < amax < _SCALE_HI):
        e = math.frexp(amax)[1]
        e = min(max(e, -1021), 1021)
        scale = math.ldexp(1.0, -e)
    if changes == 1:
        y, status = _solve_single(f, t0, t1, scale, yg, tol, maxiter)
    else:
        u_left, u_right = _root_free_beyond(f, t0, t1)
        y, status = _solve_multi(f, t0, t1, scale, -math.log(yg), tol, maxiter, u_left, u_right)
    if status == _OK or status == _MULTI:
        return (1.0 - y) / y, status
    return np.nan, status


@njit(parallel=True, cache=True, nogil=True)
def _irr_kernel(
    flows: np.ndarray, guess: float, tol: float, maxiter: int
) -> tuple[np.ndarray, np.ndarray]:
    """IRR of every row of ``flows`` (C-contiguous float64, shape (paths, periods)).

    Returns ``(rate, status)``: float64 per-period rates and int8 :class:`IRRStatus` codes; a
    path holding NaN or inf gets the internal code -1 (checked here to save a separate pass).
    """
    n = flows.shape[0]
    rate = np.empty(n, dtype=np.float64)
    status = np.empty(n, dtype=np.int8)
    yg = min(max(1.0 / (1.0 + guess), _Y_MIN), _Y_MAX)
    for i in prange(n):
        rate[i], status[i] = _irr_path(flows[i], yg, tol, maxiter)
    return rate, status


@njit(cache=True, nogil=True)
def _irr_kernel_serial(
    flows: np.ndarray, guess: float, tol: float, maxiter: int
) -> tuple[np.ndarray, np.ndarray]:
    """Single-threaded :func:`_irr_kernel` (same results), for a few paths."""
    n = flows.shape[0]
    rate = np.empty(n, dtype=np.float64)
    status = np.empty(n, dtype=np.int8)
    yg = min(max(1.0 / (1.0 + guess), _Y_MIN), _Y_MAX)
    for i in range(n):
        rate[i], status[i] = _irr_path(flows[i], yg, tol, maxiter)
    return rate, status


@njit(cache=True, nogil=True)
def _npv_path(f: np.ndarray, r: float, begin: bool) -> float:
    """``sum_t f[t] / (1 + r)**t`` by Horner in ``1 / (1 + r)``, times ``1 + r`` if ``begin``."""
    if math.isnan(r):
        return np.nan
    y = 1.0 / (1.0 + r)
    acc = 0.0
    for t in range(f.shape[0] - 1, -1, -1):
        acc = acc * y + f[t]
    return acc * (1.0 + r) if begin else acc


@njit(parallel=True, cache=True, nogil=True)
def _npv_kernel(flows: np.ndarray, rates: np.ndarray, begin: bool) -> np.ndarray:
    """NPV of every row of ``flows`` at the matching per-path rate (numpy-financial timing).

    ``out[i] = sum_t flows[i, t] / (1 + rates[i])**t`` (times ``1 + rates[i]`` when ``begin``).
    NaN rates give NaN.
    """
    n = flows.shape[0]
    out = np.empty(n, dtype=np.float64)
    for i in prange(n):
        out[i] = _npv_path(flows[i], rates[i], begin)
    return out


@njit(cache=True, nogil=True)
def _npv_kernel_serial(flows: np.ndarray, rates: np.ndarray, begin: bool) -> np.ndarray:
    """Single-threaded :func:`_npv_kernel` (same results), for a few paths."""
    n = flows.shape[0]
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        out[i] = _npv_path(flows[i], rates[i], begin)
    return out


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


def _as_flows(cashflows: npt.ArrayLike, check_finite: bool = True) -> tuple[np.ndarray, bool]:
    """Validate ``cashflows``; return a C-contiguous float64 (paths, periods) array and is_1d."""
    try:
        arr = np.asarray(cashflows)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(
            f"cashflows must be a rectangular 1-D or 2-D array of numbers; {exc}"
        ) from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(
            f"cashflows must hold real numbers (integer or floating dtype); got dtype {arr.dtype}"
        )
    if arr.ndim not in (1, 2):
        raise ValueError(
            "cashflows must be 1-D (periods,) or 2-D (paths, periods); "
            f"got ndim={arr.ndim}, shape={arr.shape}"
        )
    if arr.shape[-1] == 0:
        raise ValueError(f"cashflows must have at least one period; got shape {arr.shape}")
    flows = np.ascontiguousarray(arr, dtype=np.float64)
    is_1d = flows.ndim == 1
    flows2 = flows.reshape(1, -1) if is_1d else flows
    if check_finite and not np.isfinite(flows2).all():
        _raise_not_finite(flows2, is_1d)
    return flows2, is_1d


def _raise_not_finite(flows: np.ndarray, is_1d: bool) -> None:
    i, t = np.argwhere(~np.isfinite(flows))[0]
    where = f"period {t}" if is_1d else f"path {i}, period {t}"
    raise ValueError(f"cashflows must be finite (no NaN or inf); found {flows[i, t]} at {where}")


def _real_scalar(value: Any, name: str) -> float:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    return float(value)


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------


@overload
def irr(
    cashflows: npt.ArrayLike,
    *,
    guess: float = ...,
    tol: float = ...,
    maxiter: int = ...,
    return_info: Literal[False] = ...,
) -> float | np.ndarray: ...


@overload
def irr(
    cashflows: npt.ArrayLike,
    *,
    guess: float = ...,
    tol: float = ...,
    maxiter: int = ...,
    return_info: Literal[True],
) -> tuple[float, IRRStatus] | tuple[np.ndarray, np.ndarray]: ...


def irr(
    cashflows: npt.ArrayLike,
    *,
    guess: float = 0.1,
    tol: float = 1e-12,
    maxiter: int = 100,
    return_info: bool = False,
) -> Any:
    """Internal rate of return per period, for one path or many paths at once.

    The IRR is the rate ``r > -1`` at which the NPV is zero,
    ``sum_t cashflows[..., t] / (1 + r)**t == 0`` (numpy-financial convention: flow 0 is at the
    valuation date and is not discounted, flow ``t`` is discounted ``t`` periods).

    Parameters
    ----------
    cashflows : array_like of real numbers, shape (periods,) or (paths, periods)
        Net cash flows in currency units, one column per period, signed from the holder's point
        of view (paid out < 0, received > 0).  Must be finite.  Integer input is converted to
        float64.
    guess : float, default 0.1
        Starting rate (per period, > -1).  With exactly one sign change the root is unique and
        ``guess`` only affects speed.  With several sign changes the returned root is the one
        closest to ``guess`` on the ``log(1 + rate)`` scale.
    tol : float, default 1e-12
        Convergence tolerance (> 0), relative, on the growth factor ``1 + rate`` (equivalently
        absolute on ``log(1 + rate)``): iteration stops once a step changes ``1 / (1 + rate)``
        by less than ``tol`` times its value.  The steps converge cubically, so the final error
        is usually at the rounding level.
    maxiter : int, default 100
        Hard cap (>= 1) on the function evaluations of the root refinement per path (Halley,
        Newton, bracket expansion or bisection steps); paths that hit it get ``NOT_CONVERGED``.
        Typical paths need 3-5; the worst cases seen in stress tests about 70.  The grid scan
        used for several sign changes is bounded separately by its fixed grid.
    return_info : bool, default False
        Also return the per-path status codes (:class:`IRRStatus`).

    Returns
    -------
    rate : float or ndarray of float64, shape (paths,)
        IRR per period (a fraction: 0.05 is 5 % per period; see :func:`annualise_rate`).
        A Python ``float`` for 1-D input.  NaN where no IRR is returned (see status).
    status : IRRStatus or ndarray of int8, shape (paths,)
        Only with ``return_info=True``.  An :class:`IRRStatus` member for 1-D input, otherwise
        an ``int8`` array of :class:`IRRStatus` codes:

        * ``OK`` (0): exactly one sign change; the unique root (agrees with
          ``numpy_financial.irr`` and ``pyxirr.irr``).
        * ``MULTIPLE_SIGN_CHANGES`` (1): several sign changes; root closest to ``guess``.
        * ``TOTAL_LOSS`` (2): outflows and no inflow; rate ``-1.0`` by convention.
        * ``NO_SIGN_CHANGE`` (3): inflows and no outflow; NaN.
        * ``NOT_CONVERGED`` (4): ``maxiter`` reached; NaN.
        * ``ALL_ZERO`` (5): all flows zero; NaN.
        * ``NO_ROOT_FOUND`` (6): sign changes but no root found (e.g. ``[1, -2, 2]``) or root
          outside ``|log(1 + rate)| <= 700``; NaN.

    Raises
    ------
    TypeError
        If ``cashflows`` is not a real numeric array, or a scalar argument has the wrong type.
    ValueError
        If ``cashflows`` is not 1-D/2-D, has no period, or holds NaN/inf; if ``guess <= -1``,
        ``tol <= 0`` or ``maxiter < 1``.

    Notes
    -----
    Each path is solved in a numba ``prange`` loop, independently of the others (results are
    identical for any thread count).  The NPV is a polynomial in the discount factor
    ``y = 1 / (1 + rate)``; its root is found with Halley/Newton steps safeguarded by a
    sign-change bracket (bisection on the log scale while the bracket is wide), starting from
    ``guess``.  Flows are scaled by an exact power of two first, so huge or tiny magnitudes do
    not overflow.  Rates are searched in ``|log(1 + rate)| <= 700``.  Every loop has a hard
    bound, so the call always terminates.  Unlike ``numpy_financial.irr`` (NaN), a total loss
    returns ``-1.0``.  See ``docs/irr.md``.

    Examples
    --------
    >>> round(irr([-100, 39, 59, 55, 20]), 5)
    0.28095
    >>> rates, status = irr([[-100, 110], [-100, -5], [0, 0]], return_info=True)
    >>> rates
    array([ 0.1, -1. ,  nan])
    >>> [IRRStatus(s).name for s in status]
    ['OK', 'TOTAL_LOSS', 'ALL_ZERO']
    """
    flows, is_1d = _as_flows(cashflows, check_finite=False)  # the kernel flags non-finite paths
    g = _real_scalar(guess, "guess")
    if not (math.isfinite(g) and g > -1.0):
        raise ValueError(f"guess must be a finite rate > -1; got {guess!r}")
    tl = _real_scalar(tol, "tol")
    if not (math.isfinite(tl) and tl > 0.0):
        raise ValueError(f"tol must be a finite number > 0; got {tol!r}")
    if isinstance(maxiter, bool | np.bool_):
        raise TypeError("maxiter must be an integer; got bool")
    try:
        mi = operator.index(maxiter)
    except TypeError:
        raise TypeError(f"maxiter must be an integer; got {type(maxiter).__name__}") from None
    if mi < 1:
        raise ValueError(f"maxiter must be >= 1; got {maxiter!r}")
    if not isinstance(return_info, bool | np.bool_):
        raise TypeError(f"return_info must be a bool; got {type(return_info).__name__}")

    kernel = _irr_kernel if flows.shape[0] >= _PARALLEL_MIN_PATHS else _irr_kernel_serial
    rate, status = kernel(flows, g, tl, mi)
    if status.size and status.min() < 0:
        _raise_not_finite(flows, is_1d)
    if is_1d:
        if return_info:
            return float(rate[0]), IRRStatus(int(status[0]))
        return float(rate[0])
    if return_info:
        return rate, status
    return rate


def npv(
    rate: npt.ArrayLike,
    cashflows: npt.ArrayLike,
    *,
    when: Literal["end", "begin"] = "end",
) -> float | np.ndarray:
    """Net present value at a per-period discount rate (numpy-financial timing).

    ``npv = sum_t cashflows[..., t] / (1 + rate)**t``: flow 0 is at the valuation date and is
    **not** discounted, flow ``t`` is discounted ``t`` periods (as ``numpy_financial.npv``; a
    spreadsheet ``NPV()`` would discount every flow one period more).

    Parameters
    ----------
    rate : float or array_like of float, shape () or (paths,)
        Discount rate per period (a fraction, > -1).  A scalar applies to every path; with 2-D
        ``cashflows`` a 1-D array gives one rate per path (e.g. the output of :func:`irr`).
        NaN rates give NaN NPVs.
    cashflows : array_like of real numbers, shape (periods,) or (paths, periods)
        Net cash flows in currency units, one column per period (finite).
    when : {'end', 'begin'}, default 'end'
        ``'end'``: flow ``t`` falls ``t`` periods after the valuation date (the convention
        above, matching :func:`irr`, so ``npv(irr(f), f) == 0``).  ``'begin'``: every flow is
        moved one period earlier (annuity-due, like ``when='begin'`` in
        ``numpy_financial.pv``), i.e. the ``'end'`` value times ``1 + rate``.

    Returns
    -------
    float or ndarray of float64, shape (paths,)
        NPV in the currency units of ``cashflows``; a Python ``float`` for 1-D ``cashflows``.

    Raises
    ------
    TypeError
        If ``cashflows`` or ``rate`` is not real numeric, or ``when`` is not a string.
    ValueError
        If shapes do not match, ``cashflows`` holds NaN/inf, a rate is <= -1 or infinite, or
        ``when`` is not ``'end'``/``'begin'``.

    Examples
    --------
    >>> round(npv(0.08, [-40_000, 5_000, 8_000, 12_000, 30_000]), 5)
    3065.22267
    >>> npv([0.0, 0.1], [[-100, 110], [-100, 110]])
    array([10.,  0.])
    """
    if not isinstance(when, str):
        raise TypeError(f"when must be 'end' or 'begin'; got {type(when).__name__}")
    if when not in ("end", "begin"):
        raise ValueError(f"when must be 'end' or 'begin'; got {when!r}")
    flows, is_1d = _as_flows(cashflows)
    r = np.asarray(rate)
    if r.dtype.kind not in "iuf":
        raise TypeError(f"rate must be real (integer or floating dtype); got dtype {r.dtype}")
    r = r.astype(np.float64)
    n = flows.shape[0]
    if r.ndim == 0:
        rates = np.full(n, float(r))
    elif is_1d:
        raise ValueError(
            f"rate must be a scalar when cashflows is 1-D; got rate with shape {r.shape}"
        )
    elif r.shape == (n,):
        rates = np.ascontiguousarray(r)
    else:
        raise ValueError(
            f"rate must be a scalar or have shape (paths,) = ({n},); got shape {r.shape}"
        )
    bad = ~np.isnan(rates) & ~(np.isfinite(rates) & (rates > -1.0))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"rate must be > -1 and finite (NaN allowed, gives NaN); got {rates[i]} "
            + ("" if r.ndim == 0 else f"at path {i} ")
            + "(mask TOTAL_LOSS paths from irr before discounting)"
        )
    kernel = _npv_kernel if n >= _PARALLEL_MIN_PATHS else _npv_kernel_serial
    out = kernel(flows, rates, when == "begin")
    return float(out[0]) if is_1d else out


def annualise_rate(rate_per_period: npt.ArrayLike, periods_per_year: float) -> float | np.ndarray:
    """Convert a per-period rate into the equivalent effective annual rate.

    ``annual = (1 + rate_per_period) ** periods_per_year - 1`` (compounding), computed as
    ``expm1(periods_per_year * log1p(rate))`` for accuracy near zero.

    Parameters
    ----------
    rate_per_period : float or array_like of float
        Rate per period (fraction, >= -1; NaN allowed and propagated), e.g. a quarterly IRR.
    periods_per_year : float
        Number of periods in a year (> 0, finite): 1 annual, 4 quarterly, 12 monthly.

    Returns
    -------
    float or ndarray of float64
        Effective annual rate (fraction); same shape as ``rate_per_period``.  ``-1`` stays ``-1``.

    Examples
    --------
    >>> round(annualise_rate(0.01, 12), 6)
    0.126825
    >>> annualise_rate([-1.0, 0.0], 4)
    array([-1.,  0.])
    """
    ppy = _real_scalar(periods_per_year, "periods_per_year")
    if not (math.isfinite(ppy) and ppy > 0.0):
        raise ValueError(f"periods_per_year must be a finite number > 0; got {periods_per_year!r}")
    r = np.asarray(rate_per_period)
    if r.dtype.kind not in "iuf":
        raise TypeError(
            f"rate_per_period must be real (integer or floating dtype); got dtype {r.dtype}"
        )
    r = r.astype(np.float64)
    bad = ~np.isnan(r) & ~(np.isfinite(r) & (r >= -1.0))
    if bad.any():
        raise ValueError(
            f"rate_per_period must be finite and >= -1 (NaN allowed); got {r[bad].flat[0]}"
        )
    with np.errstate(divide="ignore"):
        out = np.expm1(ppy * np.log1p(r))
    return float(out) if out.ndim == 0 else out
