/**
 * The picture: an offline MapLibre basemap under deck.gl layers, the live track channel, the
 * alert queue with triage, the track panel and the time bar. See docs/api.md for the server.
 */
import "maplibre-gl/dist/maplibre-gl.css";
import "./style.css";
import type { PickingInfo } from "@deck.gl/core";
import { MapLibreOverlay } from "@deck.gl/maplibre";
import { AttributionControl, Map as MapLibreMap, NavigationControl, ScaleControl, setWorkerUrl } from "maplibre-gl";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";
import { AlertPanel } from "./alertPanel";
import { loadCodes } from "./codes";
import { extentOf, type Incident, IncidentPanel } from "./incidents";
import { labelBand, labelBox, type MapLabel, mapLabels, placeLabels } from "./labels";
import { PlaceNames } from "./places";
import { ALT_LUT, ALT_STEP_FT, css, SHIP_CLASSES, SHIP_LABEL, SHIP_RGB } from "./colours";
import { type Hit, SearchBox } from "./search";
import { units, type UnitSystem } from "./units";
import { type Alert, api, ApiError, apiUrl, type FeatureCollection, type Health, isoOf, seconds, setToken, token, whenUnauthorized } from "./api";
import { basemapStyle } from "./basemap";
import { h } from "./dom";
import { encodeFrame, FRAME_REPLAY, IDENTITIES, parseFrame } from "./frames";
import { buildLayers, describePick, groundPaths, LAYER_KEYS, lastClusters, LAYER_LABELS, type LayerKey, type PictureState, pickedTrackId } from "./layers";
import { TrackChannel } from "./liveTracks";
import { MilAtlas } from "./milSymbols";
import { swatch } from "./symbols";
import { runSynthetic } from "./synthetic";
import { TimeBar } from "./timeBar";
import { TrackPanel } from "./trackPanel";
import { TrackStore } from "./trackStore";
import { matchOf, WatchlistPanel } from "./watchlist";

const params = new URLSearchParams(location.search);
const synthetic = Number(params.get("synthetic") ?? 0);
const $ = (id: string) => document.getElementById(id)!;

const LAYERS_KEY = "picket.layers";
const APP6_KEY = "picket.app6";
function loadVisible(): Record<LayerKey, boolean> {
  const v = Object.fromEntries(LAYER_KEYS.map((k) => [k, true])) as Record<LayerKey, boolean>;
  try {
    Object.assign(v, JSON.parse(localStorage.getItem(LAYERS_KEY) ?? "{}"));
  } catch {
    /* keep defaults */
  }
  return v;
}

const store = new TrackStore();
const state: PictureState = {
  store,
  visible: loadVisible(),
  alerts: [],
  gnss: null,
  zones: null,
  infrastructure: null,
  harbours: null,
  trail: null,
  selectedTrack: null,
  selectedAlert: null,
  iconScale: 1,
  app6: localStorage.getItem(APP6_KEY) === "1",
  milAtlas: new MilAtlas(22, () => {
    fillIdentityLegend();
    schedule();
  }),
  symbols: params.get("symbols") === "icons" ? "icons" : "points",
  zoom: 4.9,
  countries: null,
  readable: params.get("plain") !== "1",
  mapLabels: [],
  mapLabelsVersion: 0,
  extent: null,
  sky: null,
  skyFocus: null,
};
store.colourBy = state.readable;
const stats = {
  renders: 0, renderMs: 0, fps: 0, channel: "idle", ready: false,
  // the newest per-update costs on the main thread, for `picket bench web`
  applyLog: [] as number[], renderLog: [] as number[],
};
const LOG_KEEP = 600;
function logCost(log: number[], ms: number): void {
  log.push(ms);
  if (log.length > LOG_KEEP) log.splice(0, log.length - LOG_KEEP);
}

