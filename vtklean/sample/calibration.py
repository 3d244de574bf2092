"""The sample's calibration targets: the published figures it reproduces and the planted effect.

No record describes a real person or a real record of the municipality. With its defaults
(76 units, 2009-2018, seed 2017) the records reproduce the municipality's published
figures listed in the data contract; the figures are reached by *generating records*
(balancing gains and realisations at each published date), never by writing outputs.
With another number of units, every calibration target is scaled by `units / 76`.

Planted effect of Lean (what a pilot-effect estimator should recover)
--------------------------------------------------------------------
For a unit with `lean_start` in month s, let e = (months since s) + 1 for months >= s
and ramp(e) = min(1, e / EFFECT_RAMP_MONTHS). From the month of `lean_start` on:

* sick leave, in percentage points of avtalte dagsverk, is lowered by
  EFFECT_SICK_LEAVE_PP * ramp(e) (1,5 pp at full effect, reached after 24 months);
* net spend (`regnskap_kr`) is lowered by EFFECT_COST_SHARE * ramp(e) (6 % at full effect)
  while service volume is unchanged, so cost per service volume falls by the same share
  and the budget deviation falls by about 6 percentage points;
* årsverk, budgets and volume carry no planted effect (a placebo outcome).

Sick leave without Lean is drawn at or above EFFECT_SICK_LEAVE_PP, so the lowered value is
never cut off at zero and every unit-month carries the full planted effect. Before
`lean_start` the treated units follow the same trends and seasonality as the others
(parallel trends, no anticipation).
"""

from __future__ import annotations

import datetime as dt

DEFAULT_UNITS = 76
DEFAULT_START = 2009
DEFAULT_END = 2018
DEFAULT_SEED = 2017
MIN_UNITS = 40  # fewer units leave too few gains to reach every calibrated figure

EFFECT_SICK_LEAVE_PP = 1.5
EFFECT_COST_SHARE = 0.06
EFFECT_RAMP_MONTHS = 24

# Published figures (data contract): (as-of date, identified årsverk, realised årsverk).
PUBLISHED_GAINS = (
    (dt.date(2012, 6, 14), 8.5, None),
    (dt.date(2016, 4, 30), 33.0, 21.5),
    (dt.date(2017, 12, 31), 46.3, 33.1),
    (dt.date(2018, 12, 31), 49.4, 36.3),
)
# Unpublished shape points that keep the history between published dates smooth.
SHAPE_GAINS = (
    (dt.date(2012, 12, 31), 11.2, 3.0),
    (dt.date(2013, 12, 31), 17.5, 8.4),
    (dt.date(2014, 12, 31), 24.1, 13.6),
)
# Yearly growth of the register after the last published date.
GAINS_GROWTH_PER_YEAR = (3.0, 3.0)
VSA_SHARE = (dt.date(2017, 12, 31), 0.80)
# Trained units (active, lean_start <= 31.12.) at year end; 2015, 2017, 2018 are published.
TRAINED_AT_YEAR_END = {
    2011: 5,
    2012: 11,
    2013: 17,
    2014: 22,
    2015: 27,
    2016: 35,
    2017: 43,
    2018: 45,
}
TRAINED_GROWTH_PER_YEAR = 2
CLOSED_IN_2018 = 6  # 76 active at end of 2017, 70 at end of 2018
TOTALS_2017 = {"arsverk": 785.0, "ansatte": 1100, "regnskap_kr": 1.2e9}
DEV_UNIT = {"budsjett_kr": 2_500_000.0, "arsverk": 3.3, "from": dt.date(2013, 1, 1)}


def checkpoints(scale: float, end: int) -> list[tuple[dt.date, int, int | None]]:
    """(date, identified, realised) gain totals in hundredths to reach, scaled, up to `end`."""
    points = sorted(PUBLISHED_GAINS + SHAPE_GAINS)
    last_date, last_i, last_r = points[-1]
    for year in range(last_date.year + 1, end + 1):
        k = year - last_date.year
        points.append(
            (
                dt.date(year, 12, 31),
                last_i + GAINS_GROWTH_PER_YEAR[0] * k,
                last_r + GAINS_GROWTH_PER_YEAR[1] * k,
            )
        )
    limit = dt.date(end, 12, 31)
    return [
        (d, round(i * 100 * scale), None if r is None else round(r * 100 * scale))
        for d, i, r in points
        if d <= limit
    ]
