"""The sample generator: units, gains, resource months, ideas, targets and comments as records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from vtklean.core import measures
from vtklean.core.errors import UsageError
from vtklean.ingest.contract import WHOLE
from vtklean.sample.calibration import (
    CLOSED_IN_2018,
    DEFAULT_END,
    DEFAULT_SEED,
    DEFAULT_START,
    DEFAULT_UNITS,
    DEV_UNIT,
    EFFECT_COST_SHARE,
    EFFECT_RAMP_MONTHS,
    EFFECT_SICK_LEAVE_PP,
    MIN_UNITS,
    TOTALS_2017,
    TRAINED_AT_YEAR_END,
    TRAINED_GROWTH_PER_YEAR,
    VSA_SHARE,
    checkpoints,
)

AREAS = ("Omsorg", "Helse", "Oppvekst", "Teknisk", "Kultur", "Sentraladministrasjon")

# Unit types: (area, base årsverk, volume unit, volume per årsverk per month, sick-leave %).
TYPES = {
    "sykehjem": ("Omsorg", 17.0, "liggedøgn", 21.0, 10.5),
    "hjemmetjeneste": ("Omsorg", 19.0, "vedtakstimer", 95.0, 10.0),
    "omsorg": ("Omsorg", 11.0, "brukere", 3.0, 9.5),
    "helse": ("Helse", 8.0, "konsultasjoner", 60.0, 8.0),
    "skole": ("Oppvekst", 24.0, "elever", 9.0, 7.5),
    "barnehage": ("Oppvekst", 12.0, "barn", 5.5, 9.0),
    "teknisk": ("Teknisk", 9.0, "oppdrag", 25.0, 7.0),
    "kultur": ("Kultur", 5.0, "besøk", 180.0, 6.0),
    "stab": ("Sentraladministrasjon", 6.0, "saker", 40.0, 5.0),
}

# (name, type, pilot wave, lean_start for pilots and the development unit)
CATALOGUE: tuple[tuple[str, str, int | None, dt.date | None], ...] = (
    ("Gimle sykehjem avd. 1", "sykehjem", 1, dt.date(2011, 3, 7)),
    ("Fysio- og ergoterapitjenesten", "helse", 1, dt.date(2011, 3, 14)),
    ("Gimle sykehjem avd. 5", "sykehjem", 1, dt.date(2011, 4, 4)),
    ("Hjemmesykepleien Raufoss", "hjemmetjeneste", 2, dt.date(2011, 10, 24)),
    ("Politisk saksbehandling", "stab", 2, dt.date(2011, 11, 7)),
    ("Barnevern", "helse", 2, dt.date(2012, 1, 9)),
    ("Teknisk drift veg/park og renovasjon", "teknisk", 2, dt.date(2012, 1, 16)),
    ("Utviklingsenheten", "stab", None, dt.date(2013, 1, 2)),
    ("Gimle sykehjem avd. 2", "sykehjem", None, None),
    ("Gimle sykehjem avd. 3", "sykehjem", None, None),
    ("Gimle sykehjem avd. 4", "sykehjem", None, None),
    ("Gimle sykehjem avd. 6", "sykehjem", None, None),
    ("Korttidsavdelingen Gimle", "sykehjem", None, None),
    ("Hjemmesykepleien Reinsvoll", "hjemmetjeneste", None, None),
    ("Hjemmesykepleien Bøverbru", "hjemmetjeneste", None, None),
    ("Hjemmesykepleien Eina", "hjemmetjeneste", None, None),
    ("Nattpatruljen", "hjemmetjeneste", None, None),
    ("Praktisk bistand", "hjemmetjeneste", None, None),
    ("Dagsenter for eldre", "omsorg", None, None),
    ("Kjøkkenet Gimle", "omsorg", None, None),
    ("Tildelingskontoret", "omsorg", None, None),
    ("Psykisk helse og rus", "omsorg", None, None),
    ("Miljøarbeidertjenesten", "omsorg", None, None),
    ("Solhaug bofellesskap", "omsorg", None, None),
    ("Reinsvoll bofellesskap", "omsorg", None, None),
    ("Avlastningsboligen", "omsorg", None, None),
    ("Omsorgsboliger Raufoss", "omsorg", None, None),
    ("Helsestasjon og skolehelsetjeneste", "helse", None, None),
    ("Legetjenesten", "helse", None, None),
    ("Legevakt", "helse", None, None),
    ("NAV sosial", "helse", None, None),
    ("Flyktningtjenesten", "helse", None, None),
    ("Frisklivssentralen", "helse", None, None),
    ("Raufoss skole", "skole", None, None),
    ("Reinsvoll skole", "skole", None, None),
    ("Bøverbru skole", "skole", None, None),
    ("Thune skole", "skole", None, None),
    ("Eina skole", "skole", None, None),
    ("Ihle skole", "skole", None, None),
    ("Raufoss ungdomsskole", "skole", None, None),
    ("Vestre Toten ungdomsskole", "skole", None, None),
    ("Voksenopplæringen", "skole", None, None),
    ("PP-tjenesten", "helse", None, None),
    ("SFO Raufoss", "barnehage", None, None),
    ("Ask barnehage", "barnehage", None, None),
    ("Bøverbru barnehage", "barnehage", None, None),
    ("Eina barnehage", "barnehage", None, None),
    ("Fagertun barnehage", "barnehage", None, None),
    ("Raufoss barnehage", "barnehage", None, None),
    ("Reinsvoll barnehage", "barnehage", None, None),
    ("Sagvollen barnehage", "barnehage", None, None),
    ("Thune barnehage", "barnehage", None, None),
    ("Ihle barnehage", "barnehage", None, None),
    ("Korta barnehage", "barnehage", None, None),
    ("Åsbakken barnehage", "barnehage", None, None),
    ("Vann og avløp", "teknisk", None, None),
    ("Eiendomsforvaltning", "teknisk", None, None),
    ("Renhold", "teknisk", None, None),
    ("Byggesak", "teknisk", None, None),
    ("Plan og miljø", "teknisk", None, None),
    ("Kart & oppmåling <geodata>", "teknisk", None, None),
    ("Brann og redning", "teknisk", None, None),
    ("Landbrukskontoret", "teknisk", None, None),
    ("Vaktmestertjenesten", "teknisk", None, None),
    ("Biblioteket", "kultur", None, None),
    ("Kulturskolen", "kultur", None, None),
    ("Fritid og ungdom", "kultur", None, None),
    ("Kulturhuset", "kultur", None, None),
    ("Idrett og friluftsliv", "kultur", None, None),
    ("Økonomi", "stab", None, None),
    ("Personal og organisasjon", "stab", None, None),
    ("IKT", "stab", None, None),
    ("Servicetorget", "stab", None, None),
    ("Dokumentsenteret", "stab", None, None),
    ("Rådmannens stab", "stab", None, None),
    ("Innkjøp", "stab", None, None),
)

GENERIC_NAMES = {
    "sykehjem": "Sykehjemsavdeling",
    "hjemmetjeneste": "Hjemmetjeneste",
    "omsorg": "Bofellesskap",
    "helse": "Helsetjeneste",
    "skole": "Skole",
    "barnehage": "Barnehage",
    "teknisk": "Teknisk enhet",
    "kultur": "Kulturenhet",
    "stab": "Stabsenhet",
}

DESCRIPTIONS = {
    "verdistromsanalyse": (
        "Ny flyt i morgenstellet",
        "Færre overleveringer mellom vaktene",
        "Standardisert innkomstsamtale",
        "Kortere saksbehandlingstid",
        "Felles planlegging av turer",
        "Mindre dobbeltregistrering",
        "Ny arbeidsdeling i teamet",
    ),
    "forbedringstavle": (
        "Faste tavlemøter erstatter e-post",
        "Ny rutine for bestilling av varer",
        "Bedre oversikt over oppgaver",
    ),
    "5s": ("Ryddig medisinrom", "Faste plasser for utstyr", "Ryddet lager"),
    "annet": ("Digital timebestilling", "Nytt skjema på nett"),
}
ROLES = ("Enhetsleder", "Avdelingsleder", "Fagkoordinator", "Leanveileder", "Teamleder")

# Sick leave is higher in winter and lower in the summer holidays (mean 1).
SICK_SEASON = np.array([1.22, 1.18, 1.05, 0.96, 0.90, 0.86, 0.70, 0.86, 0.98, 1.07, 1.10, 1.12])
VOLUME_SEASON = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.98, 0.85, 0.95, 1.0, 1.0, 1.0, 1.05])


@dataclass
class Unit:
    """A generated unit."""

    enhet_id: str
    enhet: str
    kind: str
    pilot: int | None = None
    lean_start: dt.date | None = None
    lagt_ned: dt.date | None = None
    first_month: dt.date | None = None

    @property
    def area(self) -> str:
        """The unit's service area."""
        return TYPES[self.kind][0]


