/**
 * The live picture as typed arrays, one dense pool per symbol (class x identity), so deck.gl
 * can take the positions, angles and colours as binary attributes and one icon per layer (no
 * JS object per track, no accessor calls per track per tick). Frames are applied in place;
 * removals swap the last slot in. Positions are kept as the wire's integers too, so the
 * 16-bit steps of a delta resolve exactly.
 */
import {
  altMetres,
  courseDeg,
  FLAG_ALERT,
  FLAG_EMERGENCY,
  FLAG_NONCOOP,
  FLAG_REL,
  FLAG_STALE,
  FRAME_KEY,
  type Frame,
  IDENTITIES,
  type Identity,
  IDENTITY_SHIFT,
  POS_SCALE,
  REL_STEP,
  speedMs,
  U16_UNKNOWN,
} from "./frames";
import { ALT_LUT, ALT_BANDS, NO_ALT, type RGB, SHIP_CLASSES, SHIP_RGB } from "./colours";

/** Symbol classes: each is its own layer and its own toggle. */
export const CLASSES = ["aircraft", "vessels", "satellites", "noncoop", "em", "drones"] as const;
export type TrackClass = (typeof CLASSES)[number];

const CLS_AIR = 0;
const CLS_SEA = 1;
const CLS_SPACE = 2;
const CLS_NONCOOP = 3;
const CLS_EM = 4;
const CLS_DRONE = 5;

/** Colour by status within a class; the symbol's shape already says the domain. */
const BASE: Record<number, [number, number, number]> = {
  [CLS_AIR]: [96, 200, 255],
  [CLS_SEA]: [80, 230, 150],
  [CLS_SPACE]: [220, 190, 255],
  [CLS_NONCOOP]: [255, 220, 60],
  [CLS_EM]: [255, 140, 220],
  [CLS_DRONE]: [150, 235, 255],
};
const EMERGENCY: [number, number, number] = [255, 60, 60];
const ALERTED: [number, number, number] = [255, 150, 40];
const STALE_ALPHA = 90;

export function classOf(domain: number, flags: number, drone = false): number {
  if (flags & FLAG_NONCOOP) return CLS_NONCOOP;
  if (drone) return CLS_DRONE;
  if (domain === 1) return CLS_AIR;
  if (domain === 2) return CLS_SEA;
  if (domain === 3) return CLS_SPACE;
  if (domain === 4) return CLS_EM;
  return CLS_NONCOOP;
}

/** Symbols that point along the course; the others are drawn upright. */
const ROTATES = [true, true, false, false, false, false];
const N_ID = IDENTITIES.length;

/** A pool per symbol: class x identity. */
export const poolIndex = (cls: number, ident: number): number => cls * N_ID + ident;

export class Pool {
  size = 0;
  version = 0;
  ids: Uint32Array;
  qlat: Int32Array; // degrees x 1e7, as on the wire
  qlon: Int32Array;
  position: Float32Array; // lon, lat
  angle: Float32Array; // deck.gl degrees, counter-clockwise from up
  color: Uint8Array; // rgba
  alt: Float32Array;
  speed: Float32Array;
  course: Float32Array;
  flags: Uint8Array;

  readonly cls: number;
  readonly identity: Identity;
  /** Layer id, and the key the icon atlases know this pool's symbol by. */
  readonly key: string;

