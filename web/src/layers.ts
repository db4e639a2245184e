/**
 * deck.gl layers for the picture. Track layers take their attributes straight from the
 * TrackStore's typed arrays and draw a point sprite per track (trackPointLayer.ts); everything
 * else (alerts, cells, zones, cables) is small enough for ordinary accessors.
 */
import type { Layer, PickingInfo } from "@deck.gl/core";
import { GeoJsonLayer, IconLayer, PathLayer, ScatterplotLayer, TextLayer } from "@deck.gl/layers";
import type { Alert, Feature, FeatureCollection } from "./api";
import { type Clusters, clusterPools, shouldCluster } from "./cluster";
import { SHIP_LABEL } from "./colours";
import { altitude, speed } from "./units";
import { labelLayer, type MapLabel } from "./labels";
import type { MilAtlas } from "./milSymbols";
import { iconAtlas } from "./symbols";
import { TrackPointLayer } from "./trackPointLayer";
import { CLASSES, FLAG_ALERT, FLAG_EMERGENCY, type Pool, type TrackStore, type TrackView } from "./trackStore";

export const LAYER_KEYS = [
  "aircraft",
  "vessels",
  "satellites",
  "noncoop",
  "alerts",
  "gnss",
  "zones",
  "infrastructure",
  "harbours",
] as const;
export type LayerKey = (typeof LAYER_KEYS)[number];

export const LAYER_LABELS: Record<LayerKey, string> = {
  aircraft: "Aircraft",
  vessels: "Vessels",
  satellites: "Satellites",
  noncoop: "Non-cooperative",
  alerts: "Alerts",
  gnss: "GNSS interference",
  zones: "Zones",
  infrastructure: "Cables & pipelines",
  harbours: "Harbours (learned)",
};

/** Which toggle shows each symbol class (emitters go with the non-cooperative picture,
 * drones with the aircraft). */
const TOGGLE_OF_CLASS: LayerKey[] = ["aircraft", "vessels", "satellites", "noncoop", "noncoop", "aircraft"];

export const SEVERITY_RGB: Record<string, [number, number, number]> = {
  critical: [255, 64, 64],
  warning: [255, 176, 32],
  info: [120, 190, 255],
};

/** gpsjam's traffic-light colours for interference cells. */
export const GNSS_RGB: Record<string, [number, number, number]> = {
  green: [40, 200, 90],
  yellow: [240, 210, 40],
  red: [235, 50, 40],
};

const ZONE_RGB: Record<string, [number, number, number]> = {
  airspace: [255, 90, 90],
  restricted: [255, 90, 90],
  prohibited: [255, 60, 60],
  danger: [255, 140, 60],
  border: [255, 120, 120],
  port: [120, 200, 255],
  anchorage: [120, 200, 255],
  airport: [180, 180, 255],
};

/** What the GeoJSON accessors read: only the properties. */
type GeoFeature = { properties: Record<string, unknown> };

export interface PictureState {
  store: TrackStore;
  visible: Record<LayerKey, boolean>;
  alerts: Alert[];
  gnss: FeatureCollection | null;
  zones: FeatureCollection | null;
  infrastructure: FeatureCollection | null;
  /** Harbours and anchorages learned from the traffic (`/api/layers/harbours`). */
  harbours: FeatureCollection | null;
  trail: [number, number][] | null;
  selectedTrack: TrackView | null;
  selectedAlert: Alert | null;
  iconScale: number;
  /** Draw tracks as APP-6 / MIL-STD-2525 symbols (milsymbol) instead of the plain shapes. */
  app6: boolean;
  milAtlas: MilAtlas;
  /** How plain track symbols are drawn: one point sprite per track (the default), or deck.gl's
   * IconLayer (an instanced quad each; the baseline of `picket bench web`). */
  symbols: "points" | "icons";
  /** The map's zoom (labels and clusters depend on it). */
  zoom: number;
  /** Country names (Natural Earth label points, from the basemap build). */
  countries: FeatureCollection | null;
  /** The readability work: map names, clusters at the overview, colours by type and altitude
   * (`?plain=1` turns it off: the page as it was, the other side of `picket bench web`). */
  readable: boolean;
  /** Map names placed without overlaps for the current view (labels.ts), and their version. */
  mapLabels: MapLabel[];
  mapLabelsVersion: number;
  /** Satellites over the area (`/api/layers/satellites`): ground tracks and footprints. */
  sky: FeatureCollection | null;
  /** NORAD ids of the satellites that could see the chosen alert's or incident's place. */
  skyFocus: Set<number> | null;
  /** The chosen incident's or area alert's extent, outlined on the map. */
  extent: [[number, number], [number, number]] | null;
}

