/**
 * Incidents across domains (`/api/incidents`, serve/incidents.py): alerts close in space and
 * time joined into one card with a place, a map extent, a timeline and its own triage. The
 * list sits above the alert queue; a card opens in the detail drawer. A server without the
 * endpoint (older, or no store) simply shows no incidents section.
 */
import { type Alert, api, ApiError } from "./api";
import { clear, h } from "./dom";
import { swatch } from "./symbols";
import { dateTime, distance } from "./units";

export interface Incident {
  id: string;
  summary: string;
  severity: string;
  status: string;
  time: string;
  last_time: string;
  domains: string[];
  kinds: string[];
  subjects: string[];
  alerts: string[];
  lat: number | null;
  lon: number | null;
  extent?: { bbox?: [number, number, number, number] };
  place?: { text?: string };
  timeline?: { alert_id: string; domain: string; kind: string; subject: string; summary: string; time: string; what: string }[];
  triage?: { state: string; assignee?: string | null; who?: string | null };
  overflights?: Overflight[];
}

/** A satellite that could see a place (serve/satellites.py): when, and how high it rose. */
export interface Overflight {
  norad?: number;
  name?: string;
  start?: string;
  end?: string;
  max_elevation_deg?: number;
}

/** "Satellites overhead" for an alert's or incident's place, or nothing. */
export function overflightsView(list: Overflight[] | undefined): HTMLElement | null {
  if (!list?.length) return null;
  const t = (iso?: string) => (iso ? dateTime(iso).slice(11, 16) : "?");
  return h("section", { class: "overflights", "data-testid": "overflights" },
    h("h3", {}, `Satellites overhead (${list.length})`),
    h("ul", {}, ...list.slice(0, 12).map((o) =>
      h("li", {}, `${o.name ?? `NORAD ${o.norad}`} · ${t(o.start)}–${t(o.end)}Z` +
        (typeof o.max_elevation_deg === "number" ? ` · up to ${Math.round(o.max_elevation_deg)}°` : "")))),
    list.length > 12 ? h("p", { class: "muted" }, `and ${list.length - 12} more`) : null);
}

const SEVERITY_CSS: Record<string, string> = { critical: "#ff4040", warning: "#ffb020", info: "#78beff" };

export interface IncidentHooks {
  onSelect(i: Incident): void;
  onAlert(alertId: string): void;
  onClose(): void;
}

export class IncidentPanel {
  incidents: Incident[] = [];
  selected: Incident | null = null;
  available = false;
  /** The time the list is as of (null: now). */
  at: string | null = null;
  private seq = 0;
  role: "viewer" | "operator" = "viewer";
  private list: HTMLElement;
  private count: HTMLElement;

  constructor(
    private root: HTMLElement,
    private detail: HTMLElement,
    private hooks: IncidentHooks,
  ) {
    this.count = h("span", { class: "count" });
    this.list = h("ol", { class: "incident-list", "data-testid": "incident-list" });
    root.append(h("details", { class: "incidents", open: true },
      h("summary", {}, h("h2", {}, "Incidents "), this.count), this.list));
    root.hidden = true;
  }

  /** Fetch the incidents; hides the section when the server has none to offer. */
  async load(at?: string | null): Promise<void> {
    const seq = ++this.seq;
    try {
      // `at`: the incidents as they were then (a replay's or a stored run's time)
      const res = await api<{ incidents: Incident[] }>("incidents", { params: at ? { at, limit: "200" } : { limit: "200" } });
      if (seq !== this.seq) return; // a newer request went out meanwhile
      this.available = true;
      this.at = at ?? null;
      this.incidents = res.incidents;
      if (this.selected) {
        const again = this.incidents.find((i) => i.id === this.selected!.id);
        if (again) this.selected = { ...this.selected, ...again };
      }
      this.render();
    } catch (e) {
      this.available = false;
      this.root.hidden = true;
      if (!(e instanceof ApiError)) console.warn("incidents:", e);
    }
  }

  render(): void {
    this.root.hidden = !this.available || this.incidents.length === 0;
    const open = this.incidents.filter((i) => i.status === "open").length;
    this.count.textContent = `${this.incidents.length} (${open} open)`;
    clear(this.list);
    for (const i of this.incidents) {
      const state = i.triage?.state ?? "new";
      this.list.append(h("li", {
        class: `incident sev-${i.severity} ${i.status} ${this.selected?.id === i.id ? "selected" : ""}`,
        "data-incident-id": i.id, tabindex: "0", role: "button",
        onclick: () => this.hooks.onSelect(i),
        onkeydown: (e: Event) => {
          if ((e as KeyboardEvent).key === "Enter") this.hooks.onSelect(i);
        },
      },
      swatch(i.severity, SEVERITY_CSS[i.severity] ?? "#fff", 16),
      h("span", { class: "what" }, `${i.domains.join(" + ")} · ${i.alerts.length} alerts`),
      h("time", { datetime: i.time }, dateTime(i.time).slice(11)),
      h("span", { class: `triage t-${state}`, "data-triage": state }, state.replace("_", " ")),
      h("p", { class: "summary" }, i.place?.text ?? i.summary)));
    }
  }

