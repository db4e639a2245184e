"""Per-domain facts in one table: names, codes, identities, symbols, CoT types, stale times.

Why one table: the server's picture, the CoT writer, the exports and the web page each
need to know that a vessel is `maritime` (code 2), is neutral by default, is drawn as a
MIL-STD-2525 sea-surface track and goes stale after ten minutes. Kept apart, those
tables drift; here each domain is one `DomainSpec`, and the page's TypeScript constants
are generated from it:

    python -m picket.model.domains --ts > web/src/generated/domains.ts

(a test fails while the committed file differs from what this prints).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from picket.model.reports import Domain
from picket.model.subjects import Namespace, format_subject, key

TS_PATH = "web/src/generated/domains.ts"


@dataclass(frozen=True)
class DomainSpec:
    """Everything picket says about one domain.

    domain: the `Domain` code carried in every report's `domain` column.
    namespaces: subject namespaces that belong to this domain only (`track:` and `cot:`
        identities can be of any domain).
    base_identity: the affiliation a track has until told otherwise ("neutral" for
        vessels broadcasting AIS, civil by regulation; "unknown" for the rest).
    sidc_dimension, sidc_function: MIL-STD-2525C letter-code characters 3 and 5-10 of
        the symbol (SIDC `S<identity><dimension>P<function>-----`).
    cot_dimension: the last letter of the CoT type `a-<affiliation>-<dimension>`
        (`G` where CoT has no better one).
    cot_ce_m: CoT circular error (m) sent with a position.
    has_altitude: whether `alt` is a height to pass on (aircraft and satellites).
    stale_s: event-time seconds after the last position before a track is drawn stale.
    drop_s: ... and before it leaves the picture.
    colour: the page's RGB for the domain's plain symbols.
    forget_s: event-time seconds of silence after which the pipeline forgets a subject
        and gives its track slot to a new one (never while it has an open alert;
        `[pipeline] forget_after_s` overrides it). Longer than any of the domain's
        detectors looks back over a silence.
    """

    domain: Domain
    namespaces: tuple[Namespace, ...]
    base_identity: str
    sidc_dimension: str
    sidc_function: str
    cot_dimension: str
    cot_ce_m: float | None
    has_altitude: bool
    stale_s: float
    drop_s: float
    colour: tuple[int, int, int]
    forget_s: float

    @property
    def name(self) -> str:
        return self.domain.label

    @property
    def code(self) -> int:
        return int(self.domain)

    def sidc(self, identity_letter: str = "U") -> str:
        """The 15-character MIL-STD-2525C symbol code (`U` unknown, `N` neutral,
        `F` friend, `S` suspect)."""
        return f"S{identity_letter}{self.sidc_dimension}P{self.sidc_function}-----"


# Stale and drop times: an aircraft is reported every second or so and ADS-B receivers
# (tar1090) drop a track after ~60-300 s; class A AIS at anchor and class B report every
# 3 min, so vessels get ten minutes before stale and an hour before they leave.
#
# Forget times: the air rules look back minutes to hours over a silence (transponder loss,
# loitering windows), so a day; a vessel's AIS gap is judged in hindsight when it
# reappears, and a week keeps week-long gaps (Global Fishing Watch's gap events run from
# 12 h to days); satellites report daily element sets and manoeuvres are judged across
# weeks of them, so 30 days. A subject back after that is a new track.
DAY = 86_400.0
SPECS: tuple[DomainSpec, ...] = (
    DomainSpec(Domain.AIR, (Namespace.ICAO, Namespace.RID, Namespace.SYSTRACK), "unknown",
               "A", "------", "A", 30.0, True, 60.0, 300.0, (96, 200, 255), DAY),
    DomainSpec(Domain.MARITIME, (Namespace.MMSI,), "neutral",
               "S", "------", "S", 10.0, False, 600.0, 3600.0, (80, 230, 150), 7 * DAY),
    DomainSpec(Domain.SPACE, (Namespace.NORAD,), "unknown",
               "P", "S-----", "P", 1000.0, True, 3600.0, 86400.0, (220, 190, 255), 30 * DAY),
    DomainSpec(Domain.EM, (), "unknown",
               "Z", "------", "G", None, False, 300.0, 900.0, (255, 140, 220), DAY),
)  # fmt: skip

BY_CODE: Mapping[int, DomainSpec] = {s.code: s for s in SPECS}
BY_NAME: Mapping[str, DomainSpec] = {s.name: s for s in SPECS}

# derived tables, in the shapes the rest of picket reads
DOMAIN_NAMES: Mapping[int, str] = {s.code: s.name for s in SPECS}
DOMAIN_CODES: Mapping[str, int] = {s.name: s.code for s in SPECS}
STALE_S: Mapping[Domain, float] = {s.domain: s.stale_s for s in SPECS}
DROP_S: Mapping[Domain, float] = {s.domain: s.drop_s for s in SPECS}
FORGET_S: Mapping[str, float] = {s.name: s.forget_s for s in SPECS}
COT_DIMENSION: Mapping[int, str] = {s.code: s.cot_dimension for s in SPECS}
COT_CE_M: Mapping[int, float] = {s.code: s.cot_ce_m for s in SPECS if s.cot_ce_m is not None}


def label(code: int) -> str:
    """The domain's name for a code ("none" for 0 or a code picket does not know)."""
    s = BY_CODE.get(int(code))
    return s.name if s else "none"


