/**
 * The alert queue: newest first, kept current by the SSE stream (which resumes by last id on
 * its own), with the evidence and triage of the chosen alert. Rendering is batched (50 ms) so a
 * burst of alerts costs one redraw.
 *
 * In replay the queue shows a second set: the alerts as they were at the picture's time (the
 * server sends them as of each step, docs/api.md), never their final state; the live set keeps
 * following the stream underneath and comes back with "Live".
 */
import { type Alert, api, apiUrl, isoOf, seconds } from "./api";
import { clear, clock, evidenceView, h } from "./dom";
import { swatch } from "./symbols";
import { alertPlace, type Overflight, overflightsView } from "./incidents";
import { dateTime, evidenceRows, position } from "./units";

const SEVERITY_CSS: Record<string, string> = { critical: "#ff4040", warning: "#ffb020", info: "#78beff" };
const SEVERITY_RANK: Record<string, number> = { info: 0, warning: 1, critical: 2 };
const TRIAGE_LABEL: Record<string, string> = {
  new: "new",
  acknowledged: "ack",
  assigned: "assigned",
  resolved: "resolved",
  false_alarm: "false alarm",
};
const MAX_ROWS = 400;

export interface AlertPanelHooks {
  onSelect(a: Alert): void;
  onChange(): void;
  onGnss(): void;
  onLayers(layer: string): void;
  /** An incident was triaged, or alerts changed that incidents join. */
  onIncidents?(): void;
  /** The watchlist changed on the server (another tab, the API): the event, or null when the
   * stream could not resume and the list must be read again. */
  onWatchlist?(event: unknown): void;
}

export class AlertPanel {
  live = new Map<string, Alert>();
  /** The replayed alerts as of the picture's time, while replaying. */
  past: Map<string, Alert> | null = null;
  /** ISO time the panel's alerts are as of: the replay's time, or a stored run's time. */
  at: string | null = null;
  /** The picture's time (ISO): rows show the date when it is another day. */
  pictureTime: string | null = null;

  /** A new picture time: rows are redrawn when its day changes (their dates depend on it). */
  setPictureTime(iso: string | null): void {
    const day = (t: string | null) => t?.slice(0, 10) ?? null;
    const changed = day(iso) !== day(this.pictureTime);
    this.pictureTime = iso;
    if (changed) this.changed();
  }
  selected: Alert | null = null;
  role: "viewer" | "operator" = "viewer";
  /** In replay, only alerts first fired at or before the picture's time are shown. */
  cutoff = Infinity;
  stream: EventSource | null = null;
  streamState = "connecting";
  private pending = false;
  private list: HTMLElement;
  private detail: HTMLElement;
  private count: HTMLElement;
  private filters = { openOnly: false, minSeverity: 0 };

  constructor(
    private root: HTMLElement,
    private detailRoot: HTMLElement,
    private hooks: AlertPanelHooks,
  ) {
    this.count = h("span", { class: "count" });
    const sev = h(
      "select",
      { "aria-label": "minimum severity", onchange: (e: Event) => this.setSeverity(e) },
      h("option", { value: "0" }, "all"),
      h("option", { value: "1" }, "warning+"),
      h("option", { value: "2" }, "critical"),
    );
    const open = h("input", { type: "checkbox", "aria-label": "open only", onchange: (e: Event) => {
      this.filters.openOnly = (e.target as HTMLInputElement).checked;
      this.render();
    } });
    this.list = h("ol", { class: "alert-list", "data-testid": "alert-list" });
    this.detail = detailRoot;
    root.append(
      h("header", {}, h("h2", {}, "Alerts "), this.count,
        h("div", { class: "filters" }, h("label", {}, open, " open only"), sev)),
      this.list,
    );
  }

  /** The alerts shown now: the replay's as of its time, else the live set. */
  get alerts(): Map<string, Alert> {
    return this.past ?? this.live;
  }

