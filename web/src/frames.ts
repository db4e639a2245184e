/**
 * The live track channel's binary frame (docs/api.md, "Binary frame"): a 24-byte header and
 * struct-of-arrays columns. Columns are returned as views on the received buffer, so a
 * 20,000-track frame is read without copying or allocating per track.
 */

export const HEADER_BYTES = 24;
export const BYTES_PER_TRACK = 20;
export const FRAME_KEY = 1;
export const FRAME_DELTA = 2;

export const FLAG_ALERT = 1;
export const FLAG_STALE = 2;
export const FLAG_NONCOOP = 4;
export const FLAG_EMERGENCY = 8;

export const FRAME_REPLAY = 1;
export const FRAME_REPLAY_PAUSED = 2;

export const ALT_UNKNOWN = -32768;
export const U16_UNKNOWN = 65535;

export const DOMAINS = ["", "air", "maritime", "space", "em"] as const;
export type DomainName = (typeof DOMAINS)[number];

export interface Frame {
  version: number;
  type: number;
  flags: number;
  seq: number;
  time: number;
  n: number;
  m: number;
  id: Uint32Array;
  lat: Int32Array; // degrees x 1e7
  lon: Int32Array;
  alt: Int16Array; // metres / 4 (space: / 2000)
  speed: Uint16Array; // m/s x 8
  course: Uint16Array; // degrees x 65536 / 360
  domain: Uint8Array;
  trackFlags: Uint8Array;
  removed: Uint32Array;
}

export class FrameError extends Error {}

/** Parse one binary frame; throws FrameError on a frame whose length or version is wrong. */
export function parseFrame(buf: ArrayBuffer): Frame {
  if (buf.byteLength < HEADER_BYTES) throw new FrameError(`short frame: ${buf.byteLength} bytes`);
  const dv = new DataView(buf);
  const version = dv.getUint8(0);
  if (version !== 1) throw new FrameError(`unknown frame version ${version}`);
  const n = dv.getUint32(16, true);
  const m = dv.getUint32(20, true);
  const want = HEADER_BYTES + BYTES_PER_TRACK * n + 4 * m;
  if (buf.byteLength !== want) {
    throw new FrameError(`frame length ${buf.byteLength}, header says ${want}`);
  }
  const o = HEADER_BYTES;
  return {
    version,
    type: dv.getUint8(1),
    flags: dv.getUint16(2, true),
    seq: dv.getUint32(4, true),
    time: dv.getFloat64(8, true),
    n,
    m,
    id: new Uint32Array(buf, o, n),
    lat: new Int32Array(buf, o + 4 * n, n),
    lon: new Int32Array(buf, o + 8 * n, n),
    alt: new Int16Array(buf, o + 12 * n, n),
    speed: new Uint16Array(buf, o + 14 * n, n),
    course: new Uint16Array(buf, o + 16 * n, n),
    domain: new Uint8Array(buf, o + 18 * n, n),
    trackFlags: new Uint8Array(buf, o + 19 * n, n),
    removed: new Uint32Array(buf, o + 20 * n, m),
  };
}

/** Metres from the wire's altitude code (space tracks use a coarser unit to reach orbit). */
export function altMetres(v: number, domain: number): number {
  if (v === ALT_UNKNOWN) return NaN;
  return domain === 3 ? v * 2000 : v * 4;
}

export function speedMs(v: number): number {
  return v === U16_UNKNOWN ? NaN : v / 8;
}

export function courseDeg(v: number): number {
  return v === U16_UNKNOWN ? NaN : (v * 360) / 65536;
}

/** Input for the encoder below, plain numbers in SI units. */
export interface TrackRow {
  id: number;
  lat: number;
  lon: number;
  alt?: number;
  speed?: number;
  course?: number;
  domain: number;
  flags?: number;
}

/**
 * Encode a frame in the wire layout. The page itself never sends frames; this serves the
 * synthetic load mode (?synthetic=N) and lets tests check parseFrame against the server.
 */
export function encodeFrame(
  type: number,
  seq: number,
  time: number,
  rows: TrackRow[],
  removed: number[] = [],
  flags = 0,
): ArrayBuffer {
  const n = rows.length;
  const m = removed.length;
  const buf = new ArrayBuffer(HEADER_BYTES + BYTES_PER_TRACK * n + 4 * m);
  const dv = new DataView(buf);
  dv.setUint8(0, 1);
  dv.setUint8(1, type);
  dv.setUint16(2, flags, true);
  dv.setUint32(4, seq, true);
  dv.setFloat64(8, time, true);
  dv.setUint32(16, n, true);
  dv.setUint32(20, m, true);
  const o = HEADER_BYTES;
  const id = new Uint32Array(buf, o, n);
  const lat = new Int32Array(buf, o + 4 * n, n);
  const lon = new Int32Array(buf, o + 8 * n, n);
  const alt = new Int16Array(buf, o + 12 * n, n);
  const speed = new Uint16Array(buf, o + 14 * n, n);
  const course = new Uint16Array(buf, o + 16 * n, n);
  const domain = new Uint8Array(buf, o + 18 * n, n);
  const tf = new Uint8Array(buf, o + 19 * n, n);
  rows.forEach((r, i) => {
    id[i] = r.id;
    lat[i] = Math.round(r.lat * 1e7);
    lon[i] = Math.round(r.lon * 1e7);
    const unit = r.domain === 3 ? 2000 : 4;
    alt[i] = r.alt === undefined || !Number.isFinite(r.alt)
      ? ALT_UNKNOWN
      : Math.max(-32767, Math.min(32767, Math.round(r.alt / unit)));
    speed[i] = r.speed === undefined || !Number.isFinite(r.speed)
      ? U16_UNKNOWN
      : Math.min(65534, Math.round(r.speed * 8));
    course[i] = r.course === undefined || !Number.isFinite(r.course)
      ? U16_UNKNOWN
      : Math.min(65534, Math.round(((((r.course % 360) + 360) % 360) * 65536) / 360) % 65536);
    domain[i] = r.domain;
    tf[i] = r.flags ?? 0;
  });
  new Uint32Array(buf, o + 20 * n, m).set(removed);
  return buf;
}