/** The sky layer's features for a focus (NORAD ids), rebuilt when either changes. */
let skyMemo: { sky: FeatureCollection; focus: Set<number> | null; out: FeatureCollection } | null = null;
function skyParts(sky: FeatureCollection, focus: Set<number> | null): FeatureCollection {
  if (skyMemo && skyMemo.sky === sky && skyMemo.focus === focus) return skyMemo.out;
  const features = [];
  for (const f of sky.features) {
    const p = f.properties as Record<string, unknown>;
    const on = focus?.has(Number(p.norad)) ?? false;
    if (p.part === "footprint" && !on) continue;
    features.push({ ...f, properties: { ...p, focus: on } });
  }
  const out = { ...sky, features } as FeatureCollection;
  skyMemo = { sky, focus, out };
  return out;
}

/** Clusters rebuilt once per track frame or zoom step. */
let clusterMemo: { frames: number; zoom: number; vis: string; c: Clusters } | null = null;
function clustersFor(s: PictureState): Clusters {
  const z = Math.round(s.zoom * 4) / 4;
  const vis = LAYER_KEYS.map((k) => (s.visible[k] ? 1 : 0)).join("");
  if (clusterMemo && clusterMemo.frames === s.store.frames && clusterMemo.zoom === z && clusterMemo.vis === vis) {
    return clusterMemo.c;
  }
  const c = clusterPools(s.store.pools, z, (cls) => s.visible[TOGGLE_OF_CLASS[cls]], FLAG_ALERT | FLAG_EMERGENCY);
  clusterMemo = { frames: s.store.frames, zoom: z, vis, c };
  return c;
}

const CLUSTER_RGB: [number, number, number][] = [
  [96, 200, 255], [80, 230, 150], [220, 190, 255], [255, 220, 60], [255, 140, 220], [150, 235, 255],
];

const CLUSTER_OFFSET: [number, number][] = [[-12, -9], [-12, 9], [12, -9], [12, 9], [0, -14], [0, 14]];

function clusterLayers(c: Clusters): Layer[] {
  const idx = Array.from({ length: c.n }, (_, i) => i);
  const atlas = iconAtlas();
  return [
    new IconLayer<number>({
      id: "clusters",
      data: idx,
      iconAtlas: atlas.canvas as never,
      iconMapping: atlas.mapping,
      getIcon: (i: number) => `${CLASSES[c.cls[i]]}-unknown`,
      getPosition: (i: number) => [c.position[2 * i], c.position[2 * i + 1]],
      getSize: (i: number) => Math.min(30, 11 + 3 * Math.log2(c.count[i])),
      // classes sharing a cell sit side by side, not on top of each other
      getPixelOffset: (i: number) => CLUSTER_OFFSET[c.cls[i]] ?? [0, 0],
      getColor: (i: number) => rgba(CLUSTER_RGB[c.cls[i]] ?? [200, 200, 200], 230),
      sizeUnits: "pixels",
      pickable: true,
      updateTriggers: { getIcon: c, getPosition: c, getSize: c, getColor: c },
    }),
    new TextLayer<number>({
      id: "cluster-counts",
      data: idx.filter((i) => c.count[i] > 1),
      getPosition: (i: number) => [c.position[2 * i], c.position[2 * i + 1]],
      getText: (i: number) => (c.count[i] >= 1000 ? `${(c.count[i] / 1000).toFixed(1)}k` : String(c.count[i])),
      getSize: 11,
      getColor: [255, 255, 255, 255],
      getPixelOffset: (i: number) => {
        const o = CLUSTER_OFFSET[c.cls[i]] ?? [0, 0];
        return [o[0] + Math.min(15, 5.5 + 1.5 * Math.log2(c.count[i])) + 1, o[1]];
      },
      getTextAnchor: "start",
      fontFamily: "DejaVu Sans, Arial, sans-serif",
      outlineWidth: 2,
      outlineColor: [8, 16, 26, 255],
      fontSettings: { sdf: true },
      characterSet: "0123456789.k",
      updateTriggers: { getPosition: c, getText: c, getPixelOffset: c },
    }),
  ];
}