  constructor(
    readonly index: number,
    capacity = 1024,
  ) {
    this.cls = Math.floor(index / N_ID);
    this.identity = IDENTITIES[index % N_ID];
    this.key = `${CLASSES[this.cls]}-${this.identity}`;
    this.ids = new Uint32Array(capacity);
    this.qlat = new Int32Array(capacity);
    this.qlon = new Int32Array(capacity);
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
    const re = <T extends Uint32Array | Int32Array | Float32Array | Uint8Array>(a: T, k: number): T => {
      const b = new (a.constructor as new (n: number) => T)(k * cap);
      b.set(a);
      return b;
    };
    this.ids = re(this.ids, 1);
    this.qlat = re(this.qlat, 1);
    this.qlon = re(this.qlon, 1);
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
    this.qlat[to] = this.qlat[from];
    this.qlon[to] = this.qlon[from];
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
  drone: boolean; // a Remote ID subject: drawn as an unmanned aircraft
  category?: string; // e.g. "ship:tanker" (meta's 5th element)
  /** The track's global id (meta's 6th element, decimal text: 63 bits do not fit a JS
   * number): the same across server restarts and workers, unlike `id`, the frames' number
   * for the server's life. The address (`?track=`) and links name a track by it. */
  gid?: string;
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
  identity: Identity;
}

/** Aircraft kinds an emitter category tells (index 0: not known). */
export const AIR_KINDS = ["", "fixed", "rotary", "lta", "uav"] as const;

/** ADS-B (DO-260B) emitter category -> AIR_KINDS index: A1-A6 and gliders or ultralights fly
 * on fixed wings, A7 is a rotorcraft, B2 lighter than air, B6 unmanned; the rest say nothing. */
export function airKind(cat: string): number {
  if (/^A[1-6]$/.test(cat) || cat === "B1" || cat === "B4") return 1;
  if (cat === "A7") return 2;
  if (cat === "B2") return 3;
  if (cat === "B6") return 4;
  return 0;
}

const SLOT_BITS = 0x1000000; // slot < 2^24 tracks per pool; the pool sits above it

/** Satellite ground tracks: one point per this many event seconds, this many points kept. */
export const GROUND_STEP_S = 10;
export const GROUND_POINTS = 180;

export interface GroundTrack {
  t: number; // event time of the newest point
  path: [number, number][];
}

/** One row of a `meta` text frame (see addMeta). */
export type MetaRow =
  | [number, string, string, number]
  | [number, string, string, number, string | null]
  | [number, string, string, number, string | null, string];

export class TrackStore {
  pools: Pool[] = Array.from({ length: CLASSES.length * N_ID }, (_, i) => new Pool(i));
  meta = new Map<number, TrackMeta>();
  bySubject = new Map<string, number>();
  byGid = new Map<string, number>();
  time = NaN; // event time of the picture
  frameFlags = 0;
  seq = -1;
  frames = 0;
  gaps = 0;
  /** After a gap or an inconsistent delta: deltas are skipped until the next keyframe. */
  needKeyframe = false;
  skipped = 0;
  /** Recent sub-satellite points of each satellite in the picture (satellites are few). */
  groundTracks = new Map<number, GroundTrack>();
  // Track ids are the server's table slots (small, dense integers), so lookups by id are
  // typed arrays, not Maps: 20,000 lookups per frame.
  private where = new Int32Array(0); // id -> pool * SLOT_BITS + slot, -1 when not held
  private baseCls = new Uint8Array(0); // id -> symbol class from its meta (domain, drone)
  /** id -> AIS ship-type class (index in SHIP_CLASSES) from the meta's category, 0 unknown. */
  shipCls = new Uint8Array(0);
  /** id -> aircraft kind (index in AIR_KINDS) from the meta's emitter category, 0 unknown. */
  airCls = new Uint8Array(0);
  /** Colour aircraft by altitude and vessels by type (off: one colour per domain, as before). */
  colourBy = true;
  private held = 0;

  get count(): number {
    return this.held;
  }

  private at(id: number): number {
    return id < this.where.length ? this.where[id] : -1;
  }

  /** Room for ids up to `id` in the by-id arrays. */
  private reach(id: number): void {
    if (id < this.where.length) return;
    const n = Math.max(1024, 2 * this.where.length, id + 1);
    const w = new Int32Array(n).fill(-1);
    w.set(this.where);
    this.where = w;
    const b = new Uint8Array(n).fill(CLS_NONCOOP); // no meta (yet): no identity to draw
    b.set(this.baseCls);
    this.baseCls = b;
    const sc = new Uint8Array(n);
    sc.set(this.shipCls);
    this.shipCls = sc;
    const ac = new Uint8Array(n);
    ac.set(this.airCls);
    this.airCls = ac;
  }

