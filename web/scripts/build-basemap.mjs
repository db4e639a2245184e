// Builds the offline basemap from Natural Earth (via npm `world-atlas`, public domain data):
// land polygons, country borders, country names and a graticule as GeoJSON files that the
// page loads from its own server, so the map never asks the internet for tiles or fonts.
//
// Two land files: 1:50m for the overview and 1:10m (the European theatre only, to keep the
// file small) for working zooms. world-atlas's rings follow d3's spherical convention: a
// ring that crosses the antimeridian jumps from +180 to -180 inside the ring, and
// Antarctica's ring goes round the pole. On a flat map such a ring spans the whole world
// and its fill flips over Scandinavia and in bands across the map; so every ring is
// unwrapped (longitudes made continuous, MapLibre draws past ±180), a ring round a pole is
// closed through that pole, and rings are wound the RFC 7946 way.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { feature, mesh } from "topojson-client";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "build", "public", "basemap");
/** The working-zoom coastline covers this box (west, south, east, north). */
const FINE_BOX = [-32, 30, 50, 76];

function load(name) {
  return JSON.parse(readFileSync(require.resolve(`world-atlas/${name}.json`), "utf8"));
}

function write(name, fc) {
  const path = join(out, `${name}.geojson`);
  const text = JSON.stringify(fc);
  writeFileSync(path, text);
  return `${name}: ${fc.features.length} features, ${(text.length / 1e6).toFixed(2)} MB`;
}

const round = (digits) => (c) => [+c[0].toFixed(digits), +c[1].toFixed(digits)];

/** Longitudes made continuous; a ring that went round a pole is closed through it. */
export function unwrap(ring) {
  const outRing = [];
  let shift = 0;
  for (let i = 0; i < ring.length; i++) {
    const [lon, lat] = ring[i];
    if (i > 0) {
      const prev = ring[i - 1][0];
      if (lon - prev > 180) shift -= 360;
      else if (prev - lon > 180) shift += 360;
    }
    outRing.push([lon + shift, lat]);
  }
  if (shift !== 0) {
    // round a pole: down the last meridian to it, along it, and up the first one
    const pole = ring.reduce((s, c) => s + c[1], 0) < 0 ? -90 : 90;
    const last = outRing[outRing.length - 1];
    outRing.push([last[0], pole], [outRing[0][0], pole], outRing[0]);
  }
  return outRing;
}

/** Twice the signed planar area: > 0 counter-clockwise. */
function area2(ring) {
  let a = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    a += (ring[j][0] - ring[i][0]) * (ring[j][1] + ring[i][1]);
  }
  return a;
}

function wind(ring, ccw) {
  return (area2(ring) > 0) === ccw ? ring : ring.slice().reverse();
}

function bboxOf(ring) {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  for (const [x, y] of ring) {
    if (x < w) w = x;
    if (x > e) e = x;
    if (y < s) s = y;
    if (y > n) n = y;
  }
  return [w, s, e, n];
}

const overlaps = (b, box) => b[0] <= box[2] && b[2] >= box[0] && b[1] <= box[3] && b[3] >= box[1];

/** Land polygons ready for a flat map, each ring rounded; `box` keeps only those touching it.
 * `fine` says the 1:10m file holds the polygon too (the page shows it from there up close). */
function landPolygons(topo, digits, box) {
  const fc = feature(topo, topo.objects.land);
  const polys = [];
  for (const f of fc.type === "FeatureCollection" ? fc.features : [fc]) {
    const g = f.geometry;
    for (const p of g.type === "Polygon" ? [g.coordinates] : g.coordinates) {
      const rings = p.map((r, i) => wind(unwrap(r).map(round(digits)), i === 0));
      const fine = overlaps(bboxOf(rings[0]), FINE_BOX);
      if (box && !fine) continue;
      polys.push({ type: "Feature", properties: box ? {} : { fine }, geometry: { type: "Polygon", coordinates: rings } });
    }
  }
  return { type: "FeatureCollection", features: polys };
}

function lines(geometry, digits) {
  const r = round(digits);
  const coords = geometry.type === "LineString" ? [geometry.coordinates] : geometry.coordinates;
  return { type: "MultiLineString", coordinates: coords.map((l) => l.map(r)) };
}

/** A name at the area centroid of each country's largest polygon. */
function countryLabels(topo) {
  const fc = feature(topo, topo.objects.countries);
  const features = [];
  for (const f of fc.features) {
    const name = f.properties?.name;
    if (!name) continue;
    const g = f.geometry;
    if (!g) continue;
    let best = null;
    let bestArea = 0;
    for (const p of g.type === "Polygon" ? [g.coordinates] : g.coordinates) {
      const ring = unwrap(p[0]);
      const a = Math.abs(area2(ring));
      if (a > bestArea) {
        bestArea = a;
        best = ring;
      }
    }
    if (!best) continue;
    let cx = 0, cy = 0;
    for (let i = 0, j = best.length - 1; i < best.length; j = i++) {
      const k = best[j][0] * best[i][1] - best[i][0] * best[j][1];
      cx += (best[j][0] + best[i][0]) * k;
      cy += (best[j][1] + best[i][1]) * k;
    }
    const a6 = 3 * area2(best);
    let lon = cx / a6;
    const lat = cy / a6;
    if (lon > 180) lon -= 360;
    if (lon < -180) lon += 360;
    features.push({
      type: "Feature",
      properties: { name, kind: "country", rank: Math.round(Math.log10(bestArea + 1) * 10) },
      geometry: { type: "Point", coordinates: [+lon.toFixed(3), +lat.toFixed(3)] },
    });
  }
  return { type: "FeatureCollection", features };
}

function graticule(step) {
  const features = [];
  for (let lon = -180; lon <= 180; lon += step) {
    const coords = [];
    for (let lat = -85; lat <= 85; lat += 5) coords.push([lon, lat]);
    features.push({ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: coords } });
  }
  for (let lat = -80; lat <= 80; lat += step) {
    const coords = [];
    for (let lon = -180; lon <= 180; lon += 5) coords.push([lon, lat]);
    features.push({ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: coords } });
  }
  return { type: "FeatureCollection", features };
}

mkdirSync(out, { recursive: true });
const countries50 = load("countries-50m");
const borders = mesh(countries50, countries50.objects.countries, (a, b) => a !== b);
const report = [
  write("land", landPolygons(load("land-50m"), 3)),
  write("land-fine", landPolygons(load("land-10m"), 4, FINE_BOX)),
  write("borders", {
    type: "FeatureCollection",
    features: [{ type: "Feature", properties: {}, geometry: lines(borders, 3) }],
  }),
  write("countries", countryLabels(countries50)),
  write("graticule", graticule(5)),
];
console.log(`basemap (Natural Earth 1:50m and 1:10m) -> ${out}\n  ${report.join("\n  ")}`);