def prefix(ns: Namespace | int) -> str:
    """A namespace as subjects spell it (`mmsi`, `icao`, `sdps`...)."""
    return (format_subject(int(key(ns, 0))) or "").partition(":")[0]


def of_namespace(ns: Namespace | int) -> DomainSpec | None:
    """The domain a subject namespace belongs to (None where it can be any)."""
    return next((s for s in SPECS if int(ns) in {int(n) for n in s.namespaces}), None)


def typescript() -> str:
    """The page's constants (web/src/generated/domains.ts)."""
    names = [""] * (max(BY_CODE) + 1)
    for s in SPECS:
        names[s.code] = s.name
    rows = []
    for s in SPECS:
        facts = {
            "code": s.code, "name": s.name,
            "namespaces": [prefix(n) for n in s.namespaces],
            "baseIdentity": s.base_identity, "sidcDimension": s.sidc_dimension,
            "sidcFunction": s.sidc_function, "cotDimension": s.cot_dimension,
            "staleS": s.stale_s, "dropS": s.drop_s, "colour": list(s.colour),
        }  # fmt: skip
        rows.append(f"  {s.code}: {json.dumps(facts)},")
    return "\n".join([
        f"// Generated by `python -m picket.model.domains --ts > {TS_PATH}`",
        "// from src/picket/model/domains.py: edit that table, not this file.",
        "",
        f"export const DOMAINS = {json.dumps(names)} as const;",
        "export type DomainName = (typeof DOMAINS)[number];",
        "",
        "export interface DomainFacts {",
        "  readonly code: number;",
        "  readonly name: DomainName;",
        "  readonly namespaces: readonly string[];",
        '  readonly baseIdentity: "unknown" | "neutral" | "friend" | "suspect";',
        "  /** MIL-STD-2525C battle dimension (SIDC character 3). */",
        "  readonly sidcDimension: string;",
        "  /** MIL-STD-2525C function (SIDC characters 5-10). */",
        "  readonly sidcFunction: string;",
        "  /** The last letter of the CoT type a-<affiliation>-<dimension>. */",
        "  readonly cotDimension: string;",
        "  /** Event-time seconds before a track is drawn stale, and before it leaves. */",
        "  readonly staleS: number;",
        "  readonly dropS: number;",
        "  readonly colour: readonly [number, number, number];",
        "}",
        "",
        "export const DOMAIN_FACTS: Readonly<Record<number, DomainFacts>> = {",
        *rows,
        "};",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m picket.model.domains",
                                description="print the per-domain table")  # fmt: skip
    p.add_argument("--ts", action="store_true", help="as TypeScript, for web/src/generated/")
    a = p.parse_args(argv)
    if a.ts:
        sys.stdout.write(typescript())
    else:
        for s in SPECS:
            print(f"{s.code} {s.name:<9} {s.sidc():<16} a-?-{s.cot_dimension} "
                  f"stale {s.stale_s:g} s, drop {s.drop_s:g} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
