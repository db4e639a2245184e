"""Per-zone edit commands (`picket.cmd.zones` with `ops`): a server's editor and the
pipeline name zones by the same ids, a put keeps a zone's place, a delete moves the rest,
and a command applied twice (a restarted feed stamps it again) changes nothing."""

from __future__ import annotations

import json

import pytest
import shapely

from picket.geo.zone_io import Feature
from picket.geo.zones import ZoneSet
from picket.serve.zone_edits import (
    ZoneEditor,
    ZoneError,
    apply_zone_command,
    feature_command,
    zone_ids,
)


def _feature(name: str, lon: float, zid: str | None = None) -> Feature:
    g = shapely.box(lon, 55.0, lon + 0.2, 55.2)
    props = {"name": name, "kind": "restricted", **({"id": zid} if zid else {})}
    return Feature(name, "restricted", g, props)


def _put(f: Feature) -> dict:
    return {"op": "put", "zone": feature_command(f)}


def _ops(*ops: dict, reindexed: bool = False) -> bytes:
    return json.dumps({"ops": list(ops), "reindexed": reindexed}).encode()


def test_the_editor_and_the_pipeline_number_zones_alike():
    cases = [[None, None, None], [None, "z1", None], ["z2", None, None],
             [None, "", "z1", "custom", "custom"]]  # fmt: skip
    for wants in cases:
        feats = [_feature(f"Z{i}", 10.0 + i, w) for i, w in enumerate(wants)]
        ed = ZoneEditor()  # a server seeded with the pipeline's zones
        ed.seed(ZoneSet(feats))
        follower = ZoneEditor()  # a server that knows them from the static picture only
        follower.follow_geojson({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": dict(f.properties),
             "geometry": shapely.geometry.mapping(f.geometry)} for f in feats]})
        # the pipeline names them when it applies a per-zone edit (here one that changes
        # nothing: a delete of no zone)
        named, _ = apply_zone_command(feats, _ops({"op": "delete", "id": "none"}))
        ids = [f.properties["id"] for f in named]
        assert [z.id for z in ed.zones] == [z.id for z in follower.zones] == ids, wants
        assert ids == zone_ids(wants) and len(set(ids)) == len(wants)


def test_put_keeps_a_zones_place_and_delete_moves_the_rest():
    feats = [_feature("A", 10.0), _feature("B", 11.0), _feature("C", 12.0)]  # no ids
    b2 = _feature("B2", 11.5, "z2")
    out, moved = apply_zone_command(feats, _ops(_put(b2), _put(_feature("D", 13.0, "z-d"))))
    assert [f.name for f in out] == ["A", "B2", "C", "D"] and not moved
    assert [f.properties["id"] for f in out] == ["z1", "z2", "z3", "z-d"]
    again, moved = apply_zone_command(out, _ops(_put(b2), _put(_feature("D", 13.0, "z-d"))))
    assert [f.name for f in again] == ["A", "B2", "C", "D"] and not moved  # twice: the same
    out, moved = apply_zone_command(out, _ops({"op": "delete", "id": "z1"}))
    assert [f.name for f in out] == ["B2", "C", "D"] and moved
    out, moved = apply_zone_command(out, _ops({"op": "delete", "id": "z1"}))
    assert [f.name for f in out] == ["B2", "C", "D"] and not moved  # gone already
    whole = json.dumps({"zones": [feature_command(_feature("W", 20.0, "w"))],
                        "reindexed": True}).encode()  # fmt: skip
    out, moved = apply_zone_command(out, whole)
    assert [f.name for f in out] == ["W"] and moved


@pytest.mark.parametrize("op", [{"op": "rename", "id": "z1"},
                                {"op": "put", "zone": feature_command(_feature("X", 1.0))},
                                {"op": "delete"}])  # fmt: skip
def test_a_bad_op_is_refused(op):
    with pytest.raises((ZoneError, KeyError)):
        apply_zone_command([_feature("A", 10.0)], _ops(op))


def test_a_refused_command_leaves_the_others_of_the_batch_applied():
    from picket.model.world import World
    from picket.pipeline.commands import Commands

    world = World(zones=ZoneSet([_feature("A", 10.0)]))
    take = Commands(world=world)
    assert take.apply([("zones", _ops(_put(_feature("B", 11.0, "b")))),
                       ("zones", _ops({"op": "rename", "id": "z1"})),
                       ("zones", _ops(_put(_feature("C", 12.0, "c"))))])  # fmt: skip
    assert world.zones.names == ["A", "B", "C"]
    assert take.counts["zones"] == 2 and take.counts["refused"] == 1
    # what a restarted worker applies again: the zones as they are, as one whole list
    again = World(zones=ZoneSet([_feature("A", 10.0)]))
    Commands(world=again).apply([("zones", take.zones_command().encode())])
    assert again.zones.names == ["A", "B", "C"]


def test_two_editors_on_one_folder_both_keep_writing_the_edits_file(tmp_path):
    """Two servers on one store folder persist their edits at once: each renames a
    temporary file of its own (one shared name made the slower rename fail, and that
    failure cut short a server's following of the pipeline's zones)."""
    import threading

    eds = [ZoneEditor(), ZoneEditor()]
    for ed in eds:
        ed.attach(tmp_path)
        ed.seed(ZoneSet([_feature("A", 10.0)]))
    errors: list[BaseException] = []

    def edit(ed: ZoneEditor, k: int) -> None:
        try:
            for i in range(60):
                doc = json.loads(json.dumps(feature_command(_feature(f"E{k}-{i}", 11.0 + k))))
                doc["properties"].pop("id", None)
                ed.add(doc, f"analyst-{k}")
        except BaseException as e:  # the test reports it
            errors.append(e)

    threads = [threading.Thread(target=edit, args=(ed, k)) for k, ed in enumerate(eds)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    kept = json.loads((tmp_path / "zones.edited.geojson").read_text())
    assert len(kept["features"]) == 61  # one editor's whole list, the later rename's
    assert not list(tmp_path.glob("*.tmp"))
