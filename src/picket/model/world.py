"""The world the detectors see: geography and the per-domain clock, typed and versioned.

It replaces the string-keyed `env` dict that served as the detectors' blackboard. The
fields are the whole contract: zones, protected lines, the airports layer, the learned
harbours, the per-domain event-time watermarks and the live path's counters. `version`
goes up whenever geography changes (zones, lines or airports replaced), so anything
derived from geography is cached by version (`zones_of_kinds`) instead of being popped
by hand when an operator edits a zone.

Until every caller reads attributes, a `World` also answers the old dict spelling for
its field names (`env.get("zones")`, `env["lines"]`, `setdefault`, `pop`, `in`), so
code written against the dict keeps working unchanged (still read that way, at the time
of writing: `fusion/context.py`, `geo/airports.py`, `bus/picture.py`, `serve/watch.py`,
`Pipeline(env={...})` in tests; serve, cli, pipeline and demo read attributes).
Detector memos do not belong here (they live on the detector); the few old ones still
stored through the dict spelling are kept apart and named in a log line once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from picket.detect.harbours import HarbourLearner
    from picket.geo.airports import Airports
    from picket.geo.zones import LineSet, ZoneSet

log = logging.getLogger(__name__)


class _Unset:
    """Marks a field nobody set (the dict spelling then reads it as absent)."""

    _it: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._it is None:
            cls._it = super().__new__(cls)
        return cls._it

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()

# the names the dict spelling knows, and which of them are geography (a change bumps version)
FIELDS = ("zones", "lines", "airports", "harbours", "now_by_domain", "live_stats",
          "watchlist_api", "sky", "incidents")
GEOGRAPHY = frozenset({"zones", "lines", "airports"})
# the old per-kind zone subsets (`env["_zone_cache"]`): now the version-keyed cache itself
ZONE_CACHE = "_zone_cache"
# names once kept through the dict spelling that are fields now (no warning for them)
KNOWN_MEMOS: frozenset[str] = frozenset()


class World:
    """Zones, lines, airports, harbours, per-domain watermarks and live counters.

    zones: `ZoneSet` of watched areas, ports, anchorages (None: none loaded).
    lines: `LineSet` of protected infrastructure with corridors (None: none).
    airports: the world airports layer: an `Airports`, a loader called once at first use
        (`load_geography` sets one so a run without aircraft never reads the table), None
        where switched off, or unset (the default layer, `geo.airports.airports_of`).
    harbours: the `HarbourLearner` shared by the maritime rules (None until made).
    now_by_domain: domain code -> newest event time seen (the pipeline's own dict).
    live_stats: the live path's counters per source (`pipeline/live.py`), published with
        the pipeline's metrics (`pipeline/metrics.py`).
    watchlist_api: the watchlist entries operators add through the API, set by the
        pipeline's edge from `picket.cmd.watchlist` commands (serve/live_sink.py) and read
        by the running `watchlist.hit` detector.
    sky: the satellites over the area for the picture (serve/satellites.py).
    incidents: the `[incidents]` rules the server joins alerts by (serve/incidents.py).
    version: goes up by one on every change of zones, lines or airports.
    """

    __slots__ = ("_kinds", "_memos", "_v", "_version", "_warned")

    def __init__(
        self,
        zones: ZoneSet | None = UNSET,
        lines: LineSet | None = UNSET,
        airports: Airports | Callable[[], Airports] | None = UNSET,
        harbours: HarbourLearner | None = UNSET,
        now_by_domain: dict[int, float] | None = UNSET,
        live_stats: dict[str, Any] | None = UNSET,
        watchlist_api: Any = UNSET,
        sky: Any = UNSET,
        incidents: Any = UNSET,
    ) -> None:
        self._v: dict[str, Any] = dict(zip(FIELDS, (
            zones, lines, airports, harbours, now_by_domain, live_stats, watchlist_api, sky,
            incidents), strict=True))  # fmt: skip
        self._version = 0
        self._kinds: dict[Any, Any] = {}  # version-scoped derived geography
        self._memos: dict[str, Any] = {}
        self._warned: set[str] = set()

    @classmethod
    def of(cls, env: World | Mapping[str, Any] | None) -> World:
        """A World as given, or one made from an old `env` mapping (unknown keys kept as
        memos, logged)."""
        if isinstance(env, World):
            return env
        w = cls()
        for k, v in (env or {}).items():
            w[k] = v
        return w

    # typed fields ---------------------------------------------------------------------
    def _get(self, name: str) -> Any:
        v = self._v[name]
        return None if v is UNSET else v

    def _set(self, name: str, value: Any) -> None:
        if name in GEOGRAPHY and self._v[name] is not value:
            self._version += 1
            self._kinds = {}
        self._v[name] = value

    @property
    def version(self) -> int:
        return self._version

    @property
    def zones(self) -> ZoneSet | None:
        return self._get("zones")

    @zones.setter
    def zones(self, value: ZoneSet | None) -> None:
        self._set("zones", value)

    @property
    def lines(self) -> LineSet | None:
        return self._get("lines")

    @lines.setter
    def lines(self, value: LineSet | None) -> None:
        self._set("lines", value)

    @property
    def airports(self) -> Airports | Callable[[], Airports] | None:
        """As set: see the class docstring (unset reads as `UNSET`, the default layer)."""
        return self._v["airports"]

    @airports.setter
    def airports(self, value: Airports | Callable[[], Airports] | None) -> None:
        self._set("airports", value)

    @property
    def harbours(self) -> HarbourLearner | None:
        return self._get("harbours")

    @harbours.setter
    def harbours(self, value: HarbourLearner | None) -> None:
        self._set("harbours", value)

    @property
    def now_by_domain(self) -> dict[int, float]:
        v = self._v["now_by_domain"]
        if v is UNSET or v is None:
            v = self._v["now_by_domain"] = {}
        return v

    @now_by_domain.setter
    def now_by_domain(self, value: dict[int, float]) -> None:
        self._set("now_by_domain", value)

    @property
    def live_stats(self) -> dict[str, Any] | None:
        return self._get("live_stats")

    @live_stats.setter
    def live_stats(self, value: dict[str, Any] | None) -> None:
        self._set("live_stats", value)

    @property
    def watchlist_api(self) -> Any:
        return self._get("watchlist_api")

    @watchlist_api.setter
    def watchlist_api(self, value: Any) -> None:
        self._set("watchlist_api", value)

    @property
    def sky(self) -> Any:
        return self._get("sky")

    @sky.setter
    def sky(self, value: Any) -> None:
        self._set("sky", value)

    @property
    def incidents(self) -> Any:
        return self._get("incidents")

    @incidents.setter
    def incidents(self, value: Any) -> None:
        self._set("incidents", value)

    # derived geography, cached by version ------------------------------------------------
    def zones_of_kinds(self, kinds: tuple[str, ...]) -> ZoneSet | None:
        """The zones whose kind is one of `kinds` (ports, anchorages, airspace...), None
        where there are none; made once per geography version."""
        zones = self.zones
        if zones is None or len(zones) == 0:
            return None
        key = ("kinds", tuple(kinds))
        sub = self._kinds.get(key)
        if sub is None:
            sub = self._kinds[key] = type(zones)([f for f in zones.features if f.kind in kinds])
        return sub if len(sub) else None

    def now_of(self, domain: int, default: float) -> float:
        """The newest event time seen in `domain` (`default` before any)."""
        return self.now_by_domain.get(int(domain), default)

    # the old dict spelling ---------------------------------------------------------------
    def _memo(self, key: str) -> dict[str, Any]:
        if key not in KNOWN_MEMOS and key not in self._warned:
            self._warned.add(key)
            log.warning("env[%r] is not a World field; keep detector memos on the detector",
                        key)  # fmt: skip
        return self._memos

    def __getitem__(self, key: str) -> Any:
        if key in self._v:
            v = self._v[key]
            if v is UNSET:
                raise KeyError(key)
            return v
        if key == ZONE_CACHE:
            return self._kinds
        return self._memos[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self._v:
            self._set(key, value)
        elif key == ZONE_CACHE:
            self._kinds = value
        else:
            self._memo(key)[key] = value

    def __contains__(self, key: object) -> bool:
        if key in self._v:
            return self._v[key] is not UNSET  # type: ignore[index]
        return key == ZONE_CACHE or key in self._memos

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key in self._v:
            if self._v[key] is UNSET:
                self._set(key, default)
            return self._v[key]
        if key == ZONE_CACHE:
            return self._kinds
        return self._memo(key).setdefault(key, default)

    def pop(self, key: str, *default: Any) -> Any:
        if key in self._v:
            v = self._v[key]
            if v is UNSET:
                if default:
                    return default[0]
                raise KeyError(key)
            self._set(key, UNSET)
            return v
        if key == ZONE_CACHE:  # the old hand-kept cache: dropping it drops derived geography
            v, self._kinds = self._kinds, {}
            return v
        return self._memos.pop(key, *default)

    def keys(self) -> list[str]:
        return [k for k in FIELDS if self._v[k] is not UNSET] + list(self._memos)

    def items(self) -> list[tuple[str, Any]]:
        return [(k, self[k]) for k in self.keys()]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        set_ = ", ".join(f"{k}={type(v).__name__}" for k, v in self.items())
        return f"World(version={self._version}, {set_})"