@dataclass
class Gain:
    """A generated gain, in hundredths of an årsverk."""

    unit: Unit
    identified: dt.date
    size: int
    method: str
    category: str
    lag_days: int
    rejected: dt.date | None = None
    realised: dt.date | None = None
    realised_size: int | None = None
    belop_kr: float | None = None
    description: str = ""
    role: str = ""
    planned: dt.date | None = None  # planlagt_realisert in the gains plan

    def identified_at(self, d: dt.date) -> int:
        """Hundredths this gain adds to identified gains as of d."""
        if self.identified > d or (self.rejected is not None and self.rejected <= d):
            return 0
        return self.size

    def realised_at(self, d: dt.date) -> int:
        """Hundredths this gain adds to realised gains as of d."""
        if self.realised is None or self.realised > d:
            return 0
        return self.realised_size if self.realised_size is not None else self.size


@dataclass
class Sample:
    """The generated records before they are written."""

    units: list[Unit]
    gains: list[Gain]
    resources: pl.DataFrame
    ideas: pl.DataFrame
    start: int
    end: int
    meta: dict = field(default_factory=dict)
    targets: list[dict] = field(default_factory=list)
    comments: list[dict] = field(default_factory=list)


def _days(rng: np.random.Generator, lo: dt.date, hi: dt.date) -> dt.date:
    """A uniformly drawn date in [lo, hi]."""
    span = (hi - lo).days
    return lo + dt.timedelta(days=int(rng.integers(0, span + 1)) if span > 0 else 0)