// --- map and overlay ------------------------------------------------------------------
const HOME_VIEW = { center: [20.5, 57.2] as [number, number], zoom: 4.9 };
// MapLibre 6 looks for its worker beside its own module; the bundle moves it, so say where.
setWorkerUrl(workerUrl);
const map = new MapLibreMap({
  container: "map",
  style: basemapStyle(),
  ...HOME_VIEW,
  minZoom: 1,
  maxZoom: 16,
  dragRotate: false,
  pitchWithRotate: false,
  attributionControl: false,
});
map.touchZoomRotate.disableRotation();
map.addControl(new AttributionControl({ compact: true, customAttribution: "Basemap: Natural Earth · Place names: GeoNames (CC-BY 4.0)" }));
map.addControl(new NavigationControl({ showCompass: false }), "bottom-left");
map.addControl(new ScaleControl({ unit: "nautical" }), "bottom-left");

const overlay = new MapLibreOverlay({
  interleaved: false,
  layers: [],
  getTooltip: (info: PickingInfo) => {
    const text = describePick(info, store);
    return text ? { text, className: "deck-tip" } : null;
  },
  onClick: (info: PickingInfo) => {
    const id = pickedTrackId(info, store);
    if (id !== null) return void selectTrack(id);
    if (info.layer?.id === "alerts" && info.object) return void selectAlert(info.object as Alert, false);
  },
});
map.addControl(overlay);
map.on("zoom", () => {
  state.zoom = map.getZoom();
  schedule();
});

/** Candidate names for the zoom band, and the ones placed without overlap for the view:
 * redone when the map stops moving or a layer with names arrives. */
let labelCandidates: { key: string; list: MapLabel[] } | null = null;
const placeNames = new PlaceNames(() => {
  labelSources++;
  placeMapLabels();
}, synthetic > 0);
function placeMapLabels(): void {
  if (!state.readable) return;
  const band = labelBand(map.getZoom());
  const b = map.getBounds();
  placeNames.request(b.getWest(), b.getSouth(), b.getEast(), b.getNorth(), map.getZoom());
  const key = `${band}|${state.visible.zones}|${state.visible.infrastructure}|${labelSources}`;
  if (labelCandidates?.key !== key) {
    labelCandidates = { key, list: mapLabels(band, placeNames.forBand(band), state.countries, state.visible.zones ? state.zones : null,
      state.visible.infrastructure ? state.infrastructure : null) };
  }
  const c = map.getCanvas();
  const w = c.clientWidth;
  const hgt = c.clientHeight;
  state.mapLabels = placeLabels(labelCandidates.list, (lon, lat) => {
    const p = map.project([lon, lat]);
    return [p.x, p.y];
  }, w, hgt);
  state.mapLabelsVersion++;
  schedule();
}
let labelSources = 0;
map.on("moveend", placeMapLabels);
map.on("resize", placeMapLabels);

let dirty = false;
function schedule(): void {
  if (dirty) return;
  dirty = true;
  requestAnimationFrame(() => {
    dirty = false;
    const t0 = performance.now();
    setLayers();
    keepTrackInAddress();
    stats.renderMs = performance.now() - t0;
    stats.renders++;
    logCost(stats.renderLog, stats.renderMs);
  });
}

function setLayers(): void {
  state.alerts = alertPanel.visible();
  overlay.setProps({ layers: buildLayers(state) });
}

interface DeckInside {
  layerManager: { updateLayers(): void };
  redraw(reason: string): void;
  device: { gl: WebGL2RenderingContext };
}

/** Layers set and drawn now, in this task (tests read the pixels right after). */
function drawNow(): WebGL2RenderingContext {
  setLayers();
  const deck = (overlay as unknown as { _deck: DeckInside })._deck;
  deck.layerManager.updateLayers(); // deck.gl would do it on its next animation frame
  deck.redraw("drawNow");
  return deck.device.gl;
}

// frame rate, for the status line and the benchmark
let ticks = 0;
let since = performance.now();
function fpsLoop(now: number): void {
  ticks++;
  if (now - since >= 1000) {
    stats.fps = (ticks * 1000) / (now - since);
    ticks = 0;
    since = now;
    status();
  }
  requestAnimationFrame(fpsLoop);
}
requestAnimationFrame(fpsLoop);

