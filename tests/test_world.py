"""The typed World: fields, the geography version, the per-kind zone cache and the old
dict spelling other modules still use."""

from __future__ import annotations

import logging

import numpy as np

from picket.config import Config, build_detectors
from picket.geo.zones import ZoneSet
from picket.model.world import World
from picket.pipeline.assemble import Assembly, replace_zones
from picket.pipeline.runtime import Pipeline


def _zones(*specs: tuple[str, str, float]) -> ZoneSet:
    """Square zones (name, kind, west lon) one degree wide at lat 50-51."""
    return ZoneSet.from_features(
        [(n, k, [[w, 50], [w + 1, 50], [w + 1, 51], [w, 51], [w, 50]], {}) for n, k, w in specs]
    )


def test_fields_and_version():
    w = World()
    assert w.zones is None and w.lines is None and w.harbours is None and w.version == 0
    assert w.now_by_domain == {} and w.now_of(1, -1.0) == -1.0
    z = _zones(("P", "port", 0.0))
    w.zones = z
    assert w.zones is z and w.version == 1
    w.zones = z  # the same object: nothing changed
    assert w.version == 1
    w.lines = None
    assert w.version == 2
    w.harbours = object()  # not geography
    w.live_stats = {"a": 1}
    assert w.version == 2


def test_zones_of_kinds_cached_by_version():
    w = World(zones=_zones(("P", "port", 0.0), ("A", "anchorage", 2.0), ("R", "restricted", 4.0)))
    ports = w.zones_of_kinds(("port", "anchorage"))
    assert sorted(ports.names) == ["A", "P"]
    assert w.zones_of_kinds(("port", "anchorage")) is ports  # made once per version
    assert w.zones_of_kinds(("airport",)) is None
    w.zones = _zones(("Q", "port", 10.0))
    again = w.zones_of_kinds(("port", "anchorage"))
    assert again is not ports and again.names == ["Q"]
    w.zones = None
    assert w.zones_of_kinds(("port",)) is None


def test_dict_spelling_for_known_names():
    z = _zones(("P", "port", 0.0))
    w = World.of({"zones": z, "airports": None})
    assert w.get("zones") is z and w["zones"] is z and "zones" in w
    assert "lines" not in w and w.get("lines") is None and w.get("lines", 5) == 5
    assert "airports" in w and w.get("airports", "default") is None  # off, not the default
    assert World().get("airports", "default") == "default"  # unset: the default layer
    h = object()
    assert w.setdefault("harbours", h) is h and w.setdefault("harbours", object()) is h
    assert w.pop("harbours") is h and "harbours" not in w and w.pop("harbours", 7) == 7
    v = w.version
    w["zones"] = _zones(("Q", "port", 3.0))
    assert w.version == v + 1 and w.zones.names == ["Q"]
    assert sorted(w) == ["airports", "zones"] and len(w) == 2 and bool(World()) is False


def test_old_zone_cache_dict_follows_the_version():
    """`env.setdefault("_zone_cache", {})` (air rules) gets a dict emptied by a zone change."""
    w = World(zones=_zones(("P", "port", 0.0)))
    cache = w.setdefault("_zone_cache", {})
    cache["mine"] = 1
    assert w.setdefault("_zone_cache", {})["mine"] == 1
    w.zones = _zones(("Q", "port", 1.0))
    assert "mine" not in w.setdefault("_zone_cache", {})
    w.setdefault("_zone_cache", {})["mine"] = 2
    w.pop("_zone_cache", None)  # the old hand-kept invalidation still works
    assert "mine" not in w.setdefault("_zone_cache", {})


def test_unknown_names_are_memos_named_once(caplog):
    w = World()
    with caplog.at_level(logging.WARNING, logger="picket.model.world"):
        w["scratch"] = 1
        w["scratch"] = 2
        w["sky"] = 3  # a known memo (the demo's satellites), to become a field: no line
    assert w["scratch"] == 2 and w.pop("sky") == 3
    assert [r.getMessage() for r in caplog.records].count(
        "env['scratch'] is not a World field; keep detector memos on the detector") == 1


def test_pipeline_and_assembly_share_one_world():
    z = _zones(("R", "restricted", 0.0))
    p = Pipeline(build_detectors(Config()), [], {"zones": z})
    assert isinstance(p.world, World) and p.env is p.world and p.world.zones is z
    asm = Assembly(p, None, None, p.world)  # type: ignore[arg-type]
    assert asm.world is p.world
    w = World()
    assert Pipeline([], world=w).world is w


def test_replace_zones_needs_no_cache_popping():
    """An operator's zone edit reaches the port check of the very next call."""
    p = Pipeline([], world=World(zones=_zones(("P", "port", 0.0))))
    lat, lon = np.array([50.5, 50.5]), np.array([0.5, 5.5])

    class Ctx:  # what in_zone_kinds reads of a BatchContext
        env = p.world

    from picket.detect.base import in_zone_kinds

    assert in_zone_kinds(Ctx, lat, lon, ("port",)).tolist() == [True, False]  # type: ignore[arg-type]
    replace_zones(p, _zones(("Q", "port", 5.0)), reindexed=True)
    assert in_zone_kinds(Ctx, lat, lon, ("port",)).tolist() == [False, True]  # type: ignore[arg-type]


def test_detectors_see_the_pipelines_world_and_its_clock():
    """A batch's context carries the pipeline's World (`ctx.world`, `ctx.env` the same),
    its per-domain clock kept up to date, and a zone edit between batches reaches it."""
    from picket.model.decoded import Decoded
    from picket.model.reports import Domain, Kind, Reports
    from picket.model.subjects import Namespace, key

    seen = []

    class Probe:
        kind = "test.probe"

        def update(self, ctx):
            w = ctx.world
            seen.append((w is ctx.env, w.now_of(Domain.MARITIME, -1.0),
                         list(w.zones_of_kinds(("port",)).names)))  # fmt: skip
            return []

    p = Pipeline([Probe()], [], world=World(zones=_zones(("P", "port", 0.0))))

    def batch(t):
        return Decoded(Reports.build(1, time=np.array([t]), domain=np.array([Domain.MARITIME]),
                                     kind=np.array([Kind.POSITION]),
                                     subject=np.array([key(Namespace.MMSI, 235000001)]),
                                     lat=np.array([50.5]), lon=np.array([0.5])))  # fmt: skip

    p.process(batch(1000.0))
    replace_zones(p, _zones(("Q", "port", 5.0)), reindexed=False)
    p.process(batch(1060.0))
    assert seen == [(True, 1000.0, ["P"]), (True, 1060.0, ["Q"])]
    assert p.world.now_by_domain is p.now_by_domain
