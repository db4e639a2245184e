"""The typed World: fields, the geography version, the per-kind zone cache and the lazy
airports layer; read by attribute only."""

from __future__ import annotations

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
    w.lines = None  # None already: nothing changed
    assert w.version == 1
    w.zones = None
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


def test_airports_a_lazy_loader_called_once_or_off():
    """The airports layer is a field: the default loader, one set by `load_geography`, or
    None (switched off); the loader runs at the first use only and that is no geography
    change."""
    from picket.geo.airports import airports_of, load_airports

    calls = []

    def loader():
        calls.append(1)
        return load_airports()

    w = World(airports=loader)
    assert calls == [] and w.airports is loader
    a = w.airports_layer()
    assert calls == [1] and a is load_airports() and w.airports is a and w.version == 0
    assert airports_of(w) is a and calls == [1]
    off = World(airports=None)
    assert off.airports_layer() is None and airports_of(off) is None
    assert World().airports_layer() is load_airports()  # the default layer
    off.airports = loader
    assert off.version == 1


def test_no_dict_spelling_is_left():
    """The World is read by attribute only: no `env` dict spelling, no memos kept in it."""
    w = World()
    for name in ("get", "setdefault", "pop", "keys", "items", "__getitem__", "__contains__"):
        assert not hasattr(w, name), name
    try:
        w.scratch = 1  # type: ignore[attr-defined]
    except AttributeError:
        pass
    else:
        raise AssertionError("a World took an unknown name")
    try:
        World.of({"zones": None})  # type: ignore[arg-type]
    except TypeError:
        pass
    else:
        raise AssertionError("World.of took a dict")
    assert isinstance(World.of(None), World) and World.of(w) is w


def test_pipeline_and_assembly_share_one_world():
    z = _zones(("R", "restricted", 0.0))
    p = Pipeline(build_detectors(Config()), [], World(zones=z))
    assert isinstance(p.world, World) and p.world.zones is z
    asm = Assembly(p, None, None, p.world)  # type: ignore[arg-type]
    assert asm.world is p.world
    w = World()
    assert Pipeline([], world=w).world is w


def test_replace_zones_needs_no_cache_popping():
    """An operator's zone edit reaches the port check of the very next call."""
    p = Pipeline([], world=World(zones=_zones(("P", "port", 0.0))))
    lat, lon = np.array([50.5, 50.5]), np.array([0.5, 5.5])

    class Ctx:  # what in_zone_kinds reads of a BatchContext
        world = p.world

    from picket.detect.base import in_zone_kinds

    assert in_zone_kinds(Ctx, lat, lon, ("port",)).tolist() == [True, False]  # type: ignore[arg-type]
    replace_zones(p, _zones(("Q", "port", 5.0)), reindexed=True)
    assert in_zone_kinds(Ctx, lat, lon, ("port",)).tolist() == [False, True]  # type: ignore[arg-type]


def test_detectors_see_the_pipelines_world_and_its_clock():
    """A batch's context carries the pipeline's World (`ctx.world`),
    its per-domain clock kept up to date, and a zone edit between batches reaches it."""
    from picket.model.decoded import Decoded
    from picket.model.reports import Domain, Kind, Reports
    from picket.model.subjects import Namespace, key

    seen = []

    class Probe:
        kind = "test.probe"

        def update(self, ctx):
            w = ctx.world
            seen.append((w is p.world, w.now_of(Domain.MARITIME, -1.0),
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
