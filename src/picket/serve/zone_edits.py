"""Watched zones as operators edit them: the list the map shows, the file that keeps the
edits, and the `ZoneSet` handed to the running pipeline.

Why the order matters: detectors may remember a track's zone by its index in the set, so
an added zone goes to the end and a changed zone keeps its place; only deleting or
replacing the whole set moves zones, and then the swap says so (`reindexed`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import threading
import time as wall
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from picket.files import write_atomic
from picket.geo.zone_io import Feature, parse_geojson
from picket.geo.zones import ZoneSet
from picket.model.alerts import iso
from picket.model.rejects import Rejects

log = logging.getLogger(__name__)

EDITED_FILE = "zones.edited.geojson"
MAX_ZONES = 10_000
# Budgets checked before any geometry work (docs/api.md): repairing a self-intersecting
# polygon (make_valid) costs seconds for a 100-vertex star and minutes for thousands, and
# even the validity check grows faster than linearly (18 s at 100k vertices), so vertices
# are counted on the raw JSON first and an invalid polygon is refused, never repaired.
MAX_VERTICES = 10_000  # per zone
MAX_REQUEST_VERTICES = 100_000  # per request (a whole-set replace)
TIME_BUDGET_S = 2.0  # validity checks of one request; the rest is refused once spent


class ZoneError(ValueError):
    """A zone edit refused: `status` 404 (unknown id), 413 (over a budget) or 422
    (unusable feature); `reason` names it in the server's refusal counts."""

    def __init__(self, status: int, detail: str, reason: str = "unusable"):
        super().__init__(detail)
        self.status = status
        self.reason = reason


class Budget:
    """Vertices and validation time left for one request."""

    def __init__(self, vertices: int = MAX_REQUEST_VERTICES, seconds: float = TIME_BUDGET_S):
        self.vertices = vertices
        self.deadline = wall.monotonic() + seconds
        self.seconds = seconds


def _rings(g: dict[str, Any], where: str) -> list[list[Any]]:
    """The polygons of a raw GeoJSON geometry as lists of rings, shape-checked only."""
    coords = g.get("coordinates")
    polys = [coords] if g.get("type") == "Polygon" else coords
    if not isinstance(polys, list) or not all(isinstance(p, list) for p in polys):
        raise ZoneError(422, f"{where}: coordinates are not polygon rings", "bad_coordinates")
    for p in polys:
        if not all(isinstance(r, list) for r in p):
            raise ZoneError(422, f"{where}: coordinates are not polygon rings",
                            "bad_coordinates")  # fmt: skip
    return polys


def check_budget(doc: dict[str, Any], where: str, budget: Budget) -> None:
    """Refuse a zone over the vertex budget (413) or whose polygons are not valid (422),
    before any repair or index is built; counts against the request's `budget`."""
    polys = _rings(doc["geometry"], where)
    n = sum(len(r) for p in polys for r in p)
    if n > MAX_VERTICES:
        raise ZoneError(413, f"{where}: {n} vertices; a zone may have at most {MAX_VERTICES}",
                        "too_many_vertices")  # fmt: skip
    budget.vertices -= n
    if budget.vertices < 0:
        raise ZoneError(413, f"{where}: more than {MAX_REQUEST_VERTICES} vertices in one "
                        "request", "too_many_vertices")  # fmt: skip
    for k, rings in enumerate(polys):
        try:
            arrs = [np.asarray(r, float) for r in rings]
        except (TypeError, ValueError):
            raise ZoneError(422, f"{where}: coordinates are not numbers",
                            "bad_coordinates") from None  # fmt: skip
        if not arrs or any(a.ndim != 2 or a.shape[0] < 4 or a.shape[1] < 2 for a in arrs):
            raise ZoneError(422, f"{where}: a ring needs 4 or more [lon, lat] positions",
                            "bad_coordinates")  # fmt: skip
        if not all(np.isfinite(a[:, :2]).all() for a in arrs):
            raise ZoneError(422, f"{where}: coordinates must be finite", "bad_coordinates")
        for a in arrs:  # across the antimeridian: continuous longitudes, as zone_io draws it
            a[:, 0] = a[0, 0] + np.concatenate([[0.0], np.cumsum(
                (np.diff(a[:, 0]) + 180.0) % 360.0 - 180.0)])  # fmt: skip
        if wall.monotonic() > budget.deadline:
            raise ZoneError(413, f"{where}: zone checks took longer than {budget.seconds} s",
                            "time_budget")  # fmt: skip
        poly = shapely.Polygon(arrs[0][:, :2], [a[:, :2] for a in arrs[1:]])
        if not shapely.is_valid(poly):
            why = shapely.is_valid_reason(poly).split("[", 1)[0]
            part = f" (polygon {k})" if len(polys) > 1 else ""
            raise ZoneError(422, f"{where}{part}: invalid polygon: {why}; zones sent to the "
                            "API are not repaired: send a valid polygon", "invalid_geometry")
    if wall.monotonic() > budget.deadline:
        raise ZoneError(413, f"{where}: zone checks took longer than {budget.seconds} s",
                        "time_budget")  # fmt: skip