def _make_units(rng: np.random.Generator, n: int, end: int) -> list[Unit]:
    width = max(3, len(str(n)))
    units: list[Unit] = []
    for i in range(n):
        if i < len(CATALOGUE):
            name, kind, pilot, start = CATALOGUE[i]
        else:
            kind = list(TYPES)[int(rng.integers(0, len(TYPES)))]
            name, pilot, start = f"{GENERIC_NAMES[kind]} {i + 1}", None, None
        units.append(Unit(f"E{i + 1:0{width}d}", name, kind, pilot, start))
    dev = next(u for u in units if u.enhet == "Utviklingsenheten")
    dev.first_month = DEV_UNIT["from"]
    scale = n / DEFAULT_UNITS
    fixed = [u for u in units if u.lean_start is not None]
    pool = [u for u in units if u.lean_start is None]
    order = rng.permutation(len(pool))
    pool = [pool[i] for i in order]
    # Units that close in 2018 are drawn from those never trained.
    n_closed = round(CLOSED_IN_2018 * scale) if end >= 2018 else 0
    closing, pool = pool[:n_closed], pool[n_closed:]
    for u in closing:
        u.lagt_ned = _days(rng, dt.date(2018, 1, 1), dt.date(2018, 12, 1))
    trained = len([u for u in fixed if u.lean_start.year <= 2011])
    last_year = max(TRAINED_AT_YEAR_END)
    for year in range(2012, end + 1):
        if year in TRAINED_AT_YEAR_END:
            target = round(TRAINED_AT_YEAR_END[year] * scale)
        else:
            target = round(
                (TRAINED_AT_YEAR_END[last_year] + TRAINED_GROWTH_PER_YEAR * (year - last_year))
                * scale
            )
        target = max(target, trained)
        fixed_this_year = len([u for u in fixed if u.lean_start.year == year])
        take = max(0, target - trained - fixed_this_year)
        lo = dt.date(2012, 8, 20) if year == 2012 else dt.date(year, 1, 10)
        for u in pool[:take]:
            u.lean_start = _days(rng, lo, dt.date(year, 12, 10))
        pool = pool[take:]
        trained += take + fixed_this_year
    return units


_SIZES = np.array([10, 15, 20, 25, 30, 40, 50, 50, 60, 75, 80, 100, 100, 120, 150, 200])
_METHOD_P = {"verdistromsanalyse": 0.78, "forbedringstavle": 0.12, "5s": 0.06, "annet": 0.04}
_NON_VSA_P = {"forbedringstavle": 0.55, "5s": 0.27, "annet": 0.18}
_CATEGORY_P = {"kvalitet": 0.55, "kvantitet": 0.27, "besparelse": 0.18}
CHUNK = 150  # largest balancing gain, hundredths
PARTIAL_LOSS_SHARE = 0.3