/** The clusters drawn last (for tooltips and tests). */
export let lastClusters: Clusters | null = null;

/** Binary data per pool, rebuilt only when the pool's version moves. */
const binaryCache = new Map<number, { version: number; upright: boolean; data: unknown }>();

/** `upright`: no angle attribute (APP-6 symbols are drawn upright; their frame is the cue). */
function binaryData(pool: Pool, upright: boolean): unknown {
  const hit = binaryCache.get(pool.index);
  if (hit && hit.version === pool.version && hit.upright === upright) return hit.data;
  const n = pool.size;
  const attributes: Record<string, unknown> = {
    getPosition: { value: pool.position.subarray(0, 2 * n), size: 2 },
    getColor: { value: pool.color.subarray(0, 4 * n), size: 4, normalized: true },
  };
  if (!upright) attributes.getAngle = { value: pool.angle.subarray(0, n), size: 1 };
  const data = { length: n, attributes };
  binaryCache.set(pool.index, { version: pool.version, upright, data });
  return data;
}

const rgba = (rgb: [number, number, number], a: number): [number, number, number, number] => [
  ...rgb,
  a,
];

export function buildLayers(s: PictureState): Layer[] {
  const atlas = iconAtlas();
  const layers: Layer[] = [];
  const v = s.visible;

  if (v.zones && s.zones) {
    layers.push(
      new GeoJsonLayer({
        id: "zones",
        data: s.zones as never,
        stroked: true,
        filled: true,
        getFillColor: (f: GeoFeature) => rgba(ZONE_RGB[String(f.properties.kind)] ?? [200, 200, 200], 28),
        getLineColor: (f: GeoFeature) => rgba(ZONE_RGB[String(f.properties.kind)] ?? [200, 200, 200], 200),
        getLineWidth: 1.5,
        lineWidthUnits: "pixels",
        pickable: true,
      }),
    );
  }
  if (v.harbours && s.harbours?.features.length) {
    // small cells where ships were seen at rest: teal, dashed-looking by a thin bright edge
    layers.push(
      new GeoJsonLayer({
        id: "harbours",
        data: s.harbours as never,
        stroked: true,
        filled: true,
        getFillColor: [60, 210, 200, 70],
        getLineColor: [120, 245, 235, 220],
        getLineWidth: 1.5,
        lineWidthUnits: "pixels",
        pickable: true,
      }),
    );
  }
  if (v.gnss && s.gnss) {
    layers.push(
      new GeoJsonLayer({
        id: "gnss",
        data: s.gnss as never,
        stroked: true,
        filled: true,
        getFillColor: (f: GeoFeature) => rgba(GNSS_RGB[String(f.properties.colour)] ?? [150, 150, 150], 110),
        getLineColor: (f: GeoFeature) => rgba(GNSS_RGB[String(f.properties.colour)] ?? [150, 150, 150], 230),
        // red cells get a heavier outline: the level shows without colour too
        getLineWidth: (f: GeoFeature) => (f.properties.colour === "red" ? 3 : 1),
        lineWidthUnits: "pixels",
        pickable: true,
      }),
    );
  }
  if (v.infrastructure && s.infrastructure) {
    layers.push(
      new GeoJsonLayer({
        id: "infrastructure",
        data: s.infrastructure as never,
        stroked: true,
        filled: false,
        // pipelines wide and amber, cables thin and violet: width differs, not only colour
        getLineColor: (f: GeoFeature) =>
          f.properties.kind === "pipeline" ? [255, 170, 60, 220] : [200, 120, 255, 220],
        getLineWidth: (f: GeoFeature) => (f.properties.kind === "pipeline" ? 4 : 2),
        lineWidthUnits: "pixels",
        pickable: true,
      }),
    );
  }
  if (s.extent) {
    const [[w, so], [e, n]] = s.extent;
    layers.push(
      new PathLayer({
        id: "extent",
        data: [{ path: [[w, so], [e, so], [e, n], [w, n], [w, so]] }],
        getPath: (d: { path: [number, number][] }) => d.path,
        getColor: [255, 255, 255, 220],
        getWidth: 2,
        widthUnits: "pixels",
      }),
    );
  }
  if (s.trail && s.trail.length > 1) {
    layers.push(
      new PathLayer({
        id: "trail",
        data: [{ path: s.trail }],
        getPath: (d: { path: [number, number][] }) => d.path,
        getColor: [255, 255, 255, 170],
        getWidth: 2,
        widthUnits: "pixels",
      }),
    );
  }

  if (v.satellites && s.sky?.features.length) {
    // every ground track faint; the footprints (which are large) only of the satellites that
    // could see the chosen alert's or incident's place, with their tracks drawn bold
    const sky = skyParts(s.sky, s.skyFocus);
    layers.push(
      new GeoJsonLayer({
        id: "sky",
        data: sky as never,
        stroked: true,
        filled: true,
        getFillColor: [220, 190, 255, 18],
        getLineColor: (f: GeoFeature) =>
          f.properties.focus ? [235, 210, 255, 230] : [220, 190, 255, 55],
        getLineWidth: (f: GeoFeature) => (f.properties.focus ? 2.5 : 1),
        lineWidthUnits: "pixels",
        pickable: true,
        updateTriggers: { getLineColor: sky, getLineWidth: sky },
      }),
    );
  }
  if (v.satellites && s.store.groundTracks.size) {
    layers.push(
      new PathLayer({
        id: "ground-tracks",
        data: groundPaths(s.store),
        getPath: (d: [number, number][]) => d,
        getColor: [220, 190, 255, 120],
        getWidth: 1.5,
        widthUnits: "pixels",
        updateTriggers: { getPath: s.store.frames },
      }),
    );
  }

  if (s.readable && s.mapLabels.length) layers.push(labelLayer(s.mapLabels, String(s.mapLabelsVersion)));

  const clustered = s.readable && shouldCluster(s.zoom, s.store.count);
  lastClusters = clustered ? clustersFor(s) : null;
  if (lastClusters) layers.push(...clusterLayers(lastClusters));

  const groups = s.app6 ? app6Groups(s.store) : null;
  const mil = groups && s.milAtlas.update(s.store.pools, groups.subs) ? s.milAtlas : null;
  for (const pool of s.store.pools) {
    if (clustered || !pool.size || !v[TOGGLE_OF_CLASS[pool.cls]]) continue;
    const size = pool.cls === 1 ? 15 : 18;
    if (!mil && s.symbols === "points") {
      const m = atlas.mapping[pool.key];
      layers.push(
        new TrackPointLayer({
          id: `tracks-${pool.key}`,
          data: binaryData(pool, false) as never,
          iconAtlas: atlas.canvas,
          iconFrame: [m.x, m.y, m.width, m.height],
          size: size * s.iconScale,
          pickable: true,
        }),
      );
      continue;
    }
    // APP-6 symbols with function icons: one layer per finer class in the pool
    if (mil && groups) {
      for (const g of groups.byPool.get(pool.index) ?? []) {
        const icon = g.sub ? `${pool.key}/${g.sub}` : pool.key;
        layers.push(
          new IconLayer({
            id: `tracks-${pool.key}@app6/${g.sub ?? ""}`,
            data: g.data as never,
            iconAtlas: mil.canvas as never,
            iconMapping: mil.mapping,
            getIcon: icon as never,
            getSize: 24,
            getAngle: 0,
            sizeUnits: "pixels",
            sizeScale: s.iconScale,
            pickable: true,
            updateTriggers: { getIcon: mil.version },
          }),
        );
      }
      continue;
    }
    // `?symbols=icons`; a layer id of its own, as deck.gl hands a layer's state on by id
    // whatever the layer's class
    layers.push(
      new IconLayer({
        id: `tracks-${pool.key}@${mil ? "app6" : "icons"}`,
        data: binaryData(pool, mil !== null) as never,
        iconAtlas: (mil ? mil.canvas : atlas.canvas) as never,
        iconMapping: mil ? mil.mapping : atlas.mapping,
        // a constant (not a function) makes deck.gl keep one icon for the layer instead of
        // calling an accessor for each of 20,000 tracks on every tick
        getIcon: pool.key as never,
        getSize: mil ? 24 : size,
        ...(mil ? { getAngle: 0 } : {}),
        sizeUnits: "pixels",
        sizeScale: s.iconScale,
        pickable: true,
        updateTriggers: { getIcon: mil ? mil.version : 0 },
      }),
    );
  }

  const flagged = s.store.flagged(FLAG_ALERT | FLAG_EMERGENCY).filter((t) =>
    v[TOGGLE_OF_CLASS[CLASSES.indexOf(t.cls)]],
  );
  layers.push(
    new ScatterplotLayer({
      id: "track-alert-rings",
      data: flagged.filter((t) => t.flags & FLAG_ALERT),
      getPosition: (t: TrackView) => [t.lon, t.lat],
      getRadius: 15,
      radiusUnits: "pixels",
      stroked: true,
      filled: false,
      getLineColor: [255, 150, 40, 230],
      getLineWidth: 2,
      lineWidthUnits: "pixels",
      updateTriggers: { getPosition: s.store.frames },
    }),
    new IconLayer({
      id: "track-emergency-frames",
      data: flagged.filter((t) => t.flags & FLAG_EMERGENCY),
      iconAtlas: atlas.canvas as never,
      iconMapping: atlas.mapping,
      getIcon: () => "frame",
      getPosition: (t: TrackView) => [t.lon, t.lat],
      getColor: [255, 60, 60],
      getSize: 34,
      sizeUnits: "pixels",
      updateTriggers: { getPosition: s.store.frames },
    }),
  );

  if (v.alerts) {
    // an interference alert's cell is its own symbol when the GNSS layer is on
    const placed = s.alerts.filter(
      (a) => a.lat !== null && a.lon !== null && !(v.gnss && a.subject.startsWith("h3:")),
    );
    layers.push(
      new IconLayer({
        id: "alerts",
        data: placed,
        iconAtlas: atlas.canvas as never,
        iconMapping: atlas.mapping,
        getIcon: (a: Alert) => a.severity,
        getPosition: (a: Alert) => [a.lon!, a.lat!],
        getColor: (a: Alert) => rgba(SEVERITY_RGB[a.severity] ?? [255, 255, 255], a.status === "open" ? 255 : 120),
        getSize: (a: Alert) => (a.status === "open" ? 22 : 16),
        getPixelOffset: [0, -18],
        sizeUnits: "pixels",
        pickable: true,
      }),
    );
  }
  if (s.selectedAlert && s.selectedAlert.lat !== null && s.selectedAlert.lon !== null) {
    layers.push(
      new ScatterplotLayer({
        id: "selected-alert",
        data: [s.selectedAlert],
        getPosition: (a: Alert) => [a.lon!, a.lat!],
        getRadius: 28,
        radiusUnits: "pixels",
        stroked: true,
        filled: false,
        getLineColor: [255, 255, 255, 255],
        getLineWidth: 3,
        lineWidthUnits: "pixels",
      }),
    );
  }
  // at the clustered overview only the chosen track is named: flagged ones keep their ring
  const named = clustered ? [] : flagged;
  const labelled: TrackView[] = s.selectedTrack ? [s.selectedTrack, ...named] : named;
  layers.push(
    new TextLayer({
      id: "labels",
      data: labelled,
      getPosition: (t: TrackView) => [t.lon, t.lat],
      // a suspect or friend says so in words too: colour is never the only cue
      getText: (t: TrackView) =>
        t.identity === "suspect" || t.identity === "friend" ? `${t.label} · ${t.identity}` : t.label,
      getSize: 12,
      getColor: [235, 240, 245, 255],
      getPixelOffset: [14, -12],
      getTextAnchor: "start",
      fontFamily: "DejaVu Sans, Arial, sans-serif",
      outlineWidth: 2,
      outlineColor: [10, 20, 30, 255],
      fontSettings: { sdf: true },
      characterSet: "auto",
      updateTriggers: { getPosition: s.store.frames },
    }),
  );
  return layers;
}