@dataclass
class Zone:
    id: str
    feature: Feature  # what the detectors index
    geojson: dict[str, Any]  # what clients see and the file keeps


def feature_command(f: Feature, geometry: dict[str, Any] | None = None) -> dict[str, Any]:
    """A zone as a zone command carries it: the detectors' properties and the shape."""
    return {"type": "Feature", "name": f.name, "kind": f.kind, "where": f.where,
            "properties": dict(f.properties),
            "geometry": geometry or shapely.geometry.mapping(f.geometry)}  # fmt: skip


def command_feature(z: Zone) -> dict[str, Any]:
    """An edited zone as a command carries it, with the shape as it was drawn."""
    return feature_command(z.feature, z.geojson["geometry"])


def zone_ids(wants: list[Any]) -> list[str]:
    """Ids for zones in this order: a zone's own (a non-empty string no earlier zone has),
    else the first free of z1, z2, ... The editor numbers the zones it is seeded with so,
    and the pipeline names its zones by the same rule when it applies a per-zone edit,
    so both mean one zone by one id even where the zone files gave none."""
    taken: set[str] = set()
    out, k = [], 1
    for w in wants:
        if isinstance(w, str) and w.strip() and w not in taken:
            zid = w
        else:
            while f"z{k}" in taken:
                k += 1
            zid = f"z{k}"
        taken.add(zid)
        out.append(zid)
    return out


def _command_zone(d: Any, where: str) -> Feature:
    g = shapely.geometry.shape(d["geometry"])
    if g.geom_type not in ("Polygon", "MultiPolygon") or not shapely.is_valid(g):
        raise ZoneError(422, f"{where}: not a valid polygon")
    return Feature(str(d["name"]), str(d["kind"]), g, dict(d["properties"]),
                   where=str(d.get("where", "")))  # fmt: skip


def _whole_list(doc: dict[str, Any]) -> tuple[ZoneSet, bool]:
    """The zone set and `reindexed` flag of a whole-list `picket.cmd.zones` message (the
    shapes were checked when the edit was made; a malformed one raises)."""
    feats = [_command_zone(d, f"zone command [{i}]") for i, d in enumerate(doc["zones"])]
    return ZoneSet(feats), bool(doc.get("reindexed"))


def apply_zone_command(features: list[Feature], body: bytes) -> tuple[list[Feature], bool]:
    """`features` after one `picket.cmd.zones` message, and whether zones moved. The
    message is a whole list (`zones`: replace them all) or per-zone edits (`ops`: `put` a
    zone by its id, in its place or at the end; `delete` one by id), which edit the
    pipeline's own list: two analysts' edits on two servers that reach the pipeline in
    one batch both apply, where two whole lists would let the later undo the other.
    Applying one twice changes nothing (a restarted feed stamps commands again)."""
    doc = json.loads(body)
    if "zones" in doc:
        zones, reindexed = _whole_list(doc)
        return list(zones.features), reindexed
    ids = zone_ids([f.properties.get("id") for f in features])
    out = [f if f.properties.get("id") == i else
           dataclasses.replace(f, properties={**f.properties, "id": i})
           for f, i in zip(features, ids, strict=True)]  # fmt: skip
    reindexed = False
    for k, op in enumerate(doc["ops"]):
        kind = op["op"]
        if kind == "put":
            f = _command_zone(op["zone"], f"zone command op [{k}]")
            zid = f.properties.get("id")
            if not isinstance(zid, str) or not zid:
                raise ZoneError(422, f"zone command op [{k}]: a zone needs its id")
            at = next((j for j, g in enumerate(out) if g.properties.get("id") == zid), None)
            if at is None:
                out.append(f)  # a new zone goes to the end: the indices of the others stay
            else:
                out[at] = f
        elif kind == "delete":
            keep = [g for g in out if g.properties.get("id") != str(op["id"])]
            reindexed = reindexed or len(keep) != len(out)
            out = keep
        else:
            raise ZoneError(422, f"zone command op [{k}]: unknown op {kind!r}")
    return out, reindexed


