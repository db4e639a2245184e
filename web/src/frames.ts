/**
 * The live track channel's binary frame, version 2 (docs/api.md, "Binary frame"): a 32-byte
 * header and struct-of-arrays columns. Ids come as a list or as a bitmap; positions come
 * absolute (int32, 1e-7 degree) or, in deltas, as int16 steps of 1e-6 degree from the
 * position the client holds (flag bit 7). Columns are views on the received buffer, so a
 * 20,000-track frame is read without copying or allocating per track.
 */

export const VERSION = 2;
export const HEADER_BYTES = 32;
export const FRAME_KEY = 1;
export const FRAME_DELTA = 2;

export const FLAG_ALERT = 1;
export const FLAG_STALE = 2;
export const FLAG_NONCOOP = 4;
export const FLAG_EMERGENCY = 8;
export const IDENTITY_SHIFT = 4; // bits 4-5: identity, see IDENTITIES
export const FLAG_REL = 0x80; // wire only: this row's position is a step
export const POS_SCALE = 1e7;
export const REL_STEP = 10; // one step = 10 absolute units

export const FRAME_REPLAY = 1;
export const FRAME_REPLAY_PAUSED = 2;

export const ALT_UNKNOWN = -32768;
export const ALT_KNEE = 20000;
export const U16_UNKNOWN = 65535;

/** Identity (affiliation) codes carried in the track flags, as the CoT letters u, n, f, s. */
export const IDENTITIES = ["unknown", "neutral", "friend", "suspect"] as const;
export type Identity = (typeof IDENTITIES)[number];

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
  nAbs: number; // rows with absolute positions
  id: Uint32Array; // ascending
  lat: Int32Array; // absolute rows in order: degrees x 1e7
  lon: Int32Array;
  dLat: Int16Array; // relative rows in order: steps of 1e-6 degree
  dLon: Int16Array;
  alt: Int16Array; // see altMetres
  speed: Uint16Array; // m/s x 8
  course: Uint16Array; // degrees x 65536 / 360
  trackFlags: Uint8Array; // bit 7 set: the row's position is the next dLat/dLon
  removed: Uint32Array;
}

export class FrameError extends Error {}

export function frameLength(n: number, m: number, nAbs: number, idBytes: number): number {
  const body = (idBytes || 4 * n) + 8 * nAbs + 4 * (n - nAbs) + 7 * n;
  return HEADER_BYTES + body + ((4 - (body % 4)) % 4) + 4 * m;
}

/** Parse one binary frame; throws FrameError on a frame whose length or version is wrong. */
export function parseFrame(buf: ArrayBuffer): Frame {
  if (buf.byteLength < HEADER_BYTES) throw new FrameError(`short frame: ${buf.byteLength} bytes`);
  const dv = new DataView(buf);
  const version = dv.getUint8(0);
  if (version !== VERSION) throw new FrameError(`unknown frame version ${version}`);
  const n = dv.getUint32(16, true);
  const m = dv.getUint32(20, true);
  const nAbs = dv.getUint32(24, true);
  const idBytes = dv.getUint32(28, true);
  if (nAbs > n || idBytes % 4) throw new FrameError("inconsistent frame header");
  const want = frameLength(n, m, nAbs, idBytes);
  if (buf.byteLength !== want) {
    throw new FrameError(`frame length ${buf.byteLength}, header says ${want}`);
  }
  let o = HEADER_BYTES;
  let id: Uint32Array;
  if (idBytes) {
    id = new Uint32Array(n);
    const bits = new Uint8Array(buf, o, idBytes);
    let k = 0;
    for (let b = 0; b < idBytes; b++) {
      let v = bits[b];
      while (v) {
        const low = v & -v;
        if (k === n) throw new FrameError("id bitmap holds more ids than the header says");
        id[k++] = 8 * b + 31 - Math.clz32(low);
        v ^= low;
      }
    }
    if (k !== n) throw new FrameError(`id bitmap holds ${k} ids, header says ${n}`);
    o += idBytes;
  } else {
    id = new Uint32Array(buf, o, n);
    o += 4 * n;
  }
  const nRel = n - nAbs;
  const lat = new Int32Array(buf, o, nAbs);
  const lon = new Int32Array(buf, o + 4 * nAbs, nAbs);
  o += 8 * nAbs;
  const dLat = new Int16Array(buf, o, nRel);
  const dLon = new Int16Array(buf, o + 2 * nRel, nRel);
  o += 4 * nRel;
  const alt = new Int16Array(buf, o, n);
  const speed = new Uint16Array(buf, o + 2 * n, n);
  const course = new Uint16Array(buf, o + 4 * n, n);
  const trackFlags = new Uint8Array(buf, o + 6 * n, n);
  o += 7 * n;
  o += (4 - (o % 4)) % 4;
  return {
    version, type: dv.getUint8(1), flags: dv.getUint16(2, true), seq: dv.getUint32(4, true),
    time: dv.getFloat64(8, true), n, m, nAbs, id, lat, lon, dLat, dLon, alt, speed, course,
    trackFlags, removed: new Uint32Array(buf, o, m),
  };
}