def _choice(rng: np.random.Generator, probs: dict[str, float]) -> str:
    keys = list(probs)
    cum = np.cumsum(list(probs.values()))
    return keys[min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), len(keys) - 1)]


def _new_gain(
    rng: np.random.Generator, unit: Unit, lo: dt.date, hi: dt.date, size: int, method: str
) -> Gain:
    start = max(lo, unit.lean_start + dt.timedelta(days=14))
    return Gain(
        unit=unit,
        identified=_days(rng, start, hi),
        size=size,
        method=method,
        category=_choice(rng, _CATEGORY_P),
        lag_days=int(rng.integers(30, 540)),
    )


class _Picker:
    """Draws units for new gains: units without a gain yet first, then any eligible unit."""

    def __init__(self, rng: np.random.Generator, eligible: list[Unit], has_gain: set[str]):
        self.rng, self.eligible, self.has_gain = rng, eligible, has_gain
        order = [eligible[int(i)] for i in rng.permutation(len(eligible))]
        self.fresh = [u for u in order if u.enhet_id not in has_gain]

    def __call__(self) -> Unit:
        if self.fresh:
            unit = self.fresh.pop()
        else:
            unit = self.eligible[int(self.rng.integers(0, len(self.eligible)))]
        self.has_gain.add(unit.enhet_id)
        return unit


def _balance(
    rng: np.random.Generator, pick: _Picker, lo: dt.date, hi: dt.date, amount: int, method
) -> list[Gain]:
    """Gains identified in [lo, hi] summing exactly to `amount`, in chunks of <= CHUNK."""
    gains = []
    while amount > 0:
        size = min(amount, CHUNK)
        if 0 < amount - size < 10:  # keep the last piece from being a sliver
            size = amount - 10
        m = method if isinstance(method, str) else _choice(rng, method)
        gains.append(_new_gain(rng, pick(), lo, hi, size, m))
        amount -= size
    return gains


def _flip_methods(
    rng: np.random.Generator, counted: list[Gain], lo: int, hi: int, others: dict[str, float]
) -> None:
    """Relabel methods of counted gains until their value-stream sum lies in [lo, hi].

    The window is wider than any single gain (see CHUNK and the reserve), so a flip made
    from outside the window never jumps past it.
    """
    vsa = sum(g.size for g in counted if g.method == "verdistromsanalyse")
    for i in rng.permutation(len(counted)):
        g = counted[int(i)]
        if lo <= vsa <= hi:
            return
        if vsa > hi and g.method == "verdistromsanalyse":
            g.method = _choice(rng, others)
            vsa -= g.size
        elif vsa < lo and g.method != "verdistromsanalyse":
            g.method = "verdistromsanalyse"
            vsa += g.size
    if not lo <= vsa <= hi:
        raise RuntimeError("could not calibrate the value-stream share")  # pragma: no cover


def _make_gains(rng: np.random.Generator, units: list[Unit], end: int, scale: float) -> list[Gain]:
    points = checkpoints(scale, end)
    pilots = [u for u in units if u.pilot is not None]
    export = dt.date(end, 12, 31)
    gains: list[Gain] = []
    has_gain: set[str] = set()
    prev = min(u.lean_start for u in pilots)
    first = points[0][0]
    for d, target_i, _ in points:
        eligible = (
            pilots
            if d <= first
            else [u for u in units if u.lean_start and u.lean_start + dt.timedelta(days=30) < d]
        )
        current = sum(g.identified_at(d) for g in gains)
        need = target_i - current
        reserve = min(max(round(need * 0.08), int(_SIZES.max()) + 50), 5000)
        pick = _Picker(rng, eligible, has_gain)
        while need > reserve + _SIZES.max():
            g = _new_gain(rng, pick(), prev, d, int(rng.choice(_SIZES)), _choice(rng, _METHOD_P))
            if rng.random() < 0.07:
                rejected = g.identified + dt.timedelta(days=int(rng.integers(30, 300)))
                g.rejected = rejected if rejected <= export else None
            gains.append(g)
            need -= g.identified_at(d)
        if d == VSA_SHARE[0]:
            counted = [g for g in gains if g.identified_at(d)]
            target_vsa = round(VSA_SHARE[1] * target_i)
            _flip_methods(rng, counted, target_vsa - need, target_vsa, _NON_VSA_P)
            vsa = sum(g.size for g in counted if g.method == "verdistromsanalyse")
            non_vsa = _NON_VSA_P
            gains += _balance(rng, pick, prev, d, target_vsa - vsa, "verdistromsanalyse")
            gains += _balance(rng, pick, prev, d, need - (target_vsa - vsa), non_vsa)
        else:
            gains += _balance(rng, pick, prev, d, need, _METHOD_P)
        prev = d + dt.timedelta(days=1)
    _realise(rng, gains, points)
    _calibrate_categories(rng, gains)
    _describe(rng, gains)
    gains.sort(key=lambda g: (g.identified, g.unit.enhet_id, g.size))
    return gains


