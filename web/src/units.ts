/**
 * Numbers for people: units by domain (ships kn and NM, aircraft ft/FL and kn, space km) or
 * metric for all, chosen on the page; durations in minutes and hours; times with their date.
 * The evidence view turns the detectors' keys (`speed_ms`, `silent_s`, `distance_m`,
 * `thresholds`, codes) into "3.1 kn, above 1.0 kn" lines, keeping the raw data one click away.
 */
import { emergencyState, navStatus, shipType, squawk } from "./codes";
import { h } from "./dom";

export type UnitSystem = "nautical" | "metric";
export type Domain = "air" | "maritime" | "space" | "other";

const UNITS_KEY = "picket.units";
const KN = 1.943844; // knots per m/s
const NM = 1852;
const FT = 0.3048;

export const units = {
  system: (localStorage.getItem(UNITS_KEY) === "metric" ? "metric" : "nautical") as UnitSystem,
  set(s: UnitSystem): void {
    this.system = s;
    localStorage.setItem(UNITS_KEY, s);
  },
};

const num = (x: number, d: number): string =>
  x.toLocaleString("en", { minimumFractionDigits: d, maximumFractionDigits: d });

export function domainOf(kindOrSubject: string): Domain {
  if (/^(air\.|gnss\.|icao:|adsb|remoteid:)/.test(kindOrSubject)) return "air";
  if (/^(maritime\.|mmsi:|imo:)/.test(kindOrSubject)) return "maritime";
  if (/^(space\.|norad:|sat)/.test(kindOrSubject)) return "space";
  return "other";
}

export function speed(ms: number, dom: Domain = "maritime"): string {
  if (!Number.isFinite(ms)) return "–";
  if (units.system === "metric" || dom === "space") {
    return dom === "space" ? `${num(ms / 1000, 2)} km/s` : `${num(ms * 3.6, 1)} km/h`;
  }
  return `${num(ms * KN, 1)} kn`;
}

export function distance(m: number, dom: Domain = "maritime"): string {
  if (!Number.isFinite(m)) return "–";
  if (units.system === "metric" || dom === "space" || dom === "other") {
    return m < 1000 ? `${num(m, 0)} m` : `${num(m / 1000, m < 10_000 ? 2 : 1)} km`;
  }
  return m < 0.2 * NM ? `${num(m, 0)} m` : `${num(m / NM, m < 10 * NM ? 2 : 1)} NM`;
}

/** Aircraft altitude: feet below 6,000 ft, flight level above (metric: metres). */
export function altitude(m: number, dom: Domain = "air"): string {
  if (!Number.isFinite(m)) return "–";
  if (dom === "space") return `${num(m / 1000, 0)} km`;
  if (units.system === "metric") return `${num(m, 0)} m`;
  const ft = m / FT;
  return ft >= 6000 ? `FL${String(Math.round(ft / 100)).padStart(3, "0")} (${num(ft, 0)} ft)` : `${num(ft, 0)} ft`;
}