/** Metres from the wire's altitude code: 4 m steps to 80 km, 5 km steps above (orbits). */
export function altMetres(v: number): number {
  if (v === ALT_UNKNOWN) return NaN;
  return v <= ALT_KNEE ? v * 4 : ALT_KNEE * 4 + (v - ALT_KNEE) * 5000;
}

export function altCode(m: number | undefined): number {
  if (m === undefined || !Number.isFinite(m)) return ALT_UNKNOWN;
  const fine = Math.round(m / 4);
  if (fine <= ALT_KNEE) return Math.max(fine, -ALT_KNEE);
  return Math.min(32767, ALT_KNEE + Math.round((m - ALT_KNEE * 4) / 5000));
}

/** As the server: 359.997..360 degrees wraps to 0; 65535 is kept for "unknown". */
export function courseCode(deg: number | undefined): number {
  if (deg === undefined || !Number.isFinite(deg)) return U16_UNKNOWN;
  const c = ((((deg % 360) + 360) % 360) * 65536) / 360;
  return c >= 65535.5 ? 0 : Math.min(65534, Math.round(c));
}

export function speedMs(v: number): number {
  return v === U16_UNKNOWN ? NaN : v / 8;
}

export function courseDeg(v: number): number {
  return v === U16_UNKNOWN ? NaN : (v * 360) / 65536;
}

export function identityOf(flags: number): Identity {
  return IDENTITIES[(flags >> IDENTITY_SHIFT) & 3];
}

/** Input for the encoder below, plain numbers in SI units (absolute positions only). */
export interface TrackRow {
  id: number;
  lat: number;
  lon: number;
  alt?: number;
  speed?: number;
  course?: number;
  flags?: number;
}

/**
 * Encode a frame in the wire layout with explicit ids and absolute positions, rows in the
 * order given (ascending ids). The page never sends frames; this serves the synthetic load
 * mode (?synthetic=N) and tests.
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
  const buf = new ArrayBuffer(frameLength(n, m, n, 0));
  const dv = new DataView(buf);
  dv.setUint8(0, VERSION);
  dv.setUint8(1, type);
  dv.setUint16(2, flags, true);
  dv.setUint32(4, seq, true);
  dv.setFloat64(8, time, true);
  dv.setUint32(16, n, true);
  dv.setUint32(20, m, true);
  dv.setUint32(24, n, true);
  dv.setUint32(28, 0, true);
  let o = HEADER_BYTES;
  const id = new Uint32Array(buf, o, n);
  const lat = new Int32Array(buf, o + 4 * n, n);
  const lon = new Int32Array(buf, o + 8 * n, n);
  const alt = new Int16Array(buf, o + 12 * n, n);
  const speed = new Uint16Array(buf, o + 14 * n, n);
  const course = new Uint16Array(buf, o + 16 * n, n);
  const tf = new Uint8Array(buf, o + 18 * n, n);
  o += 19 * n;
  o += (4 - (o % 4)) % 4;
  rows.forEach((r, i) => {
    id[i] = r.id;
    lat[i] = Math.round(r.lat * POS_SCALE);
    lon[i] = Math.round(r.lon * POS_SCALE);
    alt[i] = altCode(r.alt);
    speed[i] = r.speed === undefined || !Number.isFinite(r.speed)
      ? U16_UNKNOWN
      : Math.min(65534, Math.round(r.speed * 8));
    course[i] = courseCode(r.course);
    tf[i] = (r.flags ?? 0) & ~FLAG_REL;
  });
  new Uint32Array(buf, o, m).set(removed);
  return buf;
}