// --- layer toggles --------------------------------------------------------------------
const LEGEND: Partial<Record<LayerKey, [string, string]>> = {
  aircraft: ["aircraft", "#60c8ff"],
  vessels: ["vessel", "#50e696"],
  satellites: ["satellite", "#dcbeff"],
  noncoop: ["noncoop", "#ffdc3c"],
  alerts: ["critical", "#ff4040"],
};
function layerToggles(): void {
  const root = $("layers");
  root.append(
    h("button", { class: "collapse", "data-collapse": "layers", "aria-label": "hide the layer panel",
      title: "Hide or show the layer panel ([)" }, "◂"),
    h("h2", {}, "Layers"),
  );
  for (const k of LAYER_KEYS) {
    const box = h("input", { type: "checkbox", "data-layer": k, checked: state.visible[k], onchange: (e: Event) => {
      state.visible[k] = (e.target as HTMLInputElement).checked;
      localStorage.setItem(LAYERS_KEY, JSON.stringify(state.visible));
      if (k === "zones" || k === "infrastructure") placeMapLabels();
      if (k === "harbours" && state.visible.harbours) void loadHarbours();
      schedule();
    } });
    const lg = LEGEND[k];
    const mark = lg
      ? swatch(lg[0], lg[1], 14)
      : h("span", { class: `legend-line l-${k}` });
    root.append(h("label", { class: "toggle" }, box, mark, ` ${LAYER_LABELS[k]}`));
  }
  const app6 = h("input", { type: "checkbox", "data-option": "app6", checked: state.app6, onchange: (e: Event) => {
    state.app6 = (e.target as HTMLInputElement).checked;
    localStorage.setItem(APP6_KEY, state.app6 ? "1" : "0");
    if (state.app6) void state.milAtlas.load();
    fillIdentityLegend();
    schedule();
  } });
  root.append(h("label", { class: "toggle option" }, app6, " APP-6 symbols"));
  const unitSel = h("select", { "aria-label": "units", "data-testid": "units", onchange: (e: Event) => {
    setUnits((e.target as HTMLSelectElement).value as UnitSystem);
  } },
    h("option", { value: "nautical" }, "kn · NM · ft/FL"),
    h("option", { value: "metric" }, "metric (km/h, km, m)"));
  unitSel.value = units.system;
  root.append(h("label", { class: "toggle units" }, "Units ", unitSel));
  if (state.readable) root.append(colourLegend());
  root.append(h("div", { class: "legend identities", "data-testid": "identity-legend" }));
  fillIdentityLegend();
  const exportLink = (format: string, label: string) =>
    h("a", { href: apiUrl("export", { format, layers: "tracks,alerts,zones" }, { stream: true }), download: "" }, label);
  root.append(
    h("div", { class: "export" }, "Export ", exportLink("geojson", "GeoJSON"), " · ", exportLink("kml", "KML"),
      " · ", exportLink("kmz", "KMZ")),
  );
  root.append(watchRoot);
  root.append(
    h("div", { class: "legend" },
      h("span", { class: "gnss g-green" }, "< 2 %"), h("span", { class: "gnss g-yellow" }, "2–10 %"),
      h("span", { class: "gnss g-red" }, "≥ 10 %"), h("small", {}, " aircraft with bad GNSS")),
  );
}

/** What the colours mean: aircraft by altitude band, vessels by AIS ship-type class. */
function colourLegend(): HTMLElement {
  const stops = [0, 2, 5, 10, 20, 30, 40].map((k) => ALT_LUT[Math.round((k * 1000) / ALT_STEP_FT)]);
  const ramp = h("span", { class: "alt-ramp" });
  ramp.style.background = `linear-gradient(90deg, ${stops.map(css).join(", ")})`;
  const ships = h("div", { class: "legend ships" });
  SHIP_CLASSES.forEach((c, i) => {
    if (c === "wig" || c === "other") return;
    ships.append(h("span", { class: "ship", "data-ship-class": c }, swatch("vessels-neutral", css(SHIP_RGB[i]), 12), ` ${SHIP_LABEL[c]}`));
  });
  return h("details", { class: "legend colours", "data-testid": "colour-legend", open: true },
    h("summary", {}, "Colours"),
    h("div", { class: "alt-legend" }, swatch("aircraft-unknown", "#9fb3c6", 12), " altitude ", ramp),
    h("div", { class: "alt-ticks" }, h("span", {}, "0"), h("span", {}, "10k"), h("span", {}, "FL200"), h("span", {}, "FL400 ft")),
    ships);
}