/** Ground tracks cut where they cross the antimeridian, so no line spans the whole map. */
export function groundPaths(store: TrackStore): [number, number][][] {
  const out: [number, number][][] = [];
  for (const g of store.groundTracks.values()) {
    let part: [number, number][] = [];
    for (const p of g.path) {
      if (part.length && Math.abs(p[0] - part[part.length - 1][0]) > 180) {
        if (part.length > 1) out.push(part);
        part = [];
      }
      part.push(p);
    }
    if (part.length > 1) out.push(part);
  }
  return out;
}

/** Text for the hover tooltip; the track layers are binary, so the id comes from the index. */
export function describePick(info: PickingInfo, store: TrackStore): string | null {
  const id = info.layer?.id ?? "";
  if (id.startsWith("tracks-") && info.index >= 0) {
    const pool = store.poolOfLayer(id);
    const slot = slotOf(id, info.index);
    if (!pool || slot < 0 || slot >= pool.size) return null;
    const t = store.view(pool.ids[slot]);
    if (!t) return null;
    const parts = [t.label, `${t.subject} · ${t.identity}`];
    const dom = t.domain === 1 ? "air" : t.domain === 2 ? "maritime" : t.domain === 3 ? "space" : "other";
    if (t.category?.startsWith("ship:")) parts.push(SHIP_LABEL[t.category.slice(5)] ?? t.category);
    if (Number.isFinite(t.alt) && dom !== "maritime") parts.push(altitude(t.alt, dom));
    if (Number.isFinite(t.speed)) parts.push(speed(t.speed, dom));
    if (Number.isFinite(t.course)) parts.push(`${Math.round(t.course)}°`);
    return parts.join("\n");
  }
  if (id === "clusters" && lastClusters && info.index >= 0 && info.index < lastClusters.n) {
    const n = lastClusters.count[info.index];
    return `${n.toLocaleString("en")} ${CLASSES[lastClusters.cls[info.index]]} here\nzoom in to see each`;
  }
  const o = info.object as (Alert & Feature) | undefined;
  if (!o) return null;
  if (id === "alerts") return `${o.severity.toUpperCase()} ${o.kind}\n${o.subject}\n${o.summary}`;
  if (o.properties) {
    const p = o.properties;
    if (id === "sky") {
      return `${p.name ?? `NORAD ${p.norad}`} · ${p.part === "track" ? "ground track" : "footprint"}` +
        (typeof p.alt_km === "number" ? `\n${Math.round(p.alt_km).toLocaleString("en")} km up` : "");
    }
    if (id === "harbours") {
      // named by the server after the nearest town (GeoNames); learned, not charted
      const since = typeof p.since === "number" ? new Date(p.since * 1000).toISOString().slice(0, 16).replace("T", " ") : null;
      return `${p.name ?? "harbour"}\nlearned from ships at rest${since ? ` since ${since} UTC` : ""}`;
    }
    if (id === "gnss") {
      const f = typeof p.bad_fraction === "number" ? `${Math.round(p.bad_fraction * 100)} % bad` : "";
      return `GNSS ${String(p.colour).toUpperCase()} ${f}\n${p.cell}`;
    }
    return `${p.name ?? ""} (${p.kind ?? id})`;
  }
  return null;
}

