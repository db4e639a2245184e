/**
 * A load generator in the browser (?synthetic=N): N tracks over the Baltic moving at 1 Hz,
 * written in the server's wire layout and fed through the same receive path. It measures the
 * picture's frame rate at 20,000 tracks without a server (benchmarks/, the README screenshot).
 */
import {
  altCode,
  courseCode,
  FLAG_ALERT,
  FLAG_EMERGENCY,
  FLAG_NONCOOP,
  frameLength,
  HEADER_BYTES,
  IDENTITY_SHIFT,
  VERSION,
} from "./frames";
import type { TrackChannel } from "./liveTracks";

export function runSynthetic(channel: TrackChannel, n: number, tickMs = 1000): () => void {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const lat = new Float64Array(n);
  const lon = new Float64Array(n);
  const course = new Float64Array(n);
  const speed = new Float64Array(n);
  const domain = new Uint8Array(n);
  const flags = new Uint8Array(n);
  const meta: [number, string, string, number][] = [];
  for (let i = 0; i < n; i++) {
    lat[i] = 54 + rnd() * 6;
    lon[i] = 10 + rnd() * 19;
    course[i] = rnd() * 360;
    const r = rnd();
    domain[i] = r < 0.45 ? 1 : r < 0.97 ? 2 : 3;
    speed[i] = domain[i] === 1 ? 200 + rnd() * 50 : domain[i] === 2 ? 3 + rnd() * 9 : 7500;
    // identity as the server's rule: ships neutral, the rest unknown, alerted ones suspect
    flags[i] |= (domain[i] === 2 ? 1 : 0) << IDENTITY_SHIFT;
    if (rnd() < 0.01) flags[i] |= FLAG_NONCOOP;
    if (rnd() < 0.002) flags[i] = (flags[i] & 0x0f) | FLAG_ALERT | (3 << IDENTITY_SHIFT);
    if (i === 7) flags[i] |= FLAG_EMERGENCY | FLAG_ALERT;
    const subj = domain[i] === 1 ? `icao:${(0x400000 + i).toString(16)}` : domain[i] === 2 ? `mmsi:${230000000 + i}` : `norad:${40000 + i}`;
    meta.push([i + 1, subj, subj, domain[i]]);
  }
  channel.receive(JSON.stringify({ type: "meta", tracks: meta }));
  let seq = 0;
  let time = Date.now() / 1000;
  const tick = () => {
    // explicit ids, absolute positions: the simplest frame the parser takes
    const buf = new ArrayBuffer(frameLength(n, 0, n, 0));
    const dv = new DataView(buf);
    dv.setUint8(0, VERSION);
    dv.setUint8(1, seq === 0 ? 1 : 2);
    dv.setUint32(4, seq++, true);
    dv.setFloat64(8, time, true);
    dv.setUint32(16, n, true);
    dv.setUint32(24, n, true);
    const o = HEADER_BYTES;
    const id = new Uint32Array(buf, o, n);
    const la = new Int32Array(buf, o + 4 * n, n);
    const lo = new Int32Array(buf, o + 8 * n, n);
    const al = new Int16Array(buf, o + 12 * n, n);
    const sp = new Uint16Array(buf, o + 14 * n, n);
    const co = new Uint16Array(buf, o + 16 * n, n);
    const fl = new Uint8Array(buf, o + 18 * n, n);
    const dt = tickMs / 1000;
    for (let i = 0; i < n; i++) {
      const s = domain[i] === 3 ? 200 : speed[i]; // keep satellites on screen
      const c = (course[i] * Math.PI) / 180;
      lat[i] += (s * dt * Math.cos(c)) / 111320;
      lon[i] += (s * dt * Math.sin(c)) / (111320 * Math.cos((lat[i] * Math.PI) / 180));
      if (lat[i] < 53 || lat[i] > 61 || lon[i] < 9 || lon[i] > 30) course[i] = (course[i] + 180) % 360;
      id[i] = i + 1;
      la[i] = Math.round(lat[i] * 1e7);
      lo[i] = Math.round(lon[i] * 1e7);
      al[i] = altCode(domain[i] === 1 ? 10_000 : domain[i] === 3 ? 500_000 : 0);
      sp[i] = Math.round(speed[i] * 8);
      co[i] = courseCode(course[i]);
      fl[i] = flags[i];
    }
    time += dt;
    channel.receive(buf);
  };
  tick();
  const timer = setInterval(tick, tickMs);
  return () => clearInterval(timer);
}