function setUnits(u: UnitSystem): void {
  units.set(u);
  const sel = document.querySelector<HTMLSelectElement>("[data-testid=units]");
  if (sel) sel.value = u;
  if (alertPanel.selected) void alertPanel.open(alertPanel.selected, false);
  if (state.selectedTrack) void trackPanel.refresh();
}

/** Identity in words beside its symbol: the APP-6 frame, or the plain set's ring/diamond. */
function fillIdentityLegend(): void {
  const root = document.querySelector("[data-testid=identity-legend]");
  if (!root) return;
  root.replaceChildren();
  for (const id of IDENTITIES) {
    const mark = state.app6 ? state.milAtlas.swatch(id, 14) : swatch(`aircraft-${id}`, "#9fb3c6", 14);
    root.append(h("span", { class: "identity", "data-identity": id }, mark ?? "", ` ${id}`));
  }
}

// --- panels ---------------------------------------------------------------------------
const alertPanel = new AlertPanel($("alerts"), $("alert-detail"), {
  onSelect: (a) => void selectAlert(a, true),
  onChange: () => schedule(),
  onGnss: () => refreshGnss(),
  onLayers: (layer) => void loadLayer(layer === "zones" ? "zones" : "infrastructure"),
  onIncidents: () => refreshIncidents(),
  onWatchlist: (ev) => watchPanel.follow(ev),
});

const incidentPanel = new IncidentPanel($("incidents"), $("incident-detail"), {
  onSelect: (i) => void selectIncident(i),
  onAlert: (id) => {
    const a = alertPanel.alerts.get(id);
    if (a) void selectAlert(a, true);
  },
  onClose: () => {
    incidentPanel.close();
    state.extent = null;
    schedule();
  },
});
/** A refetch after a burst settles, but never more than `maxWaitMs` after it was first asked
 * for: a live run's alert updates come every few seconds, and a plain debounce would wait for
 * a pause that never comes (the demo's incident showed half a minute late). */