export function duration(s: number): string {
  if (!Number.isFinite(s)) return "–";
  if (s < 90) return `${num(s, 0)} s`;
  const min = Math.round(s / 60);
  if (min < 90) return `${min} min`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

/** "2025-01-15 10:09:57Z": an evidence time always carries its date. */
export function dateTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

export function position(lat: number, lon: number): string {
  return `${Math.abs(lat).toFixed(4)}°${lat >= 0 ? "N" : "S"} ${Math.abs(lon).toFixed(4)}°${lon >= 0 ? "E" : "W"}`;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d/;

/** A key's quantity from its suffix: how to show the value, and its threshold's. */
function quantity(key: string, dom: Domain): ((v: number) => string) | null {
  if (/(^|_)(alt|altitude)(_m)?$|_alt_m$/.test(key)) return (v) => altitude(v, dom);
  if (key.endsWith("_kn")) return (v) => speed(v / KN, dom);
  if (key.endsWith("_ms") || key === "speed") return (v) => speed(v, dom);
  if (key.endsWith("_km")) return (v) => distance(v * 1000, dom);
  if (key.endsWith("_m") || key === "accuracy") return (v) => distance(v, dom);
  if (key.endsWith("_s")) return duration;
  if (/^to_(bow|stern|port|starboard)$|^(draught|length|width|beam)$/.test(key)) return (v) => `${num(v, key === "draught" ? 1 : 0)} m`;
  if (key.endsWith("_deg") || key === "course" || key === "heading") return (v) => `${num(v, 0)}°`;
  if (key.endsWith("fraction") || key.startsWith("share_")) return (v) => `${num(v * 100, 0)} %`;
  return null;
}

/** Evidence keys compared with a limit named otherwise. */
const LIMIT_OF: Record<string, string> = { silent_s: "expected_max_gap_s", gap_s: "expected_max_gap_s" };

/** "above 1.0 kn", "within 500 m", "over 10 min", from the thresholds the evidence carries. */
function against(key: string, th: Record<string, unknown>, fmt: (v: number) => string): string | null {
  if (key === "bad_fraction" && typeof th.red === "number") {
    return `red from ${fmt(th.red)}${typeof th.yellow === "number" ? `, yellow from ${fmt(th.yellow)}` : ""}`;
  }
  const base = key.replace(/^(median_|min_|max_)/, "");
  const bases = [base, base.replace("altitude", "alt")];
  const pick = (names: string[]) => names.map((k) => th[k]).find((x) => typeof x === "number") as number | undefined;
  const lo = pick(bases.map((b) => `min_${b}`));
  const hi = pick([...bases.map((b) => `max_${b}`), LIMIT_OF[key] ?? ""]);
  const time = key.endsWith("_s");
  if (lo !== undefined && hi !== undefined) return `within ${fmt(lo)}–${fmt(hi)}`;
  if (lo !== undefined) return `${time ? "over" : "above"} ${fmt(lo)}`;
  if (hi !== undefined) {
    if (time) return LIMIT_OF[key] ? `over ${fmt(hi)}` : `under ${fmt(hi)}`;
    return base.includes("distance") ? `within ${fmt(hi)}` : `below ${fmt(hi)}`;
  }
  return null;
}

const LABEL: Record<string, string> = {
  silent_s: "silent for", gap_s: "gap", duration_s: "lasted", moved_m: "moved", distance_m: "distance",
  min_distance_m: "closest", implied_speed_kn: "implied speed", median_speed_kn: "median speed",
  speed_kn: "speed", speed_ms: "speed", altitude_m: "altitude", bad_fraction: "aircraft degraded",
  count_bad_aircraft: "degraded aircraft", count_good_aircraft: "good aircraft", window_s: "window",
  ship_type: "ship type", nav_status: "navigational status", emergency_state: "emergency state",
  predicted_in_s: "predicted in", expected_max_gap_s: "expected gap at most",
  share_degraded: "share degraded", count_aircraft: "aircraft seen", place: "place", extent: "extent",
};
const label = (k: string): string => LABEL[k] ?? k.replace(/_/g, " ");

/** Keys shown inside "raw data" only: transport detail, not evidence a person weighs. */
const RAW_ONLY = new Set(["raw", "msg", "thresholds", "reports", "method", "resolution"]);

/** One value, formatted by its key. */
export function valueText(key: string, v: unknown, dom: Domain, th: Record<string, unknown> = {}): string | null {
  if (v === null || v === undefined) return "–";
  if (key === "ship_type") return shipType(v);
  if (key === "nav_status") return navStatus(v);
  if (key === "emergency_state" || key === "emergency") return emergencyState(v);
  if (key === "squawk") return squawk(v);
  if (typeof v === "string") return ISO.test(v) ? dateTime(v) : v;
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "number") {
    const fmt = quantity(key, dom);
    // identifiers (IMO, MMSI, counts) as written, without thousands separators
    if (!fmt) return Number.isInteger(v) ? String(v) : num(v, 3).replace(/\.?0+$/, "");
    const cmp = against(key, th, fmt);
    return cmp ? `${fmt(v)}, ${cmp}` : fmt(v);
  }
  if (typeof v === "object" && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (typeof o.text === "string") return o.text; // a named place
    if (Array.isArray(o.bbox) && o.bbox.length === 4) {
      const [w, so, e, n] = o.bbox as number[];
      const cells = typeof o.cells === "number" ? `, ${o.cells} cell${o.cells === 1 ? "" : "s"}` : "";
      return `${position(so, w)} to ${position(n, e)}${cells}`;
    }
    if (typeof o.lat === "number" && typeof o.lon === "number") {
      const at = typeof o.time === "string" ? ` at ${dateTime(o.time)}` : "";
      return `${position(o.lat, o.lon)}${at}`;
    }
    if (typeof o.name === "string" && typeof o.distance_m === "number") {
      const corridor = typeof o.corridor_m === "number" ? ` (corridor ${distance(o.corridor_m, dom)})` : "";
      return `${o.name} ${o.kind ?? ""}, ${distance(o.distance_m, dom)} away${corridor}`.replace(/ ,/, ",");
    }
    if (typeof o.name === "string") return `${o.name}${o.kind ? ` (${o.kind})` : ""}`;
  }
  if (Array.isArray(v) && v.every((x) => typeof x !== "object")) return v.join(", ");
  return null; // structured: left to the raw view
}

/** The evidence as "label: value, against its threshold" rows, raw data folded away. */
export function evidenceRows(ev: Record<string, unknown> | null | undefined, kind: string): Node {
  const dom = domainOf(kind);
  // the limits: the detector's thresholds, and limits the evidence states itself
  const th: Record<string, unknown> = { ...((ev?.thresholds ?? {}) as Record<string, unknown>) };
  for (const k of Object.values(LIMIT_OF)) if (ev && typeof ev[k] === "number") th[k] = ev[k];
  const dl = h("dl", { class: "evidence human", "data-testid": "evidence-human" });
  if (!ev || typeof ev !== "object") return dl;
  for (const [k, v] of Object.entries(ev)) {
    if (RAW_ONLY.has(k)) continue;
    const text = valueText(k, v, dom, th);
    if (text === null) {
      const what = k === "cells" ? "H3 cell" : "item";
      if (Array.isArray(v)) dl.append(h("dt", {}, label(k)), h("dd", {}, `${v.length} ${what}${v.length === 1 ? "" : "s"} (raw data)`));
      continue;
    }
    dl.append(h("dt", { "data-key": k }, label(k)), h("dd", { "data-key": k }, text));
  }
  if (typeof ev.method === "string") dl.append(h("dt", {}, "method"), h("dd", {}, ev.method));
  return dl;
}