/** The track id under a click on a track layer, if any. */
export function pickedTrackId(info: PickingInfo, store: TrackStore): number | null {
  const pool = info.index >= 0 ? store.poolOfLayer(info.layer?.id ?? "") : undefined;
  const slot = pool ? slotOf(info.layer?.id ?? "", info.index) : -1;
  return pool && slot >= 0 && slot < pool.size ? pool.ids[slot] : null;
}

/** One APP-6 group: the pool's tracks of one finer class (`sub`, undefined: generic). */
interface App6Group {
  sub: string | undefined;
  slots: Uint32Array;
  data: unknown;
}

/** Pool slots behind each APP-6 group layer, for picking (layer id -> slots). */
const groupSlots = new Map<string, Uint32Array>();
const groupCache = new Map<number, { version: number; groups: App6Group[] }>();

/** The pool slot a layer's picked index stands for (the index itself for whole-pool layers). */
function slotOf(layerId: string, index: number): number {
  const slots = groupSlots.get(layerId);
  if (!slots) return index;
  return index < slots.length ? slots[index] : -1;
}

/**
 * Each pool's tracks split by the function their APP-6 symbol shows (store.subOf), as binary
 * data gathered from the pool's columns; redone only when a pool's version moves. The option
 * draws IconLayers anyway, so a few layers more per pool cost little.
 */