def _realise(
    rng: np.random.Generator, gains: list[Gain], points: list[tuple[dt.date, int, int | None]]
) -> None:
    """Realise gains, oldest first, so that each checkpoint's realised total is exact.

    Gains are realised at least 30 days after they were identified where possible; only
    when that leaves too little (small registers) may a gain be realised sooner.
    """
    prev = dt.date(2011, 1, 1)
    for d, target_i, target_r in points:
        if target_r is None:
            continue
        need = target_r - sum(g.realised_at(d) for g in gains)
        # What partial realisations leave unrealised for good must not use up the room
        # between identified and realised, or later targets could not be reached.
        lost = sum(g.size - g.realised_size for g in gains if g.realised_size is not None)
        budget = round(PARTIAL_LOSS_SHARE * (target_i - target_r)) - lost
        for min_days in (30, 0):
            need, budget = _realise_until(rng, gains, d, prev, need, min_days, budget)
        if need > 0:
            raise RuntimeError(f"not enough gains to realise at {d}")  # pragma: no cover
        prev = d + dt.timedelta(days=1)


def _realise_until(
    rng: np.random.Generator,
    gains: list[Gain],
    d: dt.date,
    prev: dt.date,
    need: int,
    min_days: int,
    budget: int,
) -> tuple[int, int]:
    wait = dt.timedelta(days=min_days)
    candidates = [
        g for g in gains if g.rejected is None and g.realised is None and g.identified + wait <= d
    ]
    candidates.sort(key=lambda g: g.identified + dt.timedelta(days=g.lag_days))
    for g in candidates:
        if need <= 0:
            break
        natural = g.identified + dt.timedelta(days=g.lag_days)
        if natural > d:
            natural = _days(rng, max(prev, g.identified + wait), d)
        g.realised = max(natural, prev, g.identified)
        amount = g.size
        if min_days and rng.random() < 0.15:  # some gains are only partly realised
            partial = max(5, int(round(g.size * rng.uniform(0.4, 0.9) / 5) * 5))
            if g.size - partial <= budget:
                amount = partial
                budget -= g.size - partial
        amount = min(amount, need)
        g.realised_size = amount if amount < g.size else None
        need -= amount
    return need, budget


def _calibrate_categories(rng: np.random.Generator, gains: list[Gain]) -> None:
    """Make kvalitet the largest category of realised gains at 31.12.2017 (published)."""
    d = VSA_SHARE[0]

    def sums() -> dict[str, int]:
        out = dict.fromkeys(_CATEGORY_P, 0)
        for g in gains:
            out[g.category] += g.realised_at(d)
        return out

    realised = [g for g in gains if g.realised_at(d) and g.category != "kvalitet"]
    rng.shuffle(realised)
    for g in realised:
        s = sums()
        if s["kvalitet"] > max(v for k, v in s.items() if k != "kvalitet"):
            return
        g.category = "kvalitet"


def _describe(rng: np.random.Generator, gains: list[Gain]) -> None:
    for g in gains:
        options = DESCRIPTIONS[g.method]
        g.description = options[int(rng.integers(0, len(options)))]
        g.role = ROLES[int(rng.integers(0, len(ROLES)))]
        if g.unit.kind == "skole" and rng.random() < 0.5:
            g.role = "Rektor"
        if g.category == "besparelse" or rng.random() < 0.3:
            per_fte = rng.uniform(560_000, 720_000)
            g.belop_kr = float(round(g.size / 100 * per_fte, -3))


def _months(start: int, end: int) -> np.ndarray:
    return np.arange(np.datetime64(f"{start}-01"), np.datetime64(f"{end + 1}-01"))


def _month_index(d: dt.date | None, months: np.ndarray, default: int) -> int:
    if d is None:
        return default
    return int((np.datetime64(d, "M") - months[0]).astype(int))


