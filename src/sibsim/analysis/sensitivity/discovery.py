"""Where each party loses: scenario discovery with a shallow classification tree on the draws.

For a loss indicator per draw (investors get back less than they put in; the commissioner
pays more than it saves) and the uncertain inputs of the same draws, a tree of depth 2 is
grown: at each node the split ``x_i <= t`` (``t`` one of the input's 5%, 10%, ..., 95%
quantiles in the node) that most reduces the Gini impurity ``2 p (1 - p)`` is taken. The leaf
with the highest loss rate (among leaves holding at least ``min_share`` of the draws) is told
in plain words: "Investors lose in 83% of draws where effect.value > 0.93 (41% of draws)".

Reference: Breiman, L., Friedman, J., Olshen, R. and Stone, C. (1984), Classification and
Regression Trees; Bryant, B. P. and Lempert, R. J. (2010), "Thinking inside the box: a
participatory, computer-assisted approach to scenario discovery", Technological Forecasting
and Social Change 77(1): 34-49 (scenario discovery).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> X = rng.uniform(0, 1, (4000, 2))
>>> loss = (X[:, 0] > 0.7) & (rng.uniform(size=4000) < 0.9)
>>> tree = grow(X, loss, ["effect", "price"])
>>> tree.feature, round(tree.threshold, 1)
('effect', 0.7)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sibsim.analysis.sensitivity._common import per_draw_outputs, results_inputs
from sibsim.spec import _validate as v

__all__ = ["Node", "describe_region", "grow", "leaves", "run", "statement", "where_parties_lose"]

QUANTILES = np.arange(0.05, 0.951, 0.05)
PARTIES = {"investor_loss": "Investors lose", "commissioner_net_loss":
           "The commissioner pays more than it saves"}


@dataclass
class Node:
    """A node of the tree: its draws' loss rate and share, and its split (None at a leaf)."""

    rate: float
    share: float
    n: int
    conditions: tuple[tuple[str, str, float], ...] = ()  # (input, "<=" or ">", threshold)
    feature: str | None = None
    threshold: float = np.nan
    children: list[Node] = field(default_factory=list)


def _gini(p: np.ndarray) -> np.ndarray:
    return 2.0 * p * (1.0 - p)


def _best_split(X: np.ndarray, y: np.ndarray, min_n: int) -> tuple[int, float, float] | None:
    """(column, threshold, impurity decrease) of the best split, or None."""
    n = y.size
    parent = _gini(y.mean()) * n
    best = None
    for i in range(X.shape[1]):
        x = X[:, i]
        for t in np.unique(np.quantile(x, QUANTILES)):
            left = x <= t
            nl = int(left.sum())
            if nl < min_n or n - nl < min_n:
                continue
            pl, pr = y[left].mean(), y[~left].mean()
            gain = parent - _gini(pl) * nl - _gini(pr) * (n - nl)
            if best is None or gain > best[2] + 1e-12:
                best = (i, float(t), float(gain))
    return best


def _fmt(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1e4 else f"{x:,.0f}"


def grow(X: np.ndarray, y: np.ndarray, names: Sequence[str], depth: int = 2,
         min_share: float = 0.05) -> Node:
    """Grow the tree on inputs ``X`` (N, k) and a 0/1 outcome ``y`` (N,)."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    N = y.size
    if X.shape != (N, len(names)) or N == 0:
        raise v.fail("grow.X", X.shape, f"shape ({N}, {len(names)})")
    min_n = max(1, int(np.ceil(min_share * N)))

    def build(rows: np.ndarray, level: int, conditions: tuple[str, ...]) -> Node:
        yy = y[rows]
        node = Node(float(yy.mean()), rows.size / N, int(rows.size), conditions)
        if level == depth or yy.min() == yy.max():
            return node
        split = _best_split(X[rows], yy, min_n)
        if split is None or split[2] <= 0:
            return node
        i, t, _ = split
        node.feature, node.threshold = names[i], t
        left = X[rows, i] <= t
        node.children = [build(rows[left], level + 1, (*conditions, (names[i], "<=", t))),
                         build(rows[~left], level + 1, (*conditions, (names[i], ">", t)))]
        return node

    return build(np.arange(N), 0, ())


def leaves(node: Node) -> list[Node]:
    """The leaves of a tree, left to right."""
    return [node] if not node.children else [x for c in node.children for x in leaves(c)]


def describe_region(conditions: Sequence[tuple[str, str, float]]) -> str:
    """The conditions in words, one bound per input and side (the tighter one kept).

    >>> describe_region([("x", "<=", 2.0), ("x", "<=", 1.5), ("y", ">", 3.0)])
    'x <= 1.5 and y > 3'
    """
    tight: dict[tuple[str, str], float] = {}
    for name, op, t in conditions:
        key = (name, op)
        tight[key] = t if key not in tight else (min(tight[key], t) if op == "<=" else
                                                 max(tight[key], t))
    parts = []
    for name in dict.fromkeys(n for n, _, _ in conditions):
        lo, hi = tight.get((name, ">")), tight.get((name, "<="))
        if lo is not None and hi is not None:
            parts.append(f"{_fmt(lo)} < {name} <= {_fmt(hi)}")
        elif lo is not None:
            parts.append(f"{name} > {_fmt(lo)}")
        else:
            parts.append(f"{name} <= {_fmt(hi)}")
    return " and ".join(parts)


def statement(tree: Node, who: str, min_share: float = 0.05) -> str:
    """Plain sentences: where ``who`` loses most often (the riskiest leaf) and, when losses
    are the rule, where least often."""
    if tree.rate == 0:
        return f"{who} in none of the draws."
    if tree.rate == 1:
        return f"{who} in every draw."
    cand = [lf for lf in leaves(tree) if lf.share >= min_share and lf.conditions]
    if not cand:
        return (f"{who} in {tree.rate:.0%} of draws; no input region stands out (no split "
                "of the inputs separates the losses).")
    top = max(cand, key=lambda lf: (lf.rate, lf.share))
    text = (f"{who} in {top.rate:.0%} of draws where {describe_region(top.conditions)} "
            f"({top.share:.0%} of draws), against {tree.rate:.0%} overall.")
    if tree.rate >= 0.5:
        low = min(cand, key=lambda lf: (lf.rate, -lf.share))
        text += (f" Least often ({low.rate:.0%}) where {describe_region(low.conditions)} "
                 f"({low.share:.0%} of draws).")
    return text


def where_parties_lose(results: Any, depth: int = 2, min_share: float = 0.05
                       ) -> dict[str, Any]:
    """Scenario discovery on a run: for investors and for the commissioner, the tree over the
    uncertain inputs and a plain statement of where that party loses.

    Returns ``{"investor_loss": {"statement": str, "tree": Node}, "commissioner_net_loss":
    ...}``.
    """
    names, X = results_inputs(results)
    if not names:
        raise v.fail("where_parties_lose.results", "no uncertain inputs",
                     "a run with uncertain inputs (distributions)")
    ys = per_draw_outputs(results.money)
    out = {}
    for key, who in PARTIES.items():
        tree = grow(X, ys[key], names, depth=depth, min_share=min_share)
        out[key] = {"statement": statement(tree, who, min_share), "tree": tree}
    return out


def run(deal: Any = None, *, results: Any = None, draws: int = 2000, seed: int = 0,
        **kwargs: Any) -> dict[str, Any]:
    """Entry point for :func:`sibsim.sensitivity` (``method="discovery"``)."""
    if results is None:
        from sibsim.report import analyse

        results = analyse(deal, draws=draws, seed=seed, progress=False, with_breakeven=False)
    return where_parties_lose(results, **kwargs)
