"""The intervention effect on the treated arm."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sibsim.spec import _validate as v
from sibsim.spec.distributions import Distribution, as_distribution, require_support

__all__ = ["MEASURES", "Effect"]

MEASURES = ("rr", "hr", "or", "absolute")


@dataclass(frozen=True)
class Effect:
    """What the service does to the outcome of the people who engage with it.

    Parameters
    ----------
    measure : {"rr", "hr", "or", "absolute"}
        How ``value`` changes a baseline per-period probability ``p`` (or rate ``r``):

        * ``"rr"`` relative risk: ``p' = min(1, value * p)``; rate ``r' = value * r``;
        * ``"hr"`` hazard ratio: ``p' = 1 - (1 - p) ** value``; rate ``r' = value * r``;
        * ``"or"`` odds ratio: ``p' / (1 - p') = value * p / (1 - p)`` (not for counts);
        * ``"absolute"``: ``p' = clip(p + value, 0, 1)``; rate ``r' = max(0, r + value)``.

        A value below 1 (or below 0 for ``absolute``) means fewer events.
    value : float or Distribution
        The true effect (uncertain: sampled once per draw).
    targets : sequence of (from, to)
        Markov outcomes only: the transitions the effect acts on. The change in a row's target
        probabilities is balanced on the row's diagonal (staying put); if that would make the stay
        probability negative the targets are scaled down so the row sums to 1.
    onset : int
        Periods after entry before the effect starts (0: from the entry period).
    duration : int, optional
        Periods of full effect (the service period), counted from ``onset``; ``None`` = until the
        horizon.
    decay : float
        Share of the effect (on the log scale for ratios) lost in each period after the service
        ends: 1 stops it at once, 0 keeps it for good. In period ``k >= 1`` after the end the
        effect's strength is ``(1 - decay) ** k``.
    engagement : float or Distribution
        Share of the treated cohort who take up the service (others get no effect).
    dropout : float or Distribution
        Per-period probability that an engaged participant drops out (from their second period on);
        drop-outs get no effect from then on.

    Examples
    --------
    >>> e = Effect(measure="rr", value=0.8, duration=2, decay=0.5)
    >>> e.strength(5).tolist()
    [1.0, 1.0, 0.5, 0.25, 0.125]
    """

    measure: str = "rr"
    value: float | Distribution = 1.0
    targets: tuple[tuple[str, str], ...] = ()
    onset: int = 0
    duration: int | None = None
    decay: float = 1.0
    engagement: float | Distribution = 1.0
    dropout: float | Distribution = 0.0

    def __post_init__(self) -> None:
        v.choice("Effect.measure", self.measure, MEASURES)
        value = as_distribution("Effect.value", self.value)
        if self.measure == "absolute":
            require_support("Effect.value", value, -np.inf, np.inf, "an absolute change")
        else:
            require_support("Effect.value", value, 0.0, np.inf, f"a ratio ({self.measure})")
        object.__setattr__(self, "value", value)
        if isinstance(self.targets, (str, bytes)) or not isinstance(self.targets, Sequence):
            raise TypeError(f"Effect.targets: got {self.targets!r}; allowed: (from, to) pairs")
        targets = []
        for t in self.targets:
            if isinstance(t, (str, bytes)) or not isinstance(t, Sequence) or len(t) != 2:
                raise v.fail("Effect.targets", t, "a (from_state, to_state) pair")
            if t[0] == t[1]:
                raise v.fail("Effect.targets", t, "a transition between two different states")
            targets.append((v.name("Effect.targets from", t[0]), v.name("Effect.targets to", t[1])))
        object.__setattr__(self, "targets", tuple(targets))
        object.__setattr__(self, "onset", v.positive_int("Effect.onset", self.onset, minimum=0,
                                                         maximum=10**6))
        if self.duration is not None:
            object.__setattr__(self, "duration", v.positive_int("Effect.duration", self.duration,
                                                                maximum=10**6))
        object.__setattr__(self, "decay", v.real("Effect.decay", self.decay, low=0.0, high=1.0))
        eng = as_distribution("Effect.engagement", self.engagement)
        require_support("Effect.engagement", eng, 0.0, 1.0, "a probability")
        object.__setattr__(self, "engagement", eng)
        drop = as_distribution("Effect.dropout", self.dropout)
        require_support("Effect.dropout", drop, 0.0, 1.0, "a probability")
        object.__setattr__(self, "dropout", drop)

    def strength(self, n_periods: int) -> np.ndarray:
        """Strength of the effect (0 to 1) by period since entry, shape ``(n_periods,)``."""
        tau = np.arange(n_periods)
        w = (tau >= self.onset).astype(float)
        if self.duration is not None:
            end = self.onset + self.duration
            after = tau >= end
            k = (tau - end + 1)[after]
            w[after] = (1.0 - self.decay) ** k
        return w

    def parameters(self) -> dict[str, Distribution]:
        """Uncertain inputs, by parameter name."""
        return {"effect.value": self.value, "effect.engagement": self.engagement,  # type: ignore
                "effect.dropout": self.dropout}
