"""What a reader of the pilot analysis may choose, without the analysis' heavy imports."""

from __future__ import annotations

# The outcomes the analysis can study, with the decimals of an effect estimate on the page.
OUTCOME_DECIMALS = {
    "sykefravaer_prosent": 2,
    "arsverk": 2,
    "kostnad_per_volum": 0,
    "budsjettavvik_prosent": 2,
}

GRAINS = {"ar": "år", "maned": "måned"}  # period grain: its word on the page

CONTROLS = ("notyettreated", "nevertreated")  # the comparison units of the estimator
