"""Make the example programme: 300 municipalities running the child-welfare template.

A national outcomes fund backs the same family-support SIB (sibsim's ``child-welfare`` template)
in 300 municipalities. Each municipality gets its own row in ``municipalities.csv``:

* ``start_year``: the year it joins (2027, 2028 or 2029, a third of them each on average);
* ``scenario.cohort.entry[0]``, ``[1]``: children referred in each of the two referral years,
  in proportion to its population (40 a year for 30,000 residents, as in the template), at
  least 3; the population is log-normal (median 8,000 residents, log-sd 1.1, from 1,000 to
  650,000: a plausible spread of Finnish municipalities, most of them small);
* ``scenario.outcome.transitions[0][0].alpha[0]``, ``[1]``: the Dirichlet prior of the yearly
  placement chance without the service (concentration 2,000 as in the template), whose mean
  placement rate is the template's 3.5% times a log-normal factor (log-sd 0.25): places differ;
* ``evaluations[0].design.historical_rate.scale``: the historical comparison moves with the
  baseline (0.58 care-years a child at 3.5%, in proportion; the Gamma's shape is kept);
* ``capital.tranches[0].commitment`` and ``contract.caps.total``: EUR 5,000 and EUR 12,500 a
  child, as in the template (400,000 and 1,000,000 for 80 children).

Run it (seeded: the same file every time)::

    python examples/programme/make_programme.py

then::

    sibsim programme examples/programme/child-welfare.toml \\
        examples/programme/municipalities.csv --draws 2000 --seed 1 --out programme.nc
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from sibsim.templates import write_template

HERE = Path(__file__).resolve().parent
MUNICIPALITIES = 300
SEED = 2027
BASE_RATE, CONCENTRATION, HISTORICAL_MEAN = 0.035, 2000.0, 0.58


def rows(template, n: int = MUNICIPALITIES, seed: int = SEED) -> list[dict[str, object]]:
    """One row per municipality over ``template`` (the child-welfare template's deal; see the
    module's docstring)."""
    shape = template.evaluations[0].design.historical_rate.shape
    rng = np.random.default_rng(seed)
    population = np.clip(rng.lognormal(np.log(8000), 1.1, n), 1000, 650_000)
    out = []
    for i in range(n):
        per_year = population[i] * 40 / 30_000
        entry = np.maximum(3, rng.poisson(per_year, 2))
        rate = BASE_RATE * float(np.exp(rng.normal(0.0, 0.25)))
        children = int(entry.sum())
        out.append({
            "deal": f"municipality-{i + 1:03d}",
            "start_year": int(rng.choice([2027, 2028, 2029])),
            "scenario.cohort.entry[0]": int(entry[0]),
            "scenario.cohort.entry[1]": int(entry[1]),
            "scenario.outcome.transitions[0][0].alpha[0]": round(CONCENTRATION * (1 - rate), 2),
            "scenario.outcome.transitions[0][0].alpha[1]": round(CONCENTRATION * rate, 2),
            "evaluations[0].design.historical_rate.scale":
                round(HISTORICAL_MEAN * rate / BASE_RATE / shape, 6),
            "capital.tranches[0].commitment": 5_000 * children,
            "contract.caps.total": 12_500 * children,
        })
    return out


def main() -> Path:
    import sibsim

    template = sibsim.load_scenario(write_template("child-welfare", HERE / "child-welfare.toml",
                                                   force=True))
    table = rows(template)
    path = HERE / "municipalities.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(table[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(table)
    print(f"Wrote {path} ({len(table)} municipalities) and {HERE / 'child-welfare.toml'}")
    return path


if __name__ == "__main__":
    main()
