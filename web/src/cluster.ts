/**
 * Clusters with counts at the overview: when the picture holds many tracks and the map is
 * zoomed out, tracks are counted in a screen grid (CELL_PX pixels, Web Mercator at the
 * current zoom) per symbol class, straight from the pools' typed arrays (no object per
 * track), and each occupied cell is drawn as its class's symbol, sized by the count, with the
 * count beside it. Tracks with an alert or an emergency stay individual (ring and frame).
 */
import type { Pool } from "./trackStore";

export const CELL_PX = 64;
/** Cluster below this zoom ... */
export const CLUSTER_MAX_ZOOM = 7;
/** ... when the picture holds at least this many tracks. */
export const CLUSTER_MIN_TRACKS = 3000;

export interface Clusters {
  n: number;
  position: Float32Array; // lon, lat (mean of the members)
  count: Uint32Array;
  cls: Uint8Array;
}

const TILE = 512;

export function shouldCluster(zoom: number, tracks: number): boolean {
  return zoom < CLUSTER_MAX_ZOOM && tracks >= CLUSTER_MIN_TRACKS;
}

/** Grid counts of every pool's tracks, by symbol class; `skipFlags` keeps flagged tracks out. */
export function clusterPools(pools: Pool[], zoom: number, visible: (cls: number) => boolean, skipFlags: number): Clusters {
  const world = TILE * 2 ** zoom;
  const cols = Math.ceil(world / CELL_PX) + 1;
  // key: (cls, cell) -> accumulator slot
  const slotOf = new Map<number, number>();
  let cap = 256;
  let sx = new Float64Array(cap);
  let sy = new Float64Array(cap);
  let cnt = new Uint32Array(cap);
  let ccls = new Uint8Array(cap);
  let n = 0;
  for (const p of pools) {
    if (!p.size || !visible(p.cls)) continue;
    const pos = p.position;
    for (let i = 0; i < p.size; i++) {
      if (p.flags[i] & skipFlags) continue;
      const lon = pos[2 * i];
      const lat = pos[2 * i + 1];
      const x = ((lon + 180) / 360) * world;
      const s = Math.sin((Math.max(-85, Math.min(85, lat)) * Math.PI) / 180);
      const y = (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * world;
      const key = (Math.floor(y / CELL_PX) * cols + Math.floor(x / CELL_PX)) * 8 + p.cls;
      let k = slotOf.get(key);
      if (k === undefined) {
        if (n === cap) {
          cap *= 2;
          const g = <T extends Float64Array | Uint32Array | Uint8Array>(a: T): T => {
            const b = new (a.constructor as new (m: number) => T)(cap);
            b.set(a);
            return b;
          };
          sx = g(sx);
          sy = g(sy);
          cnt = g(cnt);
          ccls = g(ccls);
        }
        k = n++;
        slotOf.set(key, k);
        ccls[k] = p.cls;
      }
      sx[k] += lon;
      sy[k] += lat;
      cnt[k]++;
    }
  }
  const position = new Float32Array(2 * n);
  for (let k = 0; k < n; k++) {
    position[2 * k] = sx[k] / cnt[k];
    position[2 * k + 1] = sy[k] / cnt[k];
  }
  return { n, position, count: cnt.slice(0, n), cls: ccls.slice(0, n) };
}