  /** Meta rows: [id, subject, label, domain, category, gid] (docs/api.md); the category
   * (or null) is the ship-type class of a vessel, e.g. "ship:tanker", the gid the global
   * track id as text (an older server sends neither, or only a category). */
  addMeta(rows: MetaRow[]): void {
    for (const row of rows) {
      const [id, subject, label, domain] = row;
      const cat = row.length > 4 ? String(row[4] ?? "") : "";
      const gid = row.length > 5 && row[5] ? String(row[5]) : undefined;
      const drone = subject.startsWith("rid:");
      const old = this.meta.get(id)?.gid;
      if (old !== undefined && old !== gid && this.byGid.get(old) === id) this.byGid.delete(old);
      this.meta.set(id, { subject, label: label || subject, domain, drone, category: cat || undefined, gid });
      this.bySubject.set(subject, id);
      if (gid !== undefined) this.byGid.set(gid, id);
      this.reach(id);
      this.baseCls[id] = classOf(domain, 0, drone);
      const k = cat.startsWith("ship:") ? SHIP_CLASSES.indexOf(cat.slice(5) as never) : 0;
      this.shipCls[id] = k > 0 ? k : 0;
      this.airCls[id] = cat.startsWith("air:") ? airKind(cat.slice(4)) : 0;
    }
  }

  /** The finer class an APP-6 symbol's function icon shows (milSymbols FUNCTION keys):
   * `air:<kind>` for aircraft with a known emitter category, drones always `air:uav`,
   * `ship:<class>` for vessels with a known ship type; undefined otherwise. */
  subOf(cls: number, id: number): string | undefined {
    if (cls === CLS_DRONE) return "air:uav";
    if (cls === CLS_AIR) {
      const k = id < this.airCls.length ? this.airCls[id] : 0;
      return k ? `air:${AIR_KINDS[k]}` : undefined;
    }
    if (cls === CLS_SEA) {
      const k = id < this.shipCls.length ? this.shipCls[id] : 0;
      return k ? `ship:${SHIP_CLASSES[k]}` : undefined;
    }
    return undefined;
  }

  /** A track's colour when no alert or emergency colours it. */
  private colourOf(cls: number, id: number, altM: number): RGB {
    if (!this.colourBy) return BASE[cls];
    if (cls === CLS_AIR || cls === CLS_DRONE) {
      if (!Number.isFinite(altM)) return NO_ALT;
      const band = Math.round(altM / 304.8);
      return ALT_LUT[band < 0 ? 0 : band >= ALT_BANDS ? ALT_BANDS - 1 : band];
    }
    if (cls === CLS_SEA) return SHIP_RGB[id < this.shipCls.length ? this.shipCls[id] : 0];
    return BASE[cls];
  }

  clear(): void {
    for (const p of this.pools) {
      p.size = 0;
      p.version++;
    }
    this.where.fill(-1);
    this.held = 0;
  }

  /** The pool drawn by the deck.gl layer `tracks-<pool key>[@<renderer>]`, if any. */
  poolOfLayer(layerId: string): Pool | undefined {
    if (!layerId.startsWith("tracks-")) return undefined;
    const key = layerId.slice(7).split("@")[0];
    return this.pools.find((p) => p.key === key);
  }

  /** Tracks per class (all identities), in CLASSES order. */
  classSizes(): number[] {
    const out = CLASSES.map(() => 0);
    for (const p of this.pools) out[p.cls] += p.size;
    return out;
  }

