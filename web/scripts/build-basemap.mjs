// Builds the offline basemap from Natural Earth (via npm `world-atlas`, public domain data):
// land polygons, country borders and a graticule as small GeoJSON files that the page loads
// from its own server, so the map never asks the internet for tiles or fonts.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { feature, mesh } from "topojson-client";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "build", "public", "basemap");
const SCALE = "50m"; // 1:50m keeps Gotland, Åland and the Danish straits in ~1.4 MB

/** Round coordinates to ~100 m: the files shrink by half and nothing visible changes. */
function rounded(geometry) {
  const r = (c) => (typeof c[0] === "number" ? [+c[0].toFixed(3), +c[1].toFixed(3)] : c.map(r));
  return { ...geometry, coordinates: r(geometry.coordinates) };
}

function load(name) {
  return JSON.parse(readFileSync(require.resolve(`world-atlas/${name}-${SCALE}.json`), "utf8"));
}

function write(name, fc) {
  const path = join(out, `${name}.geojson`);
  writeFileSync(path, JSON.stringify(fc));
  return `${name}: ${fc.features.length} features`;
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
const land = load("land");
const countries = load("countries");
const landFc = feature(land, land.objects.land);
const landFeatures = (landFc.type === "FeatureCollection" ? landFc.features : [landFc]).map((f) => ({
  type: "Feature",
  properties: {},
  geometry: rounded(f.geometry),
}));
const borders = mesh(countries, countries.objects.countries, (a, b) => a !== b);
const report = [
  write("land", { type: "FeatureCollection", features: landFeatures }),
  write("borders", {
    type: "FeatureCollection",
    features: [{ type: "Feature", properties: {}, geometry: rounded(borders) }],
  }),
  write("graticule", graticule(5)),
];
console.log(`basemap (Natural Earth ${SCALE}) -> ${out}\n  ${report.join("\n  ")}`);
