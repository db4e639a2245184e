/**
 * Colour within a domain: aircraft by altitude band (the idea of tar1090's palette: hue runs
 * from warm near the ground to violet at cruise levels, our own ramp), vessels by AIS ship-type
 * class. Colour is never the only cue: the symbol's shape says the domain, the tooltip and
 * panels say altitude and type in words. Emergencies and alerts keep their own colours.
 */
export type RGB = [number, number, number];

function hsl(hDeg: number, s: number, l: number): RGB {
  const k = (n: number) => (n + hDeg / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(255 * f(0)), Math.round(255 * f(8)), Math.round(255 * f(4))];
}

const FT = 0.3048;
export const ALT_STEP_FT = 1000;
export const ALT_BANDS = 46; // 0 .. 45,000 ft and above
export const NO_ALT: RGB = [150, 165, 180];

/** Hue for an altitude in feet: 20° (orange) at the ground, 120° at 10,000 ft, 290° at 40,000. */
function altHue(ft: number): number {
  if (ft <= 10_000) return 20 + (100 * ft) / 10_000;
  return Math.min(290, 120 + (170 * (ft - 10_000)) / 30_000);
}

/** One colour per 1,000 ft band, looked up per track per frame (no per-track allocation). */
export const ALT_LUT: RGB[] = Array.from({ length: ALT_BANDS }, (_, i) => hsl(altHue(i * ALT_STEP_FT), 0.85, 0.6));

export function altitudeColour(m: number): RGB {
  if (!Number.isFinite(m)) return NO_ALT;
  const band = Math.max(0, Math.min(ALT_BANDS - 1, Math.round(m / FT / ALT_STEP_FT)));
  return ALT_LUT[band];
}

/** AIS ship-type classes (picket.model.codes.SHIP_CLASSES) and their colours. */
export const SHIP_CLASSES = [
  "unknown", "cargo", "tanker", "passenger", "high_speed", "fishing",
  "tug_special", "pleasure", "military_law", "wig", "other",
] as const;
export const SHIP_RGB: RGB[] = [
  [80, 230, 150], // unknown: the vessel green the page always used
  [110, 200, 90], // cargo
  [235, 95, 120], // tanker
  [80, 150, 255], // passenger
  [250, 225, 70], // high speed
  [255, 165, 70], // fishing
  [70, 225, 225], // tug, pilot, SAR, special
  [235, 120, 235], // pleasure, sailing
  [220, 220, 220], // military, law enforcement
  [180, 180, 120], // WIG
  [160, 170, 185], // other
];
export const SHIP_LABEL: Record<string, string> = {
  unknown: "type unknown", cargo: "cargo", tanker: "tanker", passenger: "passenger",
  high_speed: "high speed", fishing: "fishing", tug_special: "tug, pilot, SAR",
  pleasure: "pleasure, sailing", military_law: "military, law", wig: "WIG", other: "other",
};

export const css = (c: RGB): string => `rgb(${c[0]},${c[1]},${c[2]})`;