  /** Replay started: its alerts as of the window's start replace the list. */
  startPast(alerts: Alert[], time: string): void {
    this.past = new Map(alerts.map((a) => [a.id, a]));
    this.at = time;
    if (this.selected && !this.past.has(this.selected.id)) this.closeDetail();
    // drawn at once, not in the next render batch: the REPLAY label shows with the first
    // replay frame, and the list must never show the live set under it
    this.flush();
  }

  /** A replay step: these alerts changed, each as of `time`. */
  updatePast(alerts: Alert[], time: string): void {
    if (!this.past) return;
    this.at = time;
    for (const a of alerts) {
      this.past.set(a.id, a);
      if (this.selected?.id === a.id) {
        this.selected = a;
        this.renderDetail(a);
      }
    }
    this.changed();
  }

  /** Back to live. */
  endPast(): void {
    this.past = null;
    this.at = this.stored;
    this.cutoff = Infinity;
    if (this.selected) {
      const a = this.live.get(this.selected.id);
      if (a) void this.open(a);
      else this.closeDetail();
    }
    this.flush();
  }

  /** A stored run (`picket serve` over a store): the list is as of the run's time. */
  stored: string | null = null;

  private setSeverity(e: Event): void {
    this.filters.minSeverity = Number((e.target as HTMLSelectElement).value);
    this.render();
  }

  async load(): Promise<void> {
    const params: Record<string, string> = { limit: "1000" };
    if (this.stored) params.at = this.stored;
    const res = await api<{ alerts: Alert[] }>("alerts", { params });
    for (const a of res.alerts) this.live.set(a.id, a);
    // drawn at once: the first map frames can hold animation frames back for seconds
    this.render();
    this.hooks.onChange();
  }

  connect(): void {
    this.stream?.close();
    const es = new EventSource(apiUrl("alerts/stream", {}, { stream: true }));
    this.stream = es;
    es.onopen = () => (this.streamState = "live");
    es.onerror = () => {
      this.streamState = "reconnecting";
      // a refused stream (503 over the server's cap, with Retry-After: 5) is not retried by
      // the browser itself: try again after that long, resuming from the last event id
      if (es.readyState === EventSource.CLOSED && this.stream === es) {
        setTimeout(() => {
          if (this.stream === es) {
            this.connect();
            void this.load();
          }
        }, 5000);
      }
    };
    es.addEventListener("alert", (e) => {
      const d = JSON.parse((e as MessageEvent).data) as { event: string; alert: Alert };
      this.upsert(d.alert);
      if (d.alert.kind.startsWith("gnss.interference")) this.hooks.onGnss();
      this.hooks.onIncidents?.();
    });
    es.addEventListener("triage", (e) => {
      const d = JSON.parse((e as MessageEvent).data) as { alert: Alert };
      this.upsert(d.alert);
      if (this.selected?.id === d.alert.id) void this.open(d.alert, false);
    });
    es.addEventListener("incident", () => this.hooks.onIncidents?.());
    es.addEventListener("layers", (e) => {
      this.hooks.onLayers(JSON.parse((e as MessageEvent).data).layer);
    });
    es.addEventListener("watchlist", (e) => this.hooks.onWatchlist?.(JSON.parse((e as MessageEvent).data)));
    es.addEventListener("reset", () => {
      void this.load();
      this.hooks.onWatchlist?.(null);
    });
  }

  /** A live alert event (SSE): the live set; what a replay shows is left as it was then. */
  upsert(a: Alert): void {
    const old = this.live.get(a.id);
    // SSE alert events may not carry triage; keep what we know
    if (old?.triage && !a.triage) a.triage = old.triage;
    if (old?.log && !a.log) a.log = old.log;
    this.live.set(a.id, a);
    if (this.past) return;
    if (this.selected?.id === a.id) this.selected = a;
    this.changed();
  }

  /** Alerts as shown: filters and replay cut-off applied, newest first. */
  visible(): Alert[] {
    const out: Alert[] = [];
    for (const a of this.alerts.values()) {
      if (seconds(a.time) > this.cutoff) continue;
      if (this.filters.openOnly && a.status !== "open") continue;
      if ((SEVERITY_RANK[a.severity] ?? 0) < this.filters.minSeverity) continue;
      out.push(a);
    }
    return out.sort((x, y) => (x.time < y.time ? 1 : x.time > y.time ? -1 : x.id < y.id ? -1 : 1));
  }

