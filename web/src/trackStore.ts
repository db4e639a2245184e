/**
 * The live picture as typed arrays, one dense pool per symbol class, so deck.gl can take the
 * positions, angles and colours as binary attributes (no JS object per track, no accessor
 * calls per track per tick). Frames are applied in place; removals swap the last slot in.
 */
import {
  altMetres,
  courseDeg,
  FLAG_ALERT,
  FLAG_EMERGENCY,
  FLAG_NONCOOP,
  FLAG_STALE,
  FRAME_KEY,
  type Frame,
  speedMs,
  U16_UNKNOWN,
} from "./frames";

/** Symbol classes: each is its own layer and its own toggle. */
export const CLASSES = ["aircraft", "vessels", "satellites", "noncoop", "em"] as const;
export type TrackClass = (typeof CLASSES)[number];

const CLS_AIR = 0;
const CLS_SEA = 1;
const CLS_SPACE = 2;
const CLS_NONCOOP = 3;
const CLS_EM = 4;

/** Colour by status within a class; the symbol's shape already says the domain. */
const BASE: Record<number, [number, number, number]> = {
  [CLS_AIR]: [96, 200, 255],
  [CLS_SEA]: [80, 230, 150],
  [CLS_SPACE]: [220, 190, 255],
  [CLS_NONCOOP]: [255, 220, 60],
  [CLS_EM]: [255, 140, 220],
};
const EMERGENCY: [number, number, number] = [255, 60, 60];
const ALERTED: [number, number, number] = [255, 150, 40];
const STALE_ALPHA = 90;

export function classOf(domain: number, flags: number): number {
  if (flags & FLAG_NONCOOP) return CLS_NONCOOP;
  if (domain === 1) return CLS_AIR;
  if (domain === 2) return CLS_SEA;
  if (domain === 3) return CLS_SPACE;
  if (domain === 4) return CLS_EM;
  return CLS_NONCOOP;
}

/** Symbols that point along the course; the others are drawn upright. */
const ROTATES = [true, true, false, false, false];

export class Pool {
  size = 0;
  version = 0;
  ids: Uint32Array;
  position: Float32Array; // lon, lat
  angle: Float32Array; // deck.gl degrees, counter-clockwise from up
  color: Uint8Array; // rgba
  alt: Float32Array;
  speed: Float32Array;
  course: Float32Array;
  flags: Uint8Array;

  constructor(
    readonly cls: number,
    capacity = 1024,
  ) {
    this.ids = new Uint32Array(capacity);
    this.position = new Float32Array(2 * capacity);
    this.angle = new Float32Array(capacity);
    this.color = new Uint8Array(4 * capacity);
    this.alt = new Float32Array(capacity);
    this.speed = new Float32Array(capacity);
    this.course = new Float32Array(capacity);
    this.flags = new Uint8Array(capacity);
  }

  get capacity(): number {
    return this.ids.length;
  }

  grow(): void {
    const cap = this.capacity * 2;
    const re = <T extends Uint32Array | Float32Array | Uint8Array>(a: T, k: number): T => {
      const b = new (a.constructor as new (n: number) => T)(k * cap);
      b.set(a);
      return b;
    };
    this.ids = re(this.ids, 1);
    this.position = re(this.position, 2);
    this.angle = re(this.angle, 1);
    this.color = re(this.color, 4);
    this.alt = re(this.alt, 1);
    this.speed = re(this.speed, 1);
    this.course = re(this.course, 1);
    this.flags = re(this.flags, 1);
  }

  /** Copy slot `from` into slot `to` (used to fill the hole a removal leaves). */
  move(from: number, to: number): void {
    this.ids[to] = this.ids[from];
    this.position[2 * to] = this.position[2 * from];
    this.position[2 * to + 1] = this.position[2 * from + 1];
    this.angle[to] = this.angle[from];
    this.color.copyWithin(4 * to, 4 * from, 4 * from + 4);
    this.alt[to] = this.alt[from];
    this.speed[to] = this.speed[from];
    this.course[to] = this.course[from];
    this.flags[to] = this.flags[from];
  }
}

export interface TrackMeta {
  subject: string;
  label: string;
  domain: number;
}

/** One track's current state, made on demand for panels and tooltips. */
export interface TrackView extends TrackMeta {
  id: number;
  lat: number;
  lon: number;
  alt: number;
  speed: number;
  course: number;
  flags: number;
  cls: TrackClass;
}

const SLOT_BITS = 0x1000000; // slot < 2^24 tracks per class; the class sits above it

/** Satellite ground tracks: one point per this many event seconds, this many points kept. */
export const GROUND_STEP_S = 10;
export const GROUND_POINTS = 180;

export interface GroundTrack {
  t: number; // event time of the newest point
  path: [number, number][];
}

export class TrackStore {
  pools: Pool[] = CLASSES.map((_, i) => new Pool(i));
  meta = new Map<number, TrackMeta>();
  bySubject = new Map<string, number>();
  time = NaN; // event time of the picture
  frameFlags = 0;
  seq = -1;
  frames = 0;
  gaps = 0;
  /** Recent sub-satellite points of each satellite in the picture (satellites are few). */
  groundTracks = new Map<number, GroundTrack>();
  private where = new Map<number, number>(); // id -> cls * SLOT_BITS + slot

  get count(): number {
    return this.where.size;
  }

