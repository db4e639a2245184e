/**
 * The offline basemap: Natural Earth land, borders and a graticule as GeoJSON served beside
 * the page (scripts/build-basemap.mjs). No glyphs and no sprite, so MapLibre never fetches
 * fonts or tiles; every label on the map is drawn by deck.gl from a local font atlas.
 */
import type { StyleSpecification } from "maplibre-gl";

const file = (name: string): string => new URL(`basemap/${name}.geojson`, document.baseURI).href;

export function basemapStyle(): StyleSpecification {
  return {
    version: 8,
    sources: {
      land: { type: "geojson", data: file("land"), tolerance: 0.5 },
      borders: { type: "geojson", data: file("borders"), tolerance: 0.5 },
      graticule: { type: "geojson", data: file("graticule") },
    },
    layers: [
      { id: "sea", type: "background", paint: { "background-color": "#0a1626" } },
      {
        id: "graticule",
        type: "line",
        source: "graticule",
        paint: { "line-color": "#1d3350", "line-width": 0.6 },
      },
      {
        id: "land",
        type: "fill",
        source: "land",
        paint: { "fill-color": "#26333d", "fill-outline-color": "#4a6478" },
      },
      {
        id: "coast",
        type: "line",
        source: "land",
        paint: { "line-color": "#3f5a6e", "line-width": 0.8 },
      },
      {
        id: "borders",
        type: "line",
        source: "borders",
        paint: { "line-color": "#6c7f8f", "line-width": 0.8, "line-dasharray": [3, 2] },
      },
    ],
  };
}