def _make_resources(
    rng: np.random.Generator, units: list[Unit], start: int, end: int, scale: float
) -> pl.DataFrame:
    """Monthly resource use for every unit, vectorised over units x months."""
    months = _months(start, end)
    n_u, n_m = len(units), len(months)
    t = np.arange(n_m)
    month_of_year = (months.astype(int) % 12).astype(int)
    kinds = [TYPES[u.kind] for u in units]
    base_fte = np.array([k[1] for k in kinds]) * rng.lognormal(0.0, 0.3, n_u)
    vol_per_fte = np.array([k[3] for k in kinds]) * rng.lognormal(0.0, 0.15, n_u)
    sick_base = np.array([k[4] for k in kinds]) + rng.normal(0.0, 1.2, n_u)
    cost_per_fte = rng.uniform(0.9e6, 1.3e6, n_u) / 12  # net spend per årsverk and month
    growth = (1 + rng.normal(0.004, 0.01, n_u))[:, None] ** (t[None, :] / 12)
    fte = base_fte[:, None] * growth * rng.lognormal(0.0, 0.02, (n_u, n_m))

    first = np.array([_month_index(u.first_month, months, 0) for u in units])
    last = np.array([_month_index(u.lagt_ned, months, n_m) for u in units])
    alive = (t[None, :] >= first[:, None]) & (t[None, :] < last[:, None])
    dev = np.array([u.enhet == "Utviklingsenheten" for u in units])
    # Lean exposure ramp, 0 before lean_start.
    ls = np.array([_month_index(u.lean_start, months, 10**6) for u in units])
    exposure = np.clip((t[None, :] - ls[:, None] + 1) / EFFECT_RAMP_MONTHS, 0, 1)

    # Calibrate 2017 totals on the units other than the development unit.
    in_2017 = (months >= np.datetime64("2017-01")) & (months < np.datetime64("2018-01"))
    dev_fte = DEV_UNIT["arsverk"]
    fte[dev] = dev_fte
    if in_2017.any():
        others = alive & ~dev[:, None]
        fte_2017 = (fte * (others & in_2017[None, :])).sum() / 12
        fte[~dev] *= (TOTALS_2017["arsverk"] * scale - dev_fte) / fte_2017
    fte = np.round(fte, 2)

    starts = months.astype("datetime64[D]")
    ends = (months + 1).astype("datetime64[D]")
    workdays = np.busday_count(starts, ends).astype(float)
    avtalte = np.round(fte * workdays[None, :], 1)

    # Sick leave without Lean, floored at the full effect so that subtracting the effect
    # never meets zero: the planted effect is then exactly what the data carry.
    sick_without = np.clip(
        sick_base[:, None] * SICK_SEASON[month_of_year][None, :]
        + rng.normal(0.0, 1.0, (n_u, n_m)) * (6 / np.sqrt(np.maximum(fte, 1))),
        EFFECT_SICK_LEAVE_PP,
        60.0,
    )
    sick_pct = sick_without - EFFECT_SICK_LEAVE_PP * exposure
    fravaer = np.round(avtalte * sick_pct / 100, 1)

    wage_growth = 1.03 ** (t / 12)
    expected = fte * cost_per_fte[:, None] * wage_growth[None, :]
    budsjett = expected * (1 + rng.normal(-0.005, 0.01, n_u))[:, None]
    regnskap = (
        expected
        * (1 + rng.normal(0.0, 0.035, (n_u, n_m)) + 0.012 * (month_of_year == 11))
        * (1 - EFFECT_COST_SHARE * exposure)
    )
    budsjett[dev] = DEV_UNIT["budsjett_kr"] / 12
    regnskap[dev] = budsjett[dev] * (1 + rng.normal(0.0, 0.02, (int(dev.sum()), n_m)))
    if in_2017.any():
        mask = alive & in_2017[None, :] & ~dev[:, None]
        total_2017 = (regnskap * mask).sum()
        dev_2017 = (regnskap * (alive & in_2017[None, :] & dev[:, None])).sum()
        factor = (TOTALS_2017["regnskap_kr"] * scale - dev_2017) / total_2017
        regnskap[~dev] *= factor
        budsjett[~dev] *= factor
    regnskap = np.round(regnskap, 2)
    budsjett = np.round(budsjett, 0)

    head_ratio = rng.uniform(1.15, 1.65, n_u)
    heads = fte * head_ratio[:, None]
    dec_2017 = months == np.datetime64("2017-12")
    if dec_2017.any():
        total_heads = (heads[:, dec_2017][:, 0] * alive[:, dec_2017][:, 0]).sum()
        heads *= TOTALS_2017["ansatte"] * scale / total_heads
    ansatte = np.round(heads).astype(np.int64)

    volum = np.round(
        fte
        * vol_per_fte[:, None]
        * VOLUME_SEASON[month_of_year][None, :]
        * rng.lognormal(0.0, 0.04, (n_u, n_m)),
        0,
    )
    volum[dev] = np.round(rng.uniform(10, 30, (int(dev.sum()), n_m)), 0)

    ui, mi = np.nonzero(alive)
    return pl.DataFrame(
        {
            "enhet_id": pl.Series([u.enhet_id for u in units], dtype=pl.String).gather(ui),
            "maned": months[mi].astype("datetime64[D]"),
            "budsjett_kr": budsjett[ui, mi],
            "regnskap_kr": regnskap[ui, mi],
            "arsverk": fte[ui, mi],
            "ansatte": ansatte[ui, mi],
            "avtalte_dagsverk": avtalte[ui, mi],
            "fravaer_dagsverk": fravaer[ui, mi],
            "volum": volum[ui, mi],
        }
    ).with_columns(pl.col("maned").cast(pl.Date))


