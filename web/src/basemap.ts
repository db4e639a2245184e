/**
 * The offline basemap: Natural Earth land, borders and a graticule as GeoJSON served beside
 * the page (scripts/build-basemap.mjs). No glyphs and no sprite, so MapLibre never fetches
 * fonts or tiles; every label on the map is drawn by deck.gl from a local font atlas.
 *
 * Land is 1:50m for the overview and 1:10m from FINE_ZOOM on (the 1:10m file covers the
 * European theatre; polygons outside it keep their 1:50m outline, marked `fine: false`).
 */
import type { FilterSpecification, LayerSpecification, StyleSpecification } from "maplibre-gl";

const file = (name: string): string => new URL(`basemap/${name}.geojson`, document.baseURI).href;

export const FINE_ZOOM = 5.5;
export const LAND_RGB = "#2f3f4a";
export const SEA_RGB = "#0a1626";

function landLayers(id: string, source: string, extra: Partial<LayerSpecification>): LayerSpecification[] {
  return [
    { id: `${id}-fill`, type: "fill", source, paint: { "fill-color": LAND_RGB }, ...extra } as LayerSpecification,
    {
      id: `${id}-coast`,
      type: "line",
      source,
      paint: { "line-color": "#4a6478", "line-width": ["interpolate", ["linear"], ["zoom"], 3, 0.5, 8, 1.2] },
      ...extra,
    } as LayerSpecification,
  ];
}

export function basemapStyle(): StyleSpecification {
  const notFine: FilterSpecification = ["!=", ["get", "fine"], true];
  return {
    version: 8,
    sources: {
      land: { type: "geojson", data: file("land"), tolerance: 0 },
      "land-fine": { type: "geojson", data: file("land-fine"), tolerance: 0.375 },
      borders: { type: "geojson", data: file("borders"), tolerance: 0.5 },
      graticule: { type: "geojson", data: file("graticule") },
    },
    layers: [
      { id: "sea", type: "background", paint: { "background-color": SEA_RGB } },
      {
        id: "graticule",
        type: "line",
        source: "graticule",
        paint: { "line-color": "#1d3350", "line-width": 0.6 },
      },
      ...landLayers("land", "land", { maxzoom: FINE_ZOOM }),
      ...landLayers("land-outside", "land", { minzoom: FINE_ZOOM, filter: notFine }),
      ...landLayers("land-fine", "land-fine", { minzoom: FINE_ZOOM }),
      {
        id: "borders",
        type: "line",
        source: "borders",
        paint: { "line-color": "#6c7f8f", "line-width": 0.8, "line-dasharray": [3, 2] },
      },
    ],
  };
}