  /** Open one incident in the drawer (the full record: overflights too). */
  async open(i: Incident): Promise<void> {
    this.selected = i;
    this.renderDetail(i);
    this.render();
    try {
      const full = await api<Incident>(`incidents/${encodeURIComponent(i.id)}`);
      if (this.selected?.id !== i.id) return;
      this.selected = full;
      this.renderDetail(full);
    } catch (e) {
      console.warn("incident:", e);
    }
  }

  close(): void {
    this.selected = null;
    clear(this.detail);
    this.detail.hidden = true;
    this.render();
  }

  async triage(i: Incident, action: string): Promise<void> {
    if (this.role !== "operator") return;
    const status = this.detail.querySelector(".triage-status");
    try {
      const rec = await api<Incident>(`incidents/${encodeURIComponent(i.id)}/triage`, { method: "POST", body: { action } });
      this.selected = { ...i, ...rec };
      const k = this.incidents.findIndex((x) => x.id === i.id);
      if (k >= 0) this.incidents[k] = { ...this.incidents[k], ...rec };
      this.renderDetail(this.selected);
      this.render();
    } catch (e) {
      if (status) status.textContent = String(e);
    }
  }

  private renderDetail(i: Incident): void {
    const d = this.detail;
    clear(d);
    d.hidden = false;
    const state = i.triage?.state ?? "new";
    const b = (action: string, label: string) =>
      h("button", { "data-action": action, onclick: () => void this.triage(i, action) }, label);
    const bbox = i.extent?.bbox;
    const size = bbox
      ? `${distance(haversine(bbox[1], bbox[0], bbox[1], bbox[2]), "other")} × ${distance(haversine(bbox[1], bbox[0], bbox[3], bbox[0]), "other")}`
      : "–";
    d.append(
      h("header", {},
        swatch(i.severity, SEVERITY_CSS[i.severity] ?? "#fff", 22),
        h("h2", {}, `INCIDENT · ${i.domains.join(" + ")}`),
        h("button", { class: "close", "aria-label": "close", onclick: () => this.hooks.onClose() }, "×"),
        this.role === "operator"
          ? h("section", { class: "triage-controls", "data-testid": "incident-triage" },
              h("div", { class: "buttons" }, b("acknowledge", "Acknowledge"), b("resolve", "Resolve"),
                b("false_alarm", "False alarm"), b("reopen", "Reopen")),
              h("span", { class: "triage-status", role: "status" }))
          : h("p", { class: "muted triage-controls" }, "Read-only: triage needs an operator token."),
      ),
      h("section", { class: "incident-detail", "data-testid": "incident-detail", "data-incident-id": i.id },
        h("p", { class: "summary" }, i.summary),
        h("dl", { class: "facts" },
          h("dt", {}, "place"), h("dd", {}, i.place?.text ?? "–"),
          h("dt", {}, "extent"), h("dd", {}, size),
          h("dt", {}, "from"), h("dd", {}, dateTime(i.time)),
          h("dt", {}, "until"), h("dd", {}, dateTime(i.last_time)),
          h("dt", {}, "status"), h("dd", {}, i.status),
          h("dt", {}, "triage"), h("dd", { "data-testid": "incident-triage-state", "data-triage": state },
            `${state.replace("_", " ")}${i.triage?.who ? ` by ${i.triage.who}` : ""}`),
          h("dt", {}, "subjects"), h("dd", {}, i.subjects.join(", ")),
        ),
        h("h3", {}, "Timeline"),
        h("ol", { class: "timeline", "data-testid": "incident-timeline" },
          ...(i.timeline ?? []).map((t) =>
            h("li", { "data-alert-id": t.alert_id, onclick: () => this.hooks.onAlert(t.alert_id) },
              h("time", {}, dateTime(t.time).slice(11)), " ", h("b", {}, `${t.what} ${t.kind}`), " ",
              h("span", { class: "muted" }, t.subject), h("div", { class: "tl-summary" }, t.summary)))),
        overflightsView(i.overflights),
      ),
    );
  }
}

/** Metres between two points (for the extent's size). */
export function haversine(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const r = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * r) / 2) ** 2 +
    Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(a));
}

/** The place an area alert names (GNSS interference or spoofing areas), if any. */
export function alertPlace(a: Alert): string | null {
  const p = (a.evidence as Record<string, unknown> | null)?.place as { text?: unknown } | undefined;
  return typeof p?.text === "string" ? p.text : null;
}

/** An alert's or incident's map extent as [[w, s], [e, n]], if it has one. */
export function extentOf(x: { evidence?: unknown; extent?: { bbox?: number[] } }): [[number, number], [number, number]] | null {
  const e = x.extent ?? ((x.evidence as Record<string, unknown> | null)?.extent as { bbox?: number[] } | undefined);
  const b = e?.bbox;
  return Array.isArray(b) && b.length === 4 && b.every((v) => typeof v === "number") ? [[b[0], b[1]], [b[2], b[3]]] : null;
}
