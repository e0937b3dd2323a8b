"""Summaries of per-draw metrics: mean, quantiles, probabilities of loss, expected shortfall."""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

__all__ = ["QUANTILES", "cvar", "summarise"]

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def cvar(x: np.ndarray, level: float = 0.05, axis: int = -1) -> np.ndarray:
    """Expected shortfall: the mean of the worst ``level`` share of outcomes (lower tail).

    Uses the ``ceil(level * n)`` smallest finite values.

    >>> float(cvar(np.arange(100.0), 0.05))
    2.0
    """
    x = np.moveaxis(np.asarray(x, dtype=float), axis, -1)
    xs = np.sort(np.where(np.isfinite(x), x, np.inf), axis=-1)  # non-finite values sort last
    n_finite = np.isfinite(xs).sum(-1)
    k = np.maximum(np.ceil(level * n_finite).astype(int), 1)
    idx = np.arange(xs.shape[-1])
    mask = idx < k[..., None]
    with np.errstate(invalid="ignore"):
        return np.where(n_finite > 0, np.where(mask, np.nan_to_num(xs), 0).sum(-1) / k, np.nan)


def summarise(metrics: xr.Dataset, level: float = 0.05) -> xr.Dataset:
    """Summaries along ``draw`` of every variable of a metrics dataset.

    Returns a dataset with a ``statistic`` dimension: ``mean``, ``q05``...``q95``, ``cvar05``
    (expected shortfall at ``level``), ``p_finite`` (share of draws with a finite value).
    For 0/1 indicators (``loss``, ``net_loss``) the mean is the probability.
    """
    stats = ["mean", *[f"q{round(q * 100):02d}" for q in QUANTILES],
             f"cvar{round(level * 100):02d}", "p_finite"]
    out = {}
    for name, da in metrics.data_vars.items():
        if "draw" not in da.dims or da.dtype.kind not in "fiu":
            continue
        x = np.moveaxis(da.values.astype(float), da.dims.index("draw"), -1)
        finite = np.isfinite(x)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(x, -1)
            qs = np.nanquantile(x, QUANTILES, axis=-1)
        vals = [mean, *qs, cvar(x, level), finite.mean(-1)]
        rest = [d for d in da.dims if d != "draw"]
        out[name] = xr.Variable(("statistic", *rest), np.stack(vals),
                                attrs=dict(da.attrs))
    coords = {"statistic": stats}
    for d in metrics.dims:
        if d != "draw" and d in metrics.coords:
            coords[d] = metrics[d].values
    return xr.Dataset(out, coords=coords)