def _make_ideas(rng: np.random.Generator, units: list[Unit], end: int) -> pl.DataFrame:
    """Improvement-board ideas from trained units: about one every other month per unit.

    Ideas older than two months are mostly closed (gjennomført or avvist); newer ones
    are often still new or in progress.
    """
    export = np.datetime64(dt.date(end, 12, 31), "D")
    ids, starts, spans = [], [], []
    for u in units:
        if u.lean_start is None:
            continue
        start = np.datetime64(u.lean_start, "D")
        stop = np.datetime64(u.lagt_ned, "D") - 1 if u.lagt_ned else export
        span = int((min(stop, export) - start).astype(int))
        if span > 0:
            ids.append(u.enhet_id)
            starts.append(start)
            spans.append(span)
    spans_a = np.array(spans, dtype=np.int64)
    counts = rng.poisson(spans_a / 60)
    owner = np.repeat(np.arange(len(ids)), counts)
    offset = (rng.random(owner.size) * spans_a[owner]).astype(np.int64)
    reg = np.array(starts, dtype="datetime64[D]")[owner] + offset
    age = (export - reg).astype(np.int64)
    r = rng.random(owner.size)
    fresh = (age < 60) & (r < 0.6)
    closed = reg + rng.integers(3, 200, owner.size)
    closed = np.minimum(closed, reg + np.maximum(age, 3))
    status = np.where(r < 0.18, "avvist", "gjennomfort")
    status = np.where(fresh, np.where(r < 0.35, "ny", "pagar"), status)
    open_ = fresh | (closed > export)
    status = np.where(~fresh & (closed > export), "pagar", status)
    frame = pl.DataFrame(
        {
            "enhet_id": pl.Series(ids, dtype=pl.String).gather(owner),
            "registrert": pl.Series(reg).cast(pl.Date),
            "status": status,
            "avsluttet": pl.Series(closed).cast(pl.Date),
            "_open": open_,
        }
    ).with_columns(pl.when(~pl.col("_open")).then(pl.col("avsluttet")).alias("avsluttet"))
    frame = frame.drop("_open").sort("registrert", "enhet_id", maintain_order=True)
    width = max(4, len(str(frame.height)))
    return frame.select(
        pl.format("F{}", pl.int_range(1, frame.height + 1).cast(pl.String).str.zfill(width)).alias(
            "forslag_id"
        ),
        "enhet_id",
        "registrert",
        "status",
        "avsluttet",
    )


