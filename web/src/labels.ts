/**
 * Names on the map: countries (Natural Earth), towns (the server's GeoNames gazetteer, places.ts), zones, cables and
 * pipelines, drawn by one deck.gl TextLayer (no glyph server). Where names would overlap, the
 * more important one is drawn (capitals over ports, a zone over a town): boxes are placed
 * greedily by priority in screen space whenever the map stops moving (a few hundred
 * candidates, well under a millisecond), so the map stays readable at every zoom. deck.gl's
 * CollisionFilterExtension drew overlapping names under the software renderers a VM has, so
 * the page places them itself, which also lets the tests check the result.
 */
import type { Layer } from "@deck.gl/core";
import { TextLayer } from "@deck.gl/layers";
import type { FeatureCollection } from "./api";

export interface MapLabel {
  text: string;
  position: [number, number];
  kind: "country" | "capital" | "city" | "port" | "zone" | "cable" | "pipeline";
  priority: number;
}

const STYLE: Record<MapLabel["kind"], { size: number; color: [number, number, number, number] }> = {
  country: { size: 13, color: [170, 185, 200, 200] },
  capital: { size: 13, color: [230, 236, 242, 255] },
  city: { size: 11, color: [205, 215, 225, 235] },
  port: { size: 11, color: [140, 200, 255, 240] },
  zone: { size: 12, color: [255, 150, 150, 255] },
  cable: { size: 11, color: [215, 160, 255, 255] },
  pipeline: { size: 11, color: [255, 190, 110, 255] },
};

/** The middle vertex of a line, or the vertex mean of a polygon's outer ring. */
function anchor(geometry: { type: string; coordinates: unknown }): [number, number] | null {
  const c = geometry.coordinates as number[][] | number[][][] | number[][][][];
  let ring: number[][] | null = null;
  if (geometry.type === "LineString") ring = c as number[][];
  else if (geometry.type === "MultiLineString") ring = (c as number[][][]).reduce((a, b) => (b.length > a.length ? b : a));
  else if (geometry.type === "Polygon") ring = (c as number[][][])[0];
  else if (geometry.type === "MultiPolygon") ring = (c as number[][][][]).map((p) => p[0]).reduce((a, b) => (b.length > a.length ? b : a));
  if (!ring?.length) return null;
  if (geometry.type.endsWith("LineString")) {
    const m = ring[Math.floor(ring.length / 2)];
    return [m[0], m[1]];
  }
  let x = 0;
  let y = 0;
  const n = ring.length > 1 ? ring.length - 1 : 1; // a closed ring repeats its first point
  for (let i = 0; i < n; i++) {
    x += ring[i][0];
    y += ring[i][1];
  }
  return [x / n, y / n];
}

function featureLabels(fc: FeatureCollection | null, kindOf: (p: Record<string, unknown>) => MapLabel["kind"], priority: number): MapLabel[] {
  const out: MapLabel[] = [];
  for (const f of fc?.features ?? []) {
    const p = (f.properties ?? {}) as Record<string, unknown>;
    const name = p.name;
    if (typeof name !== "string" || !name) continue;
    const at = f.geometry ? anchor(f.geometry as never) : null;
    if (at) out.push({ text: name, position: at, kind: kindOf(p), priority });
  }
  return out;
}

/** Zoom bands: below 4.5 ranks 1, below 6 ranks 1-2, else all places. */
export const labelBand = (zoom: number): number => (zoom < 4.5 ? 1 : zoom < 6 ? 2 : 3);

export function mapLabels(
  band: number,
  places: MapLabel[],
  countries: FeatureCollection | null,
  zones: FeatureCollection | null,
  infrastructure: FeatureCollection | null,
): MapLabel[] {
  const out: MapLabel[] = [];
  if (band < 3) {
    for (const f of countries?.features ?? []) {
      const p = f.properties as Record<string, unknown>;
      const g = f.geometry as { coordinates: [number, number] };
      out.push({ text: String(p.name), position: g.coordinates, kind: "country", priority: 100 + Number(p.rank ?? 0) });
    }
  }
  out.push(...places);
  out.push(...featureLabels(zones, () => "zone", 250));
  out.push(...featureLabels(infrastructure, (p) => (p.kind === "pipeline" ? "pipeline" : "cable"), 240));
  return out.sort((a, b) => b.priority - a.priority);
}

/** A label's box on screen: [x0, y0, x1, y1] around its anchor (text centred on it). */
export function labelBox(l: MapLabel, x: number, y: number, pad = 3): [number, number, number, number] {
  const size = STYLE[l.kind].size;
  const w = l.text.length * size * 0.62 + 2 * pad;
  const hgt = size + 2 * pad;
  return [x - w / 2, y - hgt / 2, x + w / 2, y + hgt / 2];
}

/** The labels that fit: highest priority first, none overlapping another or off screen.
 * `blocked` boxes (e.g. track labels) are kept clear too. */
export function placeLabels(
  candidates: MapLabel[],
  project: (lon: number, lat: number) => [number, number],
  width: number,
  height: number,
  blocked: [number, number, number, number][] = [],
): MapLabel[] {
  const taken = [...blocked];
  const out: MapLabel[] = [];
  for (const l of candidates) {
    const [x, y] = project(l.position[0], l.position[1]);
    if (!(x > 0 && y > 0 && x < width && y < height)) continue;
    const b = labelBox(l, x, y);
    let free = true;
    for (const t of taken) {
      if (b[0] < t[2] && b[2] > t[0] && b[1] < t[3] && b[3] > t[1]) {
        free = false;
        break;
      }
    }
    if (!free) continue;
    taken.push(b);
    out.push(l);
  }
  return out;
}

export function labelLayer(data: MapLabel[], version: string): Layer {
  return new TextLayer<MapLabel>({
    id: "map-labels",
    data,
    getPosition: (d: MapLabel) => d.position,
    getText: (d: MapLabel) => d.text,
    getSize: (d: MapLabel) => STYLE[d.kind].size,
    getColor: (d: MapLabel) => STYLE[d.kind].color,
    getTextAnchor: "middle",
    getAlignmentBaseline: "center",
    fontFamily: "DejaVu Sans, Arial, sans-serif",
    fontWeight: 600,
    outlineWidth: 3,
    outlineColor: [8, 16, 26, 230],
    fontSettings: { sdf: true },
    characterSet: "auto",
    updateTriggers: { getText: version },
  } as never);
}