  /** Draw now (a change of mode); a batch already pending finds nothing more to do. */
  flush(): void {
    this.render();
    this.hooks.onChange();
  }

  changed(): void {
    if (this.pending) return;
    this.pending = true;
    setTimeout(() => {
      this.pending = false;
      this.render();
      this.hooks.onChange();
    }, 50);
  }

  render(): void {
    const shown = this.visible();
    const open = shown.filter((a) => a.status === "open").length;
    this.count.textContent = `${shown.length} (${open} open)`;
    clear(this.list);
    const frag = document.createDocumentFragment();
    for (const a of shown.slice(0, MAX_ROWS)) frag.append(this.row(a));
    this.list.append(frag);
  }

  private row(a: Alert): HTMLElement {
    const state = a.triage?.state ?? "new";
    const li = h(
      "li",
      {
        class: `alert sev-${a.severity} ${a.status} ${this.selected?.id === a.id ? "selected" : ""}`,
        "data-alert-id": a.id,
        "data-severity": a.severity,
        tabindex: "0",
        role: "button",
        onclick: () => this.hooks.onSelect(a),
        onkeydown: (e: Event) => {
          if ((e as KeyboardEvent).key === "Enter") this.hooks.onSelect(a);
        },
      },
      swatch(a.severity, SEVERITY_CSS[a.severity] ?? "#fff", 18),
      h("span", { class: "sev" }, a.severity.toUpperCase()),
      h("span", { class: "kind" }, a.kind),
      h("time", { datetime: a.time }, clock(a.time, this.pictureTime ?? a.last_time)),
      h("span", { class: "subject" }, `${alertPlace(a) ?? a.subject}${a.status === "closed" ? " · closed" : ""}`),
      h("span", { class: `triage t-${state}`, "data-triage": state }, TRIAGE_LABEL[state] ?? state),
      h("p", { class: "summary" }, a.summary),
    );
    return li;
  }

  /** Show an alert's evidence and triage; fetches the triage log. */
  async open(a: Alert, fetchFull = true): Promise<void> {
    this.selected = a;
    this.renderDetail(a);
    this.render();
    if (!fetchFull) return;
    try {
      // in replay (or a stored run) the evidence and triage log as of the picture's time
      const at = this.past && Number.isFinite(this.cutoff) ? isoOf(this.cutoff) : this.past ? this.at : this.stored;
      const full = await api<Alert>(`alerts/${encodeURIComponent(a.id)}`, at ? { params: { at } } : {});
      if (this.selected?.id !== a.id) return;
      this.alerts.set(full.id, full);
      this.selected = full;
      this.renderDetail(full);
    } catch (e) {
      this.detail.append(h("p", { class: "error" }, `could not load the triage log: ${e}`));
    }
  }

  closeDetail(): void {
    this.selected = null;
    clear(this.detail);
    this.detail.hidden = true;
    this.render();
    this.hooks.onChange();
  }

