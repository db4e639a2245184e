"""The world the detectors see: geography and the per-domain clock, typed and versioned.

It replaced the string-keyed `env` dict that served as the detectors' blackboard: the
fields are the whole contract (zones, protected lines, the airports layer, the learned
harbours, the per-domain event-time watermarks, the live path's counters and the
watchlist the API edits), read and set as attributes. `version` goes up whenever
geography changes (zones, lines or airports replaced), so anything derived from
geography is cached by version (`zones_of_kinds`) instead of being dropped by hand when
an operator edits a zone. Detector memos do not belong here (they live on the detector,
or for one batch in `BatchContext.memo`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from picket.detect.harbours import HarbourLearner
    from picket.geo.airports import Airports
    from picket.geo.zones import LineSet, ZoneSet

log = logging.getLogger(__name__)


def default_airports() -> Airports:
    """The default airports layer (`geo.airports.load_airports`), read at first use."""
    from picket.geo.airports import load_airports

    return load_airports()


class World:
    """Zones, lines, airports, harbours, per-domain watermarks and live counters.

    zones: `ZoneSet` of watched areas, ports, anchorages (None: none loaded).
    lines: `LineSet` of protected infrastructure with corridors (None: none).
    airports: the world airports layer: an `Airports`, a loader called once at first use
        (`airports_layer`; the default loader reads the default layer, `load_geography`
        sets one with the configured radius, so a run without aircraft never reads the
        table), or None where the layer is switched off.
    harbours: the `HarbourLearner` shared by the maritime rules (None until made).
    now_by_domain: domain code -> newest event time seen (the pipeline's own dict).
    live_stats: the live path's counters per source (`pipeline/live.py`), published with
        the pipeline's metrics (`pipeline/metrics.py`).
    watchlist_api: the watchlist entries operators add through the API (a
        `detect.watchlist.WatchBox`), set by the pipeline's edge from
        `picket.cmd.watchlist` commands (serve/live_sink.py) and read by the running
        `watchlist.hit` detector; None until the first command.
    sky: the satellites over the area for the map (serve/satellites.SkyLayer, set by the
        demo); the live edge publishes what rebuilds it on the bus (`picket.static`).
    incidents: the `[incidents]` rules the server joins alerts by, published the same way.
    version: goes up by one on every change of zones, lines or airports.
    """

    __slots__ = ("_airports", "_kinds", "_lines", "_version", "_zones", "harbours",
                 "incidents", "live_stats", "now_by_domain", "sky", "watchlist_api")  # fmt: skip

    def __init__(
        self,
        zones: ZoneSet | None = None,
        lines: LineSet | None = None,
        airports: Airports | Callable[[], Airports] | None = default_airports,
        harbours: HarbourLearner | None = None,
        now_by_domain: dict[int, float] | None = None,
        live_stats: dict[str, Any] | None = None,
        watchlist_api: Any = None,
        sky: Any = None,
        incidents: dict[str, Any] | None = None,
    ) -> None:
        self._zones, self._lines, self._airports = zones, lines, airports
        self.harbours = harbours
        self.now_by_domain: dict[int, float] = now_by_domain if now_by_domain is not None else {}
        self.live_stats = live_stats
        self.watchlist_api = watchlist_api
        self.sky = sky
        self.incidents = incidents
        self._version = 0
        self._kinds: dict[Any, Any] = {}  # version-scoped derived geography

    @classmethod
    def of(cls, world: World | None) -> World:
        """`world`, or a new empty one for None."""
        if world is None:
            return cls()
        if not isinstance(world, World):
            raise TypeError(f"a World is wanted, not {type(world).__name__}")
        return world

    def _geography_changed(self) -> None:
        self._version += 1
        self._kinds = {}

    @property
    def version(self) -> int:
        return self._version

    @property
    def zones(self) -> ZoneSet | None:
        return self._zones

    @zones.setter
    def zones(self, value: ZoneSet | None) -> None:
        if value is not self._zones:
            self._zones = value
            self._geography_changed()

    @property
    def lines(self) -> LineSet | None:
        return self._lines

    @lines.setter
    def lines(self, value: LineSet | None) -> None:
        if value is not self._lines:
            self._lines = value
            self._geography_changed()

    @property
    def airports(self) -> Airports | Callable[[], Airports] | None:
        """As set (a loader until `airports_layer` has called it)."""
        return self._airports

    @airports.setter
    def airports(self, value: Airports | Callable[[], Airports] | None) -> None:
        if value is not self._airports:
            self._airports = value
            self._geography_changed()

    def airports_layer(self) -> Airports | None:
        """The airports layer, its loader called at the first use (None: switched off).
        Loading is no change of geography: the version stays."""
        a = self._airports
        if a is None or not callable(a):
            return a
        a = self._airports = a()
        return a

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

    def __repr__(self) -> str:
        return (f"World(version={self._version}, zones={len(self._zones or ())}, "
                f"lines={len(self._lines or ())}, airports={type(self._airports).__name__})")
