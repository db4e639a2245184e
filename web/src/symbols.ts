/**
 * Track and alert symbols drawn once into one icon atlas at start-up. Shapes carry the
 * meaning (domain, identity, severity) so colour is never the only cue; icons are white and
 * tinted per track by deck.gl (mask mode). Identity: a friend's symbol sits in a ring, a
 * suspect's in a diamond (APP-6's frame for hostile and suspect); unknown and neutral tracks
 * are the bare shape, the domain telling them apart (ships with AIS are neutral).
 */
import { IDENTITIES, type Identity } from "./frames";
import { CLASSES } from "./trackStore";

const CELL = 64;

type Draw = (g: CanvasRenderingContext2D) => void;

function poly(g: CanvasRenderingContext2D, pts: number[][], fill = true, width = 6): void {
  g.beginPath();
  pts.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
  g.closePath();
  if (fill) g.fill();
  else {
    g.lineWidth = width;
    g.stroke();
  }
}

/** Shapes point north (up); the layer rotates the directional ones by course. */
const SHAPES: Record<string, Draw> = {
  // swept-wing aircraft
  aircraft: (g) =>
    poly(g, [[32, 3], [37, 22], [61, 38], [61, 43], [37, 36], [36, 52], [45, 59], [45, 62],
      [32, 58], [19, 62], [19, 59], [28, 52], [27, 36], [3, 43], [3, 38], [27, 22]]),
  // hull: pointed bow, square stern
  vessel: (g) => poly(g, [[32, 3], [48, 24], [48, 61], [16, 61], [16, 24]]),
  // body and two solar panels
  satellite: (g) => {
    g.fillRect(24, 22, 16, 20);
    g.fillRect(2, 27, 19, 10);
    g.fillRect(43, 27, 19, 10);
  },
  // open diamond with a centre dot: a track with no identity (radar plots)
  noncoop: (g) => {
    poly(g, [[32, 5], [59, 32], [32, 59], [5, 32]], false, 7);
    g.beginPath();
    g.arc(32, 32, 7, 0, 2 * Math.PI);
    g.fill();
  },
  // four-point star: an emitter
  em: (g) => poly(g, [[32, 2], [40, 24], [62, 32], [40, 40], [32, 62], [24, 40], [2, 32], [24, 24]]),
  // quad-rotor seen from above: an unmanned aircraft (Remote ID)
  drone: (g) => {
    g.lineWidth = 6;
    g.beginPath();
    g.moveTo(14, 14);
    g.lineTo(50, 50);
    g.moveTo(50, 14);
    g.lineTo(14, 50);
    g.stroke();
    for (const [x, y] of [[14, 14], [50, 14], [14, 50], [50, 50]]) {
      g.beginPath();
      g.arc(x, y, 10, 0, 2 * Math.PI);
      g.fill();
    }
  },
  // alert severities: filled triangle, open triangle, open circle
  critical: (g) => {
    poly(g, [[32, 4], [61, 58], [3, 58]]);
    g.globalCompositeOperation = "destination-out";
    g.fillRect(29, 22, 6, 20);
    g.fillRect(29, 46, 6, 6);
    g.globalCompositeOperation = "source-over";
  },
  warning: (g) => {
    poly(g, [[32, 6], [59, 56], [5, 56]], false, 6);
    g.fillRect(29, 24, 6, 16);
    g.fillRect(29, 44, 6, 6);
  },
  info: (g) => {
    g.beginPath();
    g.arc(32, 32, 25, 0, 2 * Math.PI);
    g.lineWidth = 6;
    g.stroke();
    g.fillRect(29, 28, 6, 20);
    g.fillRect(29, 17, 6, 6);
  },
  // square frame drawn around a track in emergency
  frame: (g) => {
    g.lineWidth = 5;
    g.strokeRect(4, 4, 56, 56);
  },
};

/** The shape of each symbol class (trackStore CLASSES order). */
export const SHAPE_OF_CLASS = ["aircraft", "vessel", "satellite", "noncoop", "em", "drone"];

/** A class's shape in its identity frame (see the header). */
function framed(shape: Draw, identity: Identity): Draw {
  if (identity !== "friend" && identity !== "suspect") return shape;
  return (g) => {
    g.save();
    g.translate(32, 32);
    g.scale(0.6, 0.6);
    g.translate(-32, -32);
    shape(g);
    g.restore();
    g.lineWidth = 5;
    if (identity === "friend") {
      g.beginPath();
      g.arc(32, 32, 28, 0, 2 * Math.PI);
      g.stroke();
    } else {
      poly(g, [[32, 3], [61, 32], [32, 61], [3, 32]], false, 5);
    }
  };
}

/** Every track symbol, by pool key `${class}-${identity}` (trackStore Pool.key). */
const TRACK_SYMBOLS: Record<string, Draw> = Object.fromEntries(
  CLASSES.flatMap((cls, c) =>
    IDENTITIES.map((id) => [`${cls}-${id}`, framed(SHAPES[SHAPE_OF_CLASS[c]], id)]),
  ),
);
const ALL: Record<string, Draw> = { ...SHAPES, ...TRACK_SYMBOLS };
export const ICON_NAMES = Object.keys(ALL);

export interface IconDef {
  x: number;
  y: number;
  width: number;
  height: number;
  mask: boolean;
  anchorY: number;
}

export interface Atlas {
  canvas: HTMLCanvasElement;
  mapping: Record<string, IconDef>;
}

let cached: Atlas | null = null;

export function iconAtlas(): Atlas {
  if (cached) return cached;
  const canvas = document.createElement("canvas");
  const cols = 16;
  canvas.width = CELL * cols;
  canvas.height = CELL * Math.ceil(ICON_NAMES.length / cols);
  const g = canvas.getContext("2d")!;
  const mapping: Record<string, IconDef> = {};
  ICON_NAMES.forEach((name, i) => {
    const x = (i % cols) * CELL;
    const y = Math.floor(i / cols) * CELL;
    g.save();
    g.translate(x, y);
    g.fillStyle = "#fff";
    g.strokeStyle = "#fff";
    g.lineJoin = "round";
    ALL[name](g);
    g.restore();
    mapping[name] = { x, y, width: CELL, height: CELL, mask: true, anchorY: CELL / 2 };
  });
  cached = { canvas, mapping };
  return cached;
}

/** A small inline SVG-free swatch for the legend and panels: the same drawing as the map. */
export function swatch(name: string, colour: string, size = 16): HTMLCanvasElement {
  const c = document.createElement("canvas");
  c.width = c.height = CELL;
  c.style.width = c.style.height = `${size}px`;
  c.className = "swatch";
  const g = c.getContext("2d")!;
  g.fillStyle = colour;
  g.strokeStyle = colour;
  g.lineJoin = "round";
  ALL[name]?.(g);
  return c;
}