  private renderDetail(a: Alert): void {
    const d = this.detail;
    clear(d);
    d.hidden = false;
    const state = a.triage?.state ?? "new";
    const place = a.lat === null || a.lon === null ? "–" : position(a.lat, a.lon);
    d.append(
      h("header", {},
        swatch(a.severity, SEVERITY_CSS[a.severity] ?? "#fff", 22),
        h("h2", {}, `${a.severity.toUpperCase()} · ${a.kind}`),
        h("button", { class: "close", "aria-label": "close", onclick: () => this.closeDetail() }, "×"),
        // triage first and always in view: the drawer scrolls under it
        this.triageControls(a),
      ),
      h("section", { class: "alert-detail", "data-testid": "alert-detail", "data-alert-id": a.id },
        h("p", { class: "summary" }, a.summary),
        h("dl", { class: "facts" },
          h("dt", {}, "subject"), h("dd", {}, a.subject),
          h("dt", {}, "status"), h("dd", {}, `${a.status}${a.closed_time ? ` (${dateTime(a.closed_time)})` : ""}`),
          h("dt", {}, "first"), h("dd", {}, dateTime(a.time)),
          h("dt", {}, "last"), h("dd", {}, `${dateTime(a.last_time)} · ${a.updates} update${a.updates === 1 ? "" : "s"}`),
          h("dt", {}, "position"), h("dd", {}, place),
          h("dt", {}, "triage"), h("dd", { "data-testid": "triage-state", "data-triage": state },
            `${TRIAGE_LABEL[state] ?? state}${a.triage?.assignee ? ` → ${a.triage.assignee}` : ""}${a.triage?.who ? ` by ${a.triage.who}` : ""}`),
        ),
        h("h3", {}, "Evidence"),
        h("div", { class: "evidence-box", "data-testid": "evidence" },
          evidenceRows(a.evidence as Record<string, unknown>, a.kind),
          h("details", { class: "raw" }, h("summary", {}, "raw data"), evidenceView(a.evidence))),
        overflightsView((a as Alert & { overflights?: Overflight[] }).overflights),
        a.log?.length
          ? h("section", { class: "log" }, h("h3", {}, "Triage log"),
              h("ol", {}, ...a.log.map((e) =>
                h("li", {}, `${clock(e.time)} ${e.who}: ${e.action}${e.assignee ? ` → ${e.assignee}` : ""}${e.comment ? ` — ${e.comment}` : ""}`))))
          : null,
      ),
    );
  }

  /** Triage an alert (buttons and keyboard shortcuts); `body` adds an assignee or comment. */
  async triage(a: Alert, action: string, extra: Record<string, string> = {}): Promise<Alert | null> {
    if (this.role !== "operator") return null;
    const status = this.detail.querySelector(".triage-status");
    if (status) status.textContent = "…";
    try {
      const updated = await api<Alert>(`alerts/${encodeURIComponent(a.id)}/triage`, { method: "POST", body: { action, ...extra } });
      this.live.set(updated.id, updated);
      this.selected = updated;
      this.renderDetail(updated);
      this.render();
      return updated;
    } catch (e) {
      const st = this.detail.querySelector(".triage-status");
      if (st) st.textContent = String(e);
      return null;
    }
  }

  private triageControls(a: Alert): HTMLElement {
    if (this.role !== "operator") {
      return h("p", { class: "muted triage-controls" }, "Read-only: triage needs an operator token.");
    }
    const who = h("input", { type: "text", placeholder: "assignee", "aria-label": "assignee", size: "10" });
    const note = h("input", { type: "text", placeholder: "comment", "aria-label": "comment" });
    const status = h("span", { class: "triage-status", role: "status" });
    const act = (action: string) => async () => {
      const body: Record<string, string> = {};
      if (action === "assign") {
        if (!who.value.trim()) return void (status.textContent = "name an assignee");
        body.assignee = who.value.trim();
      }
      if (action === "comment") {
        if (!note.value.trim()) return void (status.textContent = "write a comment");
        body.comment = note.value.trim();
      } else if (note.value.trim()) body.comment = note.value.trim();
      await this.triage(a, action, body);
    };
    const b = (action: string, label: string, key?: string) =>
      h("button", { "data-action": action, onclick: act(action), title: key ? `${label} (${key})` : label },
        key ? h("u", {}, label[0]) : null, key ? label.slice(1) : label);
    return h("section", { class: "triage-controls", "data-testid": "triage" },
      h("div", { class: "buttons" },
        b("acknowledge", "Acknowledge", "a"), b("resolve", "Resolve", "r"), b("false_alarm", "False alarm", "f"),
        b("reopen", "Reopen", "o")),
      h("details", { class: "more" }, h("summary", {}, "assign · comment"),
        h("div", { class: "row" }, who, b("assign", "Assign")),
        h("div", { class: "row" }, note, b("comment", "Comment"))),
      status,
    );
  }
}