def generate(
    units: int = DEFAULT_UNITS,
    start: int = DEFAULT_START,
    end: int = DEFAULT_END,
    seed: int = DEFAULT_SEED,
) -> Sample:
    """Generate the records of a synthetic raw folder (nothing is written)."""
    if units < MIN_UNITS:
        raise UsageError(f"antall enheter må være minst {MIN_UNITS}, ikke {units}")
    if not 2000 <= start <= end <= 2100:
        raise UsageError(f"første og siste år må være fra 2000 til 2100, ikke {start}–{end}")
    if end < 2012:
        raise UsageError(f"siste år må være 2012 eller senere (Lean startet i 2011), ikke {end}")
    rng = np.random.default_rng(seed)
    scale = units / DEFAULT_UNITS
    unit_list = _make_units(rng, units, end)
    gains = _make_gains(rng, unit_list, end, scale)
    resources = _make_resources(rng, unit_list, start, end, scale)
    ideas = _make_ideas(rng, unit_list, end)
    # Plans, targets and comments draw from their own stream, so the records above (and the
    # published figures they reproduce) do not change when these are added or changed.
    extra = np.random.default_rng([seed, 15])
    _plan_gains(extra, gains, end)
    sample = Sample(unit_list, gains, resources, ideas, start, end)
    sample.targets = _make_targets(sample)
    sample.comments = _make_comments(sample)
    return sample


def _plan_gains(rng: np.random.Generator, gains: list[Gain], end: int) -> None:
    """Planned realisation dates, as a gains plan would set them when a gain is registered.

    Most gains get a date 3 to 18 months after identification; a gain realised later than
    planned was late, and a pending gain past its date is overdue (`forsinket`). About
    one in six gains has no plan date.
    """
    for g in gains:
        if rng.random() < 0.17:
            continue
        months = int(rng.integers(3, 19))
        g.planned = g.identified + dt.timedelta(days=30 * months)
        if g.planned > dt.date(end + 1, 12, 31):
            g.planned = None


# Target levels a municipal action plan might set: sick leave cut by half a point from the
# year before (rounded to a half), realisation rate and training share as ambitions.
SICK_CUT = 0.5
REALISATION_GOAL = 90.0  # out of reach in the sample: shows `ikke nådd`
TRAINED_GOAL = {2017: 45, 2018: 50}


def _sick_leave_by_area(sample: Sample, year: int) -> dict[str, float]:
    area = {u.enhet_id: u.area for u in sample.units}
    sums = (
        sample.resources.filter(pl.col("maned").dt.year() == year)
        .with_columns(tjenesteomrade=pl.col("enhet_id").replace_strict(area))
        .group_by("tjenesteomrade")
        .agg(pl.col("fravaer_dagsverk").sum(), pl.col("avtalte_dagsverk").sum())
    )
    rates = measures.with_ratios(sums, ["sykefravaer_prosent"])
    return dict(zip(rates["tjenesteomrade"], rates["sykefravaer_prosent"], strict=True))


def _make_targets(sample: Sample) -> list[dict]:
    """The `mal` table for the last two years: sick leave per area, realisation, training."""
    rows = []
    for year in (sample.end - 1, sample.end):
        if year - 1 < sample.start:
            continue
        for area, rate in sorted(_sick_leave_by_area(sample, year - 1).items()):
            if rate is None:
                continue
            goal = max(round((rate - SICK_CUT) * 2) / 2, 1.0)
            rows.append(dict(omrade=area, indikator="sykefravaer_prosent", ar=year, mal=goal))
        rows.append(
            dict(omrade=WHOLE, indikator="realiseringsgrad_prosent", ar=year, mal=REALISATION_GOAL)
        )
        if year in TRAINED_GOAL:
            rows.append(
                dict(omrade=WHOLE, indikator="enheter_lean", ar=year, mal=TRAINED_GOAL[year])
            )
        rows.append(dict(omrade=WHOLE, indikator="budsjettavvik_prosent", ar=year, mal=0.0))
    return rows


def _make_comments(sample: Sample) -> list[dict]:
    """The leaders' comments for the last two years (plain text with line breaks)."""
    areas = sorted({u.area for u in sample.units})
    rows = []
    for year in (sample.end - 1, sample.end):
        rows.append(
            dict(
                omrade=WHOLE,
                ar=year,
                rolle="Rådmann",
                tekst=(
                    f"Lean er nå en del av den daglige driften i {year}.\n"
                    "Vi må bli bedre på å ta ut gevinstene vi har funnet, og følge opp "
                    "sykefraværet sammen med tillitsvalgte & verneombud."
                ),
            )
        )
        for area in areas[:2]:
            rows.append(
                dict(
                    omrade=area,
                    ar=year,
                    rolle="Kommunalsjef",
                    tekst=(
                        f"{area} har tatt i bruk forbedringstavler i flere enheter.\n"
                        "Gevinster som er forsinket, skal ha ny plan innen neste tertial."
                    ),
                )
            )
    return rows
