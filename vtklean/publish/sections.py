"""The sections the overview and the area pages share: each one call, for the whole or one area."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import polars as pl

from vtklean.core import norsk
from vtklean.core.errors import UsageError
from vtklean.ingest.contract import WHOLE
from vtklean.model import figures, processed, targets
from vtklean.model.datasets import Datasets
from vtklean.publish import charts, message, page, widgets
from vtklean.publish.widgets import Html


@dataclass(frozen=True)
class Scope:
    """What one report page is about: the year's data, and the whole municipality or one area."""

    data: processed.Processed
    area: str | None  # None: the whole municipality
    now: dict  # the key figures of the page's area at the report date

    @property
    def name(self) -> str:
        """The area's name, or `Hele kommunen`."""
        return self.area or WHOLE

    @property
    def ds(self) -> Datasets:
        """The year's datasets."""
        return self.data.datasets

    @property
    def year(self) -> int:
        """The report year."""
        return self.data.period.year

    @property
    def as_of(self) -> str:
        """The as-of date as the page writes it (`31.12.2017`)."""
        return norsk.date(self.data.period.as_of)

    @cached_property
    def goals(self) -> pl.DataFrame:
        """The targets the page shows: every area's on the overview, the area's own elsewhere."""
        table = self.data.target_table()
        return table if self.area is None else table.filter(table["tjenesteomrade"] == self.area)

    @cached_property
    def follow(self) -> dict:
        """The follow-up lists of the area (figures.followup)."""
        return figures.followup(self.ds, self.area, self.data.old_gain_days)


def scope(processed_dir: str, year: int, area: str | None = None) -> Scope:
    """The page's data from data/processed/<year> (or `processed_dir`), for `area` or the whole.

    An area that is not in the data is a UsageError naming the areas there are.
    """
    data = processed.load(processed_dir, year)
    now = data.figures_row(area or WHOLE)
    if now is None:
        raise UsageError(f"Tjenesteområdet {area!r} finnes ikke i dataene: {data.area_names()}")
    return Scope(data, area, now)


def top(s: Scope) -> list[Html]:
    """Title, navigation, missing months, headline, comments, the page's first words, cards."""
    now, data = s.now, s.data
    before = data.figures_row(s.name, before=True)
    if s.area is None:
        title = f"Lean i {data.kommune} – status per {s.as_of}"
        nav = widgets.nav(data.area_pages(), s.as_of)
        sentences = message.headline(data.key_figures, data.key_figures_before, s.goals, WHOLE)
        intro = (
            f"Denne rapporten viser hva kommunens arbeid med Lean har gitt av gevinster, og "
            f"hvordan ressursbruken har utviklet seg, per {s.as_of}. {now['enheter_lean']} av "
            f"{now['enheter']} aktive enheter har fått opplæring i Lean. Endringene er regnet "
            "mot samme dato året før."
        )
        caption = f"Nøkkeltall for hele kommunen per {s.as_of}"
    else:
        title = f"{s.area} – Lean og ressursbruk per {s.as_of}"
        nav = widgets.nav(None, s.as_of)
        sentences = message.headline(
            data.key_figures, data.key_figures_before, s.goals, s.area, s.follow["sick_rise"]
        )
        intro = (
            f"Rapporten gjelder tjenesteområdet {s.area}: {now['enheter']} aktive enheter, "
            f"hvorav {now['enheter_lean']} har fått opplæring i Lean. Gevinster fra enheter "
            "som er lagt ned, telles fortsatt med. Endringene er regnet mot samme dato året før."
        )
        caption = f"Nøkkeltall for {s.area} per {s.as_of}"
    goals_here = targets.for_area(s.goals, s.name)
    return [
        widgets.heading(title, 1),
        nav,
        page.missing_months(data, s.area),
        widgets.headline(sentences),
        *page.comments(s.ds.comments, s.name),
        widgets.text(intro),
        widgets.cards(page.key_cards(now, before, goals_here), caption),
    ]


def goals(s: Scope) -> list[Html]:
    """The year's targets with status."""
    return page.target_section(s.goals, s.year, s.as_of)


def history(s: Scope) -> list[Html]:
    """Gains over time and the Lean roll-out."""
    return [
        widgets.chart(charts.gains_history(figures.gains_history(s.ds, s.area), s.as_of)),
        widgets.chart(charts.rollout(figures.rollout(s.ds, s.area))),
    ]


def methods(s: Scope) -> list[Html]:
    """Gains by category and by method."""
    return [
        widgets.chart(charts.by_category(figures.category_totals(s.ds, s.area))),
        widgets.chart(charts.by_method(figures.method_totals(s.ds, s.area))),
    ]


def backlog(s: Scope, top: int, rows: int) -> list[Html]:
    """The units with gains waiting to be realised: the `top` largest, at most `rows` rows."""
    waiting = figures.backlog(s.ds, s.area)
    return [widgets.chart(charts.backlog(waiting, s.as_of, top=top, rows=rows))]


def resources(s: Scope) -> list[Html]:
    """Budget and spend, årsverk and sick leave over the years (sick leave by month)."""
    years = figures.area_history(s.ds, s.area)
    goal = targets.for_area(s.goals, s.name).get("sykefravaer_prosent")
    sick = figures.monthly_sick_leave(s.ds, s.area)
    return [
        widgets.chart(charts.budget(years)),
        widgets.chart(charts.fte(years)),
        widgets.chart(charts.sick_leave(sick, figures.lean_starts(s.ds, s.area), goal)),
    ]


def ideas(s: Scope) -> list[Html]:
    """Improvement proposals: a sentence, a table per area (or per unit), and per year."""
    if s.area is None:
        caption = f"Forbedringsforslag per tjenesteområde, {s.year}"
        counts = figures.idea_counts(s.ds)
        table = page.ideas(counts, "tjenesteomrade", "Tjenesteområde", s.year, caption)
    else:
        caption = f"Forbedringsforslag per enhet i {s.area}, {s.year}"
        counts = figures.idea_counts(s.ds, s.area, by_unit=True)
        table = page.ideas(counts, "enhet", "Enhet", s.year, caption)
    return [
        widgets.text(page.ideas_sentence(s.now, s.year)),
        *table,
        *page.idea_years(figures.idea_years(s.ds, s.area)),
    ]


def unit_changes(s: Scope) -> list[Html]:
    """Units closed or new, and the change in årsverk and money with and without them."""
    return page.unit_changes(figures.unit_changes(s.ds, s.area), s.year, s.now["enheter"])


def followup(s: Scope) -> list[Html]:
    """Overdue and old gains, trained units without gains, the largest sick-leave rises."""
    return page.followup(s.follow, s.data.old_gain_days, s.as_of)


def units(s: Scope, limit: int) -> list[Html]:
    """The area's units one by one, or top lists above `limit` units."""
    table = figures.unit_table(s.ds, s.area)
    return page.unit_overview(table, s.name, s.as_of, s.year, limit)