def _jsonable(v: Any) -> bool:
    return isinstance(v, str | int | float | bool) or v is None


def parse_zone(doc: Any, where: str, budget: Budget | None = None) -> Feature:
    """One polygonal zone from a GeoJSON Feature, checked as zone files are (zone_io).
    With `budget` (edits through the API) the budgets and validity come first."""
    if not isinstance(doc, dict) or doc.get("type") != "Feature":
        raise ZoneError(422, f"{where}: a GeoJSON Feature is needed")
    g = doc.get("geometry")
    if not isinstance(g, dict) or g.get("type") not in ("Polygon", "MultiPolygon"):
        raise ZoneError(422, f"{where}: geometry must be a Polygon or MultiPolygon")
    if budget is not None:
        check_budget(doc, where, budget)
    rejects = Rejects()
    feats = [f for f in parse_geojson(json.dumps(doc).encode(), where, rejects, want="polygon")
             if f.is_polygonal]  # fmt: skip
    bad = sorted(r for r in rejects.counts if r != "zones.repaired_invalid_geometry")
    if len(feats) != 1 or bad:
        raise ZoneError(422, f"{where}: unusable zone ({', '.join(bad) or 'no polygon'})")
    return feats[0]


def _ids(parsed: list[tuple[Feature, dict[str, Any]]]) -> list[str]:
    """The ids the pipeline knows these zones by (`zone_ids`)."""
    return zone_ids([(d.get("properties") or {}).get("id") for _, d in parsed])


def _parse_all(fc: dict[str, Any]) -> list[tuple[Feature, dict[str, Any]]]:
    """The usable zones of a FeatureCollection the pipeline sent, with their documents
    (a feature that is not a zone is left out, as the pipeline left it out)."""
    out = []
    feats = fc.get("features") if isinstance(fc, dict) else None
    for i, doc in enumerate(feats if isinstance(feats, list) else []):
        try:
            out.append((parse_zone(doc, f"zones[{i}]"), doc))
        except ZoneError:
            continue
    return out