function settle(maxWaitMs: number) {
  let timer: number | undefined;
  let since = 0;
  return {
    ask(delayMs: number, run: () => void): void {
      const now = performance.now();
      if (timer === undefined) since = now;
      clearTimeout(timer);
      timer = window.setTimeout(() => {
        timer = undefined;
        run();
      }, Math.max(0, Math.min(delayMs, since + maxWaitMs - now)));
    },
    cancel(): void {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

const incidentRefetch = settle(3000);
/** Incidents are joined on the server from stored alerts: refetch after a burst settles. */
function refreshIncidents(delayMs = 1500): void {
  incidentRefetch.ask(delayMs, () => void incidentPanel.load(incidentsAt()));
}

/** The time incidents are asked for: the replay's (incidents as they were then), a stored
 * run's own time, or none (live: as they are now). */
function incidentsAt(): string | null {
  if (timeBar.replaying && Number.isFinite(store.time)) return isoOf(store.time);
  return alertPanel.stored;
}

/** Replay steps refetch the slower layers now and then (wall seconds between refetches). */
let replayRefetch = 0;
function replayStep(): void {
  const now = performance.now();
  if (now - replayRefetch >= 5000) {
    replayRefetch = now;
    void incidentPanel.load(incidentsAt());
    if (state.visible.harbours) void loadHarbours();
  }
  refreshIncidents(700); // and once more when the steps pause or the replay ends
}

async function selectIncident(i: Incident): Promise<void> {
  alertPanel.closeDetail();
  state.selectedAlert = null;
  if (state.selectedTrack) {
    state.selectedTrack = null;
    trackPanel.close();
  }
  state.extent = extentOf(i);
  if (state.extent) map.fitBounds(state.extent, { padding: 80, maxZoom: 9, duration: 900 });
  else if (i.lat !== null && i.lon !== null) map.flyTo({ center: [i.lon, i.lat], zoom: Math.max(map.getZoom(), 7) });
  schedule();
  await incidentPanel.open(i);
  focusSky(incidentPanel.selected?.overflights);
}

/** Bold the satellites that could see the chosen place, and show their footprints. */
function focusSky(over: { norad?: number }[] | undefined): void {
  const ids = (over ?? []).map((o) => Number(o.norad)).filter((n) => Number.isFinite(n));
  state.skyFocus = ids.length ? new Set(ids) : null;
  schedule();
}

const watchRoot = h("section", { id: "watchlist", class: "watchlist-panel" });
const watchPanel = new WatchlistPanel(watchRoot);

const trackPanel = new TrackPanel($("track-detail"), {
  // "watch this track": its own identifier (or its name) on the watchlist, from the panel
  watch: (subject, label) => {
    const m = matchOf(subject, label);
    if (!m || !watchPanel.available || watchPanel.role !== "operator") return null;
    return {
      watched: watchPanel.entries.some((e) => e.match === m),
      go: () => {
        watchPanel.open();
        return watchPanel.add(m, label !== subject ? label : "", "warning");
      },
    };
  },
  alertsOf: (subject) => [...alertPanel.alerts.values()].filter((a) => a.subject === subject)
    .sort((x, y) => (x.time < y.time ? 1 : -1)),
  onAlert: (a) => void selectAlert(a, true),
  onTrail: (trail) => {
    state.trail = trail ? [...trail] : null;
    schedule();
  },
  current: (subject) => {
    const id = store.bySubject.get(subject);
    return [id === undefined ? null : store.view(id), store.time];
  },
  at: () => (timeBar.replaying && Number.isFinite(store.time) ? isoOf(store.time) : null),
  onClose: () => {
    state.selectedTrack = null;
    trackPanel.close();
    schedule();
  },
});

watchPanel.onChange = () => trackPanel.refresh();

/** The selected track in the address (`?track=<global id>`): a refresh or a link selects
 * it again as soon as the picture holds it. The global id, not the frames' number, so the
 * address names the same track after the server restarts. */
let addressTrack: string | null = params.get("track");
let pendingTrack: string | null = addressTrack; // from the address, not selected yet
function keepTrackInAddress(): void {
  const gid = state.selectedTrack?.gid ?? null;
  if (pendingTrack !== null) {
    if (gid === null) {
      const id = store.byGid.get(pendingTrack);
      if (id === undefined || !store.view(id)) return; // not in the picture yet
      pendingTrack = null;
      return void selectTrack(id);
    }
    pendingTrack = null; // another track was chosen meanwhile
  }
  if (gid === addressTrack) return;
  addressTrack = gid;
  const url = new URL(location.href);
  if (gid === null) url.searchParams.delete("track");
  else url.searchParams.set("track", gid);
  history.replaceState(history.state, "", url);
}

function selectTrack(id: number): void {
  const t = store.view(id);
  if (!t) return;
  state.selectedTrack = t;
  void trackPanel.show(t);
  schedule();
}

async function selectAlert(a: Alert, fly: boolean): Promise<void> {
  state.selectedAlert = a;
  // an area alert (interference or spoofing over several cells) shows its whole extent
  state.extent = extentOf(a);
  if (fly && state.extent && a.subject.startsWith("h3:")) {
    map.fitBounds(state.extent, { padding: 80, maxZoom: 8, duration: 900 });
  } else if (fly && a.lat !== null && a.lon !== null) {
    map.flyTo({ center: [a.lon, a.lat], zoom: Math.max(map.getZoom(), 7.5), speed: 1.6 });
  }
  const id = store.bySubject.get(a.subject);
  if (id !== undefined && store.view(id)) selectTrack(id);
  else if (state.selectedTrack) {
    // the alert has no track in the picture (an area, a closed subject): no other vessel stays
    state.selectedTrack = null;
    trackPanel.close();
  }
  schedule();
  await alertPanel.open(a);
  state.selectedAlert = alertPanel.selected;
  focusSky((alertPanel.selected as { overflights?: { norad?: number }[] } | null)?.overflights);
}

/** Back to the whole picture: panels closed, the Baltic in view (also the Escape key). */
function home(): void {
  state.selectedAlert = null;
  state.selectedTrack = null;
  state.extent = null;
  state.skyFocus = null;
  incidentPanel.close();
  alertPanel.closeDetail();
  trackPanel.close();
  map.jumpTo(HOME_VIEW);
  schedule();
}
const TRIAGE_KEYS: Record<string, string> = { a: "acknowledge", r: "resolve", f: "false_alarm", o: "reopen" };
document.addEventListener("keydown", (e) => {
  const t = e.target;
  if (t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const help = $("help") as HTMLDialogElement;
  if (e.key === "Escape") return void (help.open ? help.close() : home());
  if (e.key === "?") return void (help.open ? help.close() : help.showModal());
  if (e.key === "/") {
    e.preventDefault();
    return void search.input.focus();
  }
  if (e.key === "[") return void togglePanel("layers");
  if (e.key === "]") return void togglePanel("side");
  if (e.key === "u") return void setUnits(units.system === "metric" ? "nautical" : "metric");
  if (e.key === "j" || e.key === "k") {
    const list = alertPanel.visible();
    if (!list.length) return;
    const at = list.findIndex((x) => x.id === alertPanel.selected?.id);
    const next = at < 0 ? 0 : Math.max(0, Math.min(list.length - 1, at + (e.key === "j" ? 1 : -1)));
    void selectAlert(list[next], true);
    document.querySelector(`[data-alert-id="${CSS.escape(list[next].id)}"]`)?.scrollIntoView({ block: "nearest" });
    return;
  }
  const action = TRIAGE_KEYS[e.key];
  if (action && alertPanel.selected) void alertPanel.triage(alertPanel.selected, action);
  else if (action && incidentPanel.selected) void incidentPanel.triage(incidentPanel.selected, action);
});
$("help-button").addEventListener("click", () => ($("help") as HTMLDialogElement).showModal());

/** Side panels fold away to a tab (the choice is kept); small screens start with the layer
 * panel folded so the map keeps most of the width. */
const PANELS_KEY = "picket.panels";
function togglePanel(id: "layers" | "side", collapsed?: boolean): void {
  const el = $(id);
  const c = collapsed ?? !el.classList.contains("collapsed");
  el.classList.toggle("collapsed", c);
  const btn = el.querySelector<HTMLButtonElement>(":scope > button.collapse");
  if (btn) btn.textContent = (id === "layers") === c ? "▸" : "◂";
  let saved: Record<string, boolean> = {};
  try {
    saved = JSON.parse(localStorage.getItem(PANELS_KEY) ?? "{}");
  } catch {
    /* defaults */
  }
  if (collapsed === undefined) localStorage.setItem(PANELS_KEY, JSON.stringify({ ...saved, [id]: c }));
}
function restorePanels(): void {
  let saved: Record<string, boolean> = {};
  try {
    saved = JSON.parse(localStorage.getItem(PANELS_KEY) ?? "{}");
  } catch {
    /* defaults */
  }
  togglePanel("layers", saved.layers ?? window.innerWidth < 1500);
  togglePanel("side", saved.side ?? false);
  document.addEventListener("click", (e) => {
    const b = (e.target as HTMLElement).closest?.("button.collapse") as HTMLButtonElement | null;
    if (b?.dataset.collapse) togglePanel(b.dataset.collapse as "layers" | "side");
  });
}

// --- search ---------------------------------------------------------------------------
const search = new SearchBox($("search-box"), store, (hit: Hit) => {
  if (hit.lat !== null && hit.lon !== null) {
    map.flyTo({ center: [hit.lon, hit.lat], zoom: Math.max(map.getZoom(), 9), speed: 1.8 });
  }
  if (hit.id !== null) selectTrack(hit.id);
});

// --- time -----------------------------------------------------------------------------
const channel = new TrackChannel(store, {
  onFrame: (changed) => {
    logCost(stats.applyLog, channel.applyMs);
    const replay = (store.frameFlags & FRAME_REPLAY) !== 0;
    timeBar.show(store.time, replay);
    alertPanel.cutoff = replay ? store.time : Infinity;
    alertPanel.setPictureTime(Number.isFinite(store.time) ? isoOf(store.time) : null);
    if (state.selectedTrack) {
      const id = store.bySubject.get(state.selectedTrack.subject);
      const t = id === undefined ? null : store.view(id);
      if (t) state.selectedTrack = t;
      trackPanel.tick(t, store.time);
    }
    if (replay) {
      alertPanel.changed();
      replayStep();
    }
    stats.ready = true;
    // an idle picture's ticks redraw nothing: a redraw is a full frame of the map's canvas,
    // a busy GPU process's work whether or not a pixel changes (SwiftShader: a third of a core)
    if (changed) schedule();
  },
  onReplay: (msg) => {
    if (msg.state === "start") {
      replayRefetch = 0;
      alertPanel.cutoff = seconds(msg.since);
      gnssRefetch.cancel(); // the replay sends its own cells, as of each step
    }
    alertPanel.changed();
  },
  // the alerts as they were at the replay's time, not as they ended
  onReplayAlerts: (alerts, time, reset) => {
    if (reset || !alertPanel.past) alertPanel.startPast(alerts, time);
    else alertPanel.updatePast(alerts, time);
  },
  onReplayLayer: (layer, data) => {
    if (layer !== "gnss") return;
    state.gnss = data;
    schedule();
  },
  onState: (s) => {
    stats.channel = s;
    status();
  },
});

const timeBar = new TimeBar($("timebar"), {
  live: () => {
    channel.send({ type: "live" });
    // restating the view makes the server re-create it (see NOTES-for-server.md, item 1)
    channel.send({ type: "view", bbox: null, domain: null });
    alertPanel.endPast();
    void refreshGnss();
    incidentRefetch.cancel(); // the incidents as they are now (a replay step may be queued)
    void incidentPanel.load(alertPanel.stored);
  },
  replay: (s, u, speed) => channel.send({ type: "replay", since: isoOf(s), until: isoOf(u), speed }),
});

function status(): void {
  $("status").textContent =
    `${store.count.toLocaleString("en")} tracks · ${timeBar.stored ? "stored run · " : ""}tracks ${stats.channel} · alerts ${alertPanel.streamState} · ${stats.fps.toFixed(0)} fps`;
}

// --- static layers --------------------------------------------------------------------
async function loadLayer(name: "zones" | "infrastructure"): Promise<void> {
  try {
    state[name] = await api<FeatureCollection>(`layers/${name}`);
    labelSources++;
    placeMapLabels();
  } catch (e) {
    console.warn(`layer ${name}:`, e);
  }
}

/** Harbours and anchorages the server learned from the traffic (refetched each minute and on
 * replay steps: they grow as ships keep coming to rest in the same places). */
async function loadHarbours(): Promise<void> {
  try {
    state.harbours = await api<FeatureCollection>("layers/harbours");
    schedule();
  } catch (e) {
    if (!(e instanceof ApiError)) console.warn("harbours:", e);
  }
}

const gnssRefetch = settle(2000);
/** Refetch the interference cells; bursts of GNSS alerts are folded into one request. */
function refreshGnss(since?: string, until?: string, delayMs = 500): void {
  gnssRefetch.ask(delayMs, async () => {
    try {
      const p: Record<string, string> = {};
      if (since) p.since = since;
      if (until) p.until = until;
      state.gnss = await api<FeatureCollection>("layers/gnss", { params: p });
      schedule();
    } catch (e) {
      console.warn("gnss cells:", e);
    }
  });
}

// --- auth -----------------------------------------------------------------------------
function askToken(): void {
  const dlg = $("token-dialog") as HTMLDialogElement;
  if (dlg.open) return;
  const input = dlg.querySelector("input")!;
  input.value = token() ?? "";
  dlg.showModal();
  dlg.onclose = () => {
    if (dlg.returnValue === "ok" && input.value.trim()) {
      setToken(input.value.trim());
      location.reload();
    }
  };
}
whenUnauthorized(askToken);

// --- start ----------------------------------------------------------------------------
/** Satellites over the area at the picture's time (refetched each minute and in replay). */
let skyRetry: number | undefined;
async function loadSky(at?: string, retryMs = 2000): Promise<void> {
  clearTimeout(skyRetry);
  try {
    const fc = await api<FeatureCollection>("layers/satellites", at ? { params: { at } } : {});
    const had = state.sky;
    state.sky = fc.features?.length ? fc : null;
    if (had || state.sky) schedule(); // an empty sky asked again draws nothing new
    // a picture that has no time yet (the first batch not in) or a catalogue still being
    // propagated answers empty: ask again soon rather than at the next minute
    if (!state.sky && !at && retryMs < 60_000) skyRetry = window.setTimeout(() => void loadSky(undefined, retryMs * 1.5), retryMs);
  } catch {
    /* an older server: the frames' own satellites only */
  }
}

async function loadCountries(): Promise<void> {
  try {
    const r = await fetch(new URL("basemap/countries.geojson", document.baseURI));
    if (r.ok) state.countries = (await r.json()) as FeatureCollection;
    labelSources++;
    placeMapLabels();
  } catch (e) {
    console.warn("country names:", e);
  }
}

async function start(): Promise<void> {
  layerToggles();
  restorePanels();
  if (state.readable) void loadCountries();
  if (state.app6) void state.milAtlas.load();
  if (synthetic > 0) {
    alertPanel.role = "viewer";
    runSynthetic(channel, synthetic);
    stats.channel = `synthetic ${synthetic}`;
    return;
  }
  try {
    const health = await api<Health>("health");
    alertPanel.role = health.role;
    incidentPanel.role = health.role;
    watchPanel.role = health.role;
    if (health.mode === "stored") {
      // a stored run: its own time, and its alerts as of that time (the server counts the same)
      timeBar.stored = true;
      alertPanel.stored = alertPanel.at = health.event_time;
      alertPanel.setPictureTime(health.event_time);
      timeBar.show(seconds(health.event_time), false);
    } else if (health.event_time) timeBar.show(seconds(health.event_time), false);
    $("who").textContent = `${health.who} (${health.role})`;
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) $("status").textContent = `server unreachable: ${e}`;
    return;
  }
  channel.connect();
  alertPanel.connect();
  void loadCodes().then((ok) => {
    if (ok && alertPanel.selected) void alertPanel.open(alertPanel.selected, false);
  });
  refreshGnss(undefined, undefined, 0);
  void loadSky();
  window.setInterval(() => {
    if (state.visible.harbours) void loadHarbours();
    if (state.visible.satellites) void loadSky(timeBar.replaying && Number.isFinite(store.time) ? isoOf(store.time) : undefined);
  }, 60_000);
  await Promise.allSettled([alertPanel.load(), loadLayer("zones"), loadLayer("infrastructure"),
    incidentPanel.load(alertPanel.stored), loadHarbours(), watchPanel.load()]);
}

// hooks for the browser tests and the benchmark
(window as unknown as { __picket: unknown }).__picket = {
  store, state, stats, alertPanel, trackPanel, map, channel, overlay, parseFrame, home, drawNow,
  TrackStore, groundPaths, pickedTrackId, encodeFrame, clusters: () => lastClusters, colours: { ALT_LUT, SHIP_RGB, SHIP_CLASSES },
  search, selectAlert, selectTrack, incidentPanel, selectIncident, watchPanel, loadHarbours, togglePanel, setUnits, placeMapLabels, placeNames,
  labelBoxes: () => state.mapLabels.map((l) => {
    const p = map.project(l.position);
    return { text: l.text, kind: l.kind, box: labelBox(l, p.x, p.y, 0) };
  }),
};
void start();