  /**
   * Apply a parsed frame. Returns false for a delta that cannot be applied: after a sequence
   * gap, or with a step for a track not held (its positions are relative to what was
   * missed); the caller then asks for a keyframe and deltas are skipped until it comes.
   */
  apply(f: Frame): boolean {
    if (f.type === FRAME_KEY) {
      this.clear();
      this.needKeyframe = false;
    } else if (this.seq >= 0 && f.seq !== ((this.seq + 1) >>> 0)) {
      this.gaps++;
      this.needKeyframe = true;
    }
    this.seq = f.seq;
    if (this.needKeyframe) {
      this.skipped++;
      return false;
    }
    this.time = f.time;
    this.frameFlags = f.flags;
    this.frames++;
    for (let j = 0; j < f.m; j++) this.remove(f.removed[j]);
    const touched = new Uint8Array(this.pools.length);
    let ka = 0;
    let kr = 0;
    for (let i = 0; i < f.n; i++) {
      const id = f.id[i];
      const raw = f.trackFlags[i];
      const tflags = raw & ~FLAG_REL;
      let qlat: number;
      let qlon: number;
      if (raw & FLAG_REL) {
        const w = this.at(id);
        if (w < 0) {
          kr++;
          this.needKeyframe = true; // a step from a position never received
          continue;
        }
        const held = this.pools[Math.floor(w / SLOT_BITS)];
        const s0 = w % SLOT_BITS;
        qlat = held.qlat[s0] + f.dLat[kr] * REL_STEP;
        qlon = held.qlon[s0] + f.dLon[kr] * REL_STEP;
        kr++;
      } else {
        qlat = f.lat[ka];
        qlon = f.lon[ka];
        ka++;
      }
      const cls = tflags & FLAG_NONCOOP || id >= this.baseCls.length ? CLS_NONCOOP : this.baseCls[id];
      const pi = poolIndex(cls, (tflags >> IDENTITY_SHIFT) & 3);
      let slot = this.locate(id, pi);
      const pool = this.pools[pi];
      if (slot < 0) slot = this.insert(id, pi);
      touched[pi] = 1;
      const lon = qlon / POS_SCALE;
      const lat = qlat / POS_SCALE;
      pool.qlat[slot] = qlat;
      pool.qlon[slot] = qlon;
      pool.position[2 * slot] = lon;
      pool.position[2 * slot + 1] = lat;
      const c = f.course[i];
      pool.course[slot] = courseDeg(c);
      pool.angle[slot] = ROTATES[cls] && c !== U16_UNKNOWN ? -courseDeg(c) : 0;
      const altM = altMetres(f.alt[i]);
      pool.alt[slot] = altM;
      pool.speed[slot] = speedMs(f.speed[i]);
      pool.flags[slot] = tflags;
      const rgb = tflags & FLAG_EMERGENCY ? EMERGENCY : tflags & FLAG_ALERT ? ALERTED : this.colourOf(cls, id, altM);
      const k = 4 * slot;
      pool.color[k] = rgb[0];
      pool.color[k + 1] = rgb[1];
      pool.color[k + 2] = rgb[2];
      pool.color[k + 3] = tflags & FLAG_STALE ? STALE_ALPHA : 255;
      if (cls === CLS_SPACE) this.groundPoint(id, f.time, lon, lat);
    }
    if (f.type === FRAME_KEY) {
      // replay steps are keyframes: keep the ground tracks of satellites still in the picture
      for (const id of this.groundTracks.keys()) if (this.at(id) < 0) this.groundTracks.delete(id);
    }
    touched.forEach((t, pi) => {
      if (t) this.pools[pi].version++;
    });
    return !this.needKeyframe;
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

  /** The slot of `id` in pool `pi`, moving it out of another pool if its symbol changed. */
  private locate(id: number, pi: number): number {
    const w = this.at(id);
    if (w < 0) return -1;
    if (Math.floor(w / SLOT_BITS) === pi) return w % SLOT_BITS;
    this.remove(id, true);
    return -1;
  }

  private insert(id: number, pi: number): number {
    const pool = this.pools[pi];
    if (pool.size === pool.capacity) pool.grow();
    const slot = pool.size++;
    pool.ids[slot] = id;
    this.reach(id);
    this.where[id] = pi * SLOT_BITS + slot;
    this.held++;
    return slot;
  }

  /** Drop a track (`moving`: it changes pool and stays in the picture). */
  remove(id: number, moving = false): void {
    const w = this.at(id);
    if (w < 0) return;
    const pi = Math.floor(w / SLOT_BITS);
    const slot = w % SLOT_BITS;
    const pool = this.pools[pi];
    const last = pool.size - 1;
    if (slot !== last) {
      pool.move(last, slot);
      this.where[pool.ids[slot]] = pi * SLOT_BITS + slot;
    }
    pool.size--;
    pool.version++;
    this.where[id] = -1;
    this.held--;
    if (!moving) this.groundTracks.delete(id);
  }

  view(id: number): TrackView | null {
    const w = this.at(id);
    if (w < 0) return null;
    const p = this.pools[Math.floor(w / SLOT_BITS)];
    const slot = w % SLOT_BITS;
    const meta = this.meta.get(id) ?? { subject: `#${id}`, label: `#${id}`, domain: 0, drone: false };
    return {
      ...meta,
      id,
      lon: p.qlon[slot] / POS_SCALE, // the wire's integers: exact, unlike the float32 copy
      lat: p.qlat[slot] / POS_SCALE,
      alt: p.alt[slot],
      speed: p.speed[slot],
      course: p.course[slot],
      flags: p.flags[slot],
      cls: CLASSES[p.cls],
      identity: p.identity,
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