function app6Groups(store: TrackStore): { byPool: Map<number, App6Group[]>; subs: string[] } {
  const byPool = new Map<number, App6Group[]>();
  const subs = new Set<string>();
  for (const pool of store.pools) {
    if (!pool.size) continue;
    let hit = groupCache.get(pool.index);
    if (!hit || hit.version !== pool.version) {
      const of = new Map<string, number[]>();
      for (let i = 0; i < pool.size; i++) {
        const sub = store.subOf(pool.cls, pool.ids[i]) ?? "";
        let list = of.get(sub);
        if (!list) of.set(sub, (list = []));
        list.push(i);
      }
      const groups: App6Group[] = [];
      for (const [sub, list] of of) {
        const slots = Uint32Array.from(list);
        const n = slots.length;
        const pos = new Float32Array(2 * n);
        const col = new Uint8Array(4 * n);
        for (let j = 0; j < n; j++) {
          const i = slots[j];
          pos[2 * j] = pool.position[2 * i];
          pos[2 * j + 1] = pool.position[2 * i + 1];
          col.set(pool.color.subarray(4 * i, 4 * i + 4), 4 * j);
        }
        const data = { length: n, attributes: {
          getPosition: { value: pos, size: 2 },
          getColor: { value: col, size: 4, normalized: true },
        } };
        groups.push({ sub: sub || undefined, slots, data });
        groupSlots.set(`tracks-${pool.key}@app6/${sub}`, slots);
      }
      hit = { version: pool.version, groups };
      groupCache.set(pool.index, hit);
    }
    byPool.set(pool.index, hit.groups);
    for (const g of hit.groups) if (g.sub) subs.add(`${pool.key}/${g.sub}`);
  }
  return { byPool, subs: [...subs] };
}
