/**
 * Talking to `picket serve` (docs/api.md). All URLs are relative to the page so the server
 * may mount the picture anywhere; the token (only needed off loopback) lives in localStorage.
 */

const TOKEN_KEY = "picket.token";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function token(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(t: string | null): void {
  if (t) localStorage.setItem(TOKEN_KEY, t);
  else localStorage.removeItem(TOKEN_KEY);
}

/**
 * Absolute URL for an API path. `stream` adds the token as a query parameter, for WebSocket and
 * EventSource which cannot send headers; `ws` switches the scheme to ws(s).
 */
export function apiUrl(
  path: string,
  params: Record<string, string> = {},
  opts: { stream?: boolean; ws?: boolean } = {},
): string {
  const u = new URL(`api/${path}`, document.baseURI);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  const t = token();
  if (t && (opts.stream || opts.ws)) u.searchParams.set("token", t);
  if (opts.ws) u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}

let onUnauthorized: (() => void) | null = null;

export function whenUnauthorized(cb: () => void): void {
  onUnauthorized = cb;
}

export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; params?: Record<string, string> } = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(apiUrl(path, init.params), {
    method: init.method ?? "GET",
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (!res.ok) {
    let detail = res.statusText;
    try {
      detail = (await res.json()).detail ?? detail;
    } catch {
      /* not JSON */
    }
    if (res.status === 401) onUnauthorized?.();
    throw new ApiError(res.status, `${res.status} ${detail}`);
  }
  return (await res.json()) as T;
}

export interface Triage {
  state: "new" | "acknowledged" | "assigned" | "resolved" | "false_alarm";
  assignee: string | null;
  who: string | null;
  time: string | null;
  comments: number;
}

export interface Alert {
  id: string;
  kind: string;
  severity: "info" | "warning" | "critical";
  time: string;
  last_time: string;
  closed_time: string | null;
  status: "open" | "closed";
  domain: string;
  subject: string;
  lat: number | null;
  lon: number | null;
  summary: string;
  evidence: Record<string, unknown>;
  updates: number;
  triage?: Triage;
  log?: TriageEntry[];
}

export interface TriageEntry {
  time: string;
  who: string;
  action: string;
  comment: string | null;
  assignee: string | null;
}

export interface Track {
  id: number;
  subject: string;
  domain: string;
  label: string;
  lat: number | null;
  lon: number | null;
  alt: number | null;
  speed: number | null;
  course: number | null;
  heading: number | null;
  time: string;
  pos_time: string | null;
  first_time: string | null;
  n_reports: number;
  squawk: number | string | null;
  nav_status: number | null;
  stale: boolean;
  identity: "unknown" | "neutral" | "friend" | "suspect";
  alerts: string[];
  static: Record<string, unknown>;
  history?: { time: string; lat: number; lon: number }[];
}

export interface Health {
  status: string;
  version: string;
  boot: string;
  /** "stored": `picket serve` over a store, the picture as of the store's time. */
  mode?: "live" | "stored";
  event_time: string | null;
  tracks: number;
  alerts_open: number;
  role: "viewer" | "operator";
  who: string;
}

export type FeatureCollection = { type: "FeatureCollection"; features: Feature[] };
export type Feature = {
  type: "Feature";
  geometry: { type: string; coordinates: unknown };
  properties: Record<string, unknown>;
};

export const seconds = (iso: string | null | undefined): number =>
  iso ? Date.parse(iso) / 1000 : NaN;

export const isoOf = (t: number): string => new Date(t * 1000).toISOString();