  addMeta(rows: [number, string, string, number][]): void {
    for (const [id, subject, label, domain] of rows) {
      this.meta.set(id, { subject, label: label || subject, domain });
      this.bySubject.set(subject, id);
    }
  }

  clear(): void {
    for (const p of this.pools) {
      p.size = 0;
      p.version++;
    }
    this.where.clear();
  }

  /** Apply a parsed frame; returns false when a delta arrives after a gap (wait for a key). */
  apply(f: Frame): boolean {
    if (f.type === FRAME_KEY) {
      this.clear();
    } else if (this.seq >= 0 && f.seq !== this.seq + 1) {
      this.gaps++;
    }
    this.seq = f.seq;
    this.time = f.time;
    this.frameFlags = f.flags;
    this.frames++;
    for (let j = 0; j < f.m; j++) this.remove(f.removed[j]);
    const touched = new Uint8Array(this.pools.length);
    for (let i = 0; i < f.n; i++) {
      const id = f.id[i];
      const tflags = f.trackFlags[i];
      const cls = classOf(f.domain[i], tflags);
      let slot = this.locate(id, cls);
      const pool = this.pools[cls];
      if (slot < 0) slot = this.insert(id, cls);
      touched[cls] = 1;
      const lon = f.lon[i] / 1e7;
      const lat = f.lat[i] / 1e7;
      pool.position[2 * slot] = lon;
      pool.position[2 * slot + 1] = lat;
      const c = f.course[i];
      pool.course[slot] = courseDeg(c);
      pool.angle[slot] = ROTATES[cls] && c !== U16_UNKNOWN ? -courseDeg(c) : 0;
      pool.alt[slot] = altMetres(f.alt[i], f.domain[i]);
      pool.speed[slot] = speedMs(f.speed[i]);
      pool.flags[slot] = tflags;
      const rgb = tflags & FLAG_EMERGENCY ? EMERGENCY : tflags & FLAG_ALERT ? ALERTED : BASE[cls];
      const k = 4 * slot;
      pool.color[k] = rgb[0];
      pool.color[k + 1] = rgb[1];
      pool.color[k + 2] = rgb[2];
      pool.color[k + 3] = tflags & FLAG_STALE ? STALE_ALPHA : 255;
      if (cls === CLS_SPACE) this.groundPoint(id, f.time, lon, lat);
    }
    if (f.type === FRAME_KEY) {
      // replay steps are keyframes: keep the ground tracks of satellites still in the picture
      for (const id of this.groundTracks.keys()) if (!this.where.has(id)) this.groundTracks.delete(id);
    }
    touched.forEach((t, cls) => {
      if (t) this.pools[cls].version++;
    });
    return true;
  }

  private groundPoint(id: number, time: number, lon: number, lat: number): void {
    let g = this.groundTracks.get(id);
    if (!g) this.groundTracks.set(id, (g = { t: -Infinity, path: [] }));
    if (time < g.t) g.path.length = 0; // time went back (a replay): start again
    else if (time - g.t < GROUND_STEP_S) return;
    g.t = time;
    g.path.push([lon, lat]);
    if (g.path.length > GROUND_POINTS) g.path.shift();
  }

  /** The slot of `id` in class `cls`, moving it out of another class if it changed class. */
  private locate(id: number, cls: number): number {
    const w = this.where.get(id);
    if (w === undefined) return -1;
    const oldCls = Math.floor(w / SLOT_BITS);
    if (oldCls === cls) return w % SLOT_BITS;
    this.remove(id);
    return -1;
  }

  private insert(id: number, cls: number): number {
    const pool = this.pools[cls];
    if (pool.size === pool.capacity) pool.grow();
    const slot = pool.size++;
    pool.ids[slot] = id;
    this.where.set(id, cls * SLOT_BITS + slot);
    return slot;
  }

  remove(id: number): void {
    const w = this.where.get(id);
    if (w === undefined) return;
    const cls = Math.floor(w / SLOT_BITS);
    const slot = w % SLOT_BITS;
    const pool = this.pools[cls];
    const last = pool.size - 1;
    if (slot !== last) {
      pool.move(last, slot);
      this.where.set(pool.ids[slot], cls * SLOT_BITS + slot);
    }
    pool.size--;
    pool.version++;
    this.where.delete(id);
    this.groundTracks.delete(id);
  }

  view(id: number): TrackView | null {
    const w = this.where.get(id);
    if (w === undefined) return null;
    const cls = Math.floor(w / SLOT_BITS);
    const slot = w % SLOT_BITS;
    const p = this.pools[cls];
    const meta = this.meta.get(id) ?? { subject: `#${id}`, label: `#${id}`, domain: 0 };
    return {
      ...meta,
      id,
      lon: p.position[2 * slot],
      lat: p.position[2 * slot + 1],
      alt: p.alt[slot],
      speed: p.speed[slot],
      course: p.course[slot],
      flags: p.flags[slot],
      cls: CLASSES[cls],
    };
  }

  /** Tracks flagged with an open alert or emergency: few, so plain objects are fine. */
  flagged(mask: number): TrackView[] {
    const out: TrackView[] = [];
    for (const p of this.pools) {
      for (let s = 0; s < p.size; s++) {
        if (p.flags[s] & mask) {
          const v = this.view(p.ids[s]);
          if (v) out.push(v);
        }
      }
    }
    return out;
  }
}

export { FLAG_ALERT, FLAG_EMERGENCY, FLAG_NONCOOP, FLAG_STALE };