class ZoneEditor:
    """The live zone list; thread-safe. The pipeline takes the newest set with `take()`,
    or, with `on_change` (the live hub), from the command each edit publishes
    (`apply_zone_command`): the one zone added, changed or deleted, or the whole list
    when it was replaced, and whether indices moved."""

    def __init__(self, on_change: Callable[[dict[str, Any]], None] | None = None):
        self._on_change = on_change
        self._lock = threading.Lock()
        self.zones: list[Zone] = []
        self.path: Path | None = None
        self.seeded = False
        self._next = 1
        self._pending: ZoneSet | None = None
        self._reindexed = False

    # set-up ----------------------------------------------------------------------------
    def seed(self, zones: Any) -> None:
        """The zones the pipeline started with (a ZoneSet), unless edits were loaded."""
        if self.seeded or zones is None:
            return
        feats = list(getattr(zones, "features", []))
        with self._lock:
            for f, zid in zip(feats, zone_ids([f.properties.get("id") for f in feats]),
                              strict=True):  # fmt: skip
                self.zones.append(self._zone(f, zid, None, keep_id=True))
            self.seeded = True

    def seed_geojson(self, fc: dict[str, Any] | None) -> None:
        """Zones given as GeoJSON only (`picket serve --zones`), unless already seeded."""
        if self.seeded or not fc:
            return
        parsed = _parse_all(fc)
        with self._lock:
            for (f, _), zid in zip(parsed, _ids(parsed), strict=True):
                self.zones.append(self._zone(f, zid, None, keep_id=True))
            self.seeded = True

    def follow_geojson(self, fc: dict[str, Any] | None) -> bool:
        """The zones the pipeline now judges against (a newer `picket.static`): when they
        differ from this list, another server's edit (or a restart's) reached the pipeline,
        and this list becomes the pipeline's, so the next edit made here starts from it
        instead of undoing that one. A zone held here with the same id and shape keeps its
        edit history. Nothing is sent back (the pipeline has these zones). True if the
        list changed."""
        if not self.seeded:
            self.seed_geojson(fc)
            return self.seeded
        if not isinstance(fc, dict) or not isinstance(fc.get("features"), list):
            return False
        parsed = _parse_all(fc)
        with self._lock:
            mine = {z.id: z for z in self.zones}

            def same(f: Feature, zid: str) -> Zone | None:
                z = mine.get(zid)
                ok = z is not None and z.feature.name == f.name and z.feature.kind == f.kind
                return z if ok and z.feature.geometry.equals(f.geometry) else None

            ids = _ids(parsed)
            kept = [same(f, zid) for (f, _), zid in zip(parsed, ids, strict=True)]
            if len(parsed) == len(self.zones) and all(
                    k is z for k, z in zip(kept, self.zones, strict=True)):  # fmt: skip
                return False
            self.zones = []
            for (f, d), k, zid in zip(parsed, kept, ids, strict=True):
                if k is None:
                    k = self._zone(f, zid, None, d.get("properties"), keep_id=True)
                self.zones.append(k)
            self._persist()
        return True

    def attach(self, data_dir: Path | None) -> bool:
        """Keep edits in `data_dir`; load earlier edits from there (they win over the seed).
        True if edits were loaded (the pipeline must take them)."""
        if data_dir is None:
            return False
        self.path = Path(data_dir) / EDITED_FILE
        if not self.path.exists():
            return False
        try:
            fc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        with self._lock:
            self.zones, self._next = [], 1
            for i, doc in enumerate((fc or {}).get("features") or []):
                try:
                    f = parse_zone(doc, f"{self.path}:feature[{i}]")
                except ZoneError:
                    continue
                self.zones.append(self._zone(f, (doc.get("properties") or {}).get("id"), None,
                                             doc.get("properties")))  # fmt: skip
            self.seeded = True
            self._changed(reindexed=True, persist=False)
        return True

    # reads -----------------------------------------------------------------------------
    def collection(self) -> dict[str, Any]:
        with self._lock:
            return {"type": "FeatureCollection", "features": [z.geojson for z in self.zones]}

    def take(self) -> tuple[ZoneSet, bool] | None:
        """The zone set edited since the last take, and whether zones moved (or None)."""
        with self._lock:
            if self._pending is None:
                return None
            out = (self._pending, self._reindexed)
            self._pending, self._reindexed = None, False
            return out

    # edits -----------------------------------------------------------------------------
    def add(self, doc: Any, who: str) -> dict[str, Any]:
        f = parse_zone(doc, "zone", Budget())
        with self._lock:
            if len(self.zones) >= MAX_ZONES:
                raise ZoneError(422, f"at most {MAX_ZONES} zones")
            want = (doc.get("properties") or {}).get("id")
            if isinstance(want, str) and any(z.id == want for z in self.zones):
                raise ZoneError(422, f"zone id {want!r} exists (PUT it to change it)")
            if not (isinstance(want, str) and want.strip()):
                want = self._new_id()
            z = self._zone(f, want, who, doc.get("properties"))
            self.zones.append(z)  # at the end: the indices of the others stay
            self._changed(reindexed=False, op={"op": "put", "zone": command_feature(z)})
            return z.geojson

    def replace(self, zid: str, doc: Any, who: str) -> dict[str, Any]:
        f = parse_zone(doc, f"zone {zid}", Budget())
        with self._lock:
            i = self._index(zid)
            self.zones[i] = self._zone(f, zid, who, doc.get("properties"), keep_id=True)
            self._changed(reindexed=False,
                          op={"op": "put", "zone": command_feature(self.zones[i])})
            return self.zones[i].geojson

    def delete(self, zid: str) -> None:
        with self._lock:
            del self.zones[self._index(zid)]
            self._changed(reindexed=True, op={"op": "delete", "id": zid})

    def replace_all(self, fc: Any, who: str) -> int:
        if (
            not isinstance(fc, dict)
            or fc.get("type") != "FeatureCollection"
            or not isinstance(fc.get("features"), list)
        ):
            raise ZoneError(422, "body must be a GeoJSON FeatureCollection")
        if len(fc["features"]) > MAX_ZONES:
            raise ZoneError(422, f"at most {MAX_ZONES} zones")
        polygonal = [(i, d) for i, d in enumerate(fc["features"])
                     if isinstance(d, dict) and isinstance(d.get("geometry"), dict)
                     and d["geometry"].get("type") in ("Polygon", "MultiPolygon")]  # fmt: skip
        total = sum(len(r) for i, d in polygonal for p in _rings(d["geometry"], f"feature {i}")
                    for r in p)  # fmt: skip
        if total > MAX_REQUEST_VERTICES:  # the whole request's vertices, before any zone
            raise ZoneError(413, f"{total} vertices; at most {MAX_REQUEST_VERTICES} in one "
                            "request", "too_many_vertices")  # fmt: skip
        budget = Budget()
        for i, d in polygonal:  # every budget before any geometry work
            check_budget(d, f"feature {i}", budget)
        parsed = [(parse_zone(d, f"feature {i}"), d) for i, d in enumerate(fc["features"])]
        with self._lock:
            self.zones, self._next = [], 1
            for f, d in parsed:
                self.zones.append(self._zone(f, (d.get("properties") or {}).get("id"), who,
                                             d.get("properties")))  # fmt: skip
            self.seeded = True
            self._changed(reindexed=True)
            return len(self.zones)

    # internals (lock held) -------------------------------------------------------------
    def _index(self, zid: str) -> int:
        for i, z in enumerate(self.zones):
            if z.id == zid:
                return i
        raise ZoneError(404, f"no zone {zid}")

    def _zone(self, f: Feature, want: Any, who: str | None, props: dict | None = None,
              keep_id: bool = False) -> Zone:  # fmt: skip
        taken = {z.id for z in self.zones}
        if keep_id or (isinstance(want, str) and want.strip() and want not in taken):
            zid = str(want)
        else:
            while f"z{self._next}" in taken:
                self._next += 1
            zid = f"z{self._next}"
            self._next += 1
        p = {k: v for k, v in {**f.properties, **(props or {})}.items() if _jsonable(v)}
        p.update(id=zid, name=f.name, kind=f.kind)
        if who is not None:
            p.update(edited_by=who, edited=iso(wall.time()))
        gj = {"type": "Feature", "properties": p,
              "geometry": shapely.geometry.mapping(f.geometry)}  # fmt: skip
        return Zone(zid, dataclasses.replace(f, properties={**f.properties, "id": zid}), gj)

    def _new_id(self) -> str:
        """An id for a zone drawn here that no other server will give its own new zone:
        both edits reach the pipeline as puts by id, and must not be taken for one."""
        taken = {z.id for z in self.zones}
        while (zid := f"z-{secrets.token_hex(4)}") in taken:
            continue
        return zid

    def _changed(self, reindexed: bool, persist: bool = True,
                 op: dict[str, Any] | None = None) -> None:  # fmt: skip
        """`op`: the one zone edit made (put or delete by id), sent as such; without it the
        whole list is sent (a replaced set, or edits loaded from the file)."""
        self._pending = ZoneSet([z.feature for z in self.zones])
        self._reindexed = self._reindexed or reindexed
        self.seeded = True
        if self._on_change is not None:
            self._on_change({"ops": [op], "reindexed": reindexed} if op is not None else
                            {"zones": [command_feature(z) for z in self.zones],
                             "reindexed": reindexed})  # fmt: skip
        if persist:
            self._persist()

    def _persist(self) -> None:
        """The list into the edits file, atomically through a temporary file of its own:
        two servers on one store folder (or one server's edit and its follow) may write at
        once, and each must rename its own file. A failed write is logged; the list in
        memory, which the pipeline and the map use, stands."""
        if self.path is None:
            return
        fc = {"type": "FeatureCollection", "features": [z.geojson for z in self.zones]}
        data = json.dumps(fc).encode()
        try:
            write_atomic(self.path, lambda fh: fh.write(data))
        except OSError as e:
            log.warning("zone edits: %s not written: %s", self.path, e)
