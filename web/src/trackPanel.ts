/**
 * The chosen track: identity, static data, its trail (stored history joined with the live
 * points) and the alerts on it. Live kinematics come from the TrackStore each frame; the
 * REST detail is fetched once per selection.
 */
import { type Alert, api, seconds, type Track } from "./api";
import { clear, clock, h } from "./dom";
import type { TrackView } from "./trackStore";
import { squawk } from "./codes";
import { altitude, dateTime, type Domain, evidenceRows, position, speed } from "./units";

const DOMAIN_NAME: Record<number, string> = { 1: "air", 2: "maritime", 3: "space", 4: "em" };

export interface TrackPanelHooks {
  alertsOf(subject: string): Alert[];
  onAlert(a: Alert): void;
  onTrail(trail: [number, number][] | null): void;
  onClose(): void;
  /** The subject's live state and the picture's time. */
  current(subject: string): [TrackView | null, number];
  /** In replay, the picture's time (ISO): detail and trail as of then, not as of now. */
  at(): string | null;
  /** What "watch" does for a subject (null: no button, e.g. a viewer or no watchlist). */
  watch?(subject: string, label: string): { watched: boolean; go: () => Promise<boolean> } | null;
}

export class TrackPanel {
  subject: string | null = null;
  detail: Track | null = null;
  trail: [number, number][] = [];
  private lastTime = -Infinity;
  private live: HTMLElement | null = null;
  private identity: string | null = null;

  constructor(
    private root: HTMLElement,
    private hooks: TrackPanelHooks,
  ) {}

  async show(t: TrackView): Promise<void> {
    this.subject = t.subject;
    this.detail = null;
    this.trail = [];
    this.lastTime = -Infinity;
    this.render(t);
    const subject = t.subject;
    const enc = encodeURIComponent(subject);
    const at = this.hooks.at();
    try {
      const [one, hist] = await Promise.all([
        api<Track>(`tracks/${enc}`, at ? { params: { at } } : {}),
        api<{ points: { time: string; lat: number; lon: number }[] }>(`tracks/${enc}/history`,
          at ? { params: { until: at } } : {}).catch(() => ({ points: [] })),
      ]);
      if (this.subject !== subject) return;
      this.detail = one;
      const pts = [...hist.points, ...(one.history ?? [])]
        .map((p) => ({ t: seconds(p.time), lon: p.lon, lat: p.lat }))
        .filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon))
        .sort((a, b) => a.t - b.t);
      // live points that arrived while we waited are newer; the live position is re-added below
      this.trail = [];
      this.lastTime = -Infinity;
      for (const p of pts) {
        if (p.t > this.lastTime) {
          this.trail.push([p.lon, p.lat]);
          this.lastTime = p.t;
        }
      }
      this.hooks.onTrail(this.trail);
      const [now, time] = this.hooks.current(subject);
      this.render(now ?? t);
      this.tick(now, time);
    } catch (e) {
      this.root.append(h("p", { class: "error" }, `no detail for ${subject}: ${e}`));
    }
  }

  /** Called every frame with the live state: moves the trail on and refreshes kinematics. */
  tick(t: TrackView | null, time: number): void {
    if (!this.subject || !t || t.subject !== this.subject) return;
    if (t.identity !== this.identity) this.render(t); // an alert opened or closed on it
    if (time > this.lastTime) {
      this.trail.push([t.lon, t.lat]);
      this.lastTime = time;
      if (this.trail.length > 5000) this.trail.splice(0, this.trail.length - 5000);
      this.hooks.onTrail(this.trail);
    }
    if (this.live) this.fillLive(this.live, t);
  }

  /** Draw again (the units changed). */
  refresh(): void {
    if (!this.subject) return;
    const [now] = this.hooks.current(this.subject);
    if (now) this.render(now);
  }

  close(): void {
    this.subject = null;
    this.detail = null;
    clear(this.root);
    this.root.hidden = true;
    this.hooks.onTrail(null);
  }

  private fillLive(el: HTMLElement, t: TrackView): void {
    const dom = (DOMAIN_NAME[t.domain] ?? "other") as Domain;
    clear(el);
    el.append(h("dt", {}, "position"), h("dd", {}, position(t.lat, t.lon)));
    if (dom !== "maritime") el.append(h("dt", {}, "altitude"), h("dd", { "data-testid": "altitude" }, altitude(t.alt, dom)));
    el.append(
      h("dt", {}, "speed"), h("dd", { "data-testid": "speed" }, speed(t.speed, dom)),
      h("dt", {}, "course"), h("dd", {}, Number.isFinite(t.course) ? `${Math.round(t.course)}°` : "–"),
    );
  }

  private watchButton(t: TrackView): HTMLElement | null {
    const w = this.hooks.watch?.(t.subject, t.label);
    if (!w) return null;
    // the panel is redrawn when the track's identity changes (a hit on it): the state is the
    // watchlist's, not the button's
    const b = h("button", { class: "watch", "data-action": "watch-track", title: "put this track on the watchlist",
      disabled: w.watched }, w.watched ? "★ watched" : "☆ watch");
    b.addEventListener("click", () => {
      b.setAttribute("disabled", "");
      void w.go().then((ok) => {
        b.textContent = ok ? "★ watched" : "☆ watch";
        if (!ok) b.removeAttribute("disabled");
      });
    });
    return b;
  }

  private render(t: TrackView): void {
    this.identity = t.identity;
    const r = this.root;
    clear(r);
    r.hidden = false;
    const d = this.detail;
    this.live = h("dl", { class: "facts" });
    this.fillLive(this.live, t);
    const alerts = this.hooks.alertsOf(t.subject);
    r.append(
      h("header", {},
        h("h2", {}, t.label),
        this.watchButton(t),
        h("button", { class: "close", "aria-label": "close", onclick: () => this.hooks.onClose() }, "×"),
      ),
      // data-detail says whether the stored detail has arrived: the section is drawn at once from
      // the live picture and drawn again, as a new element, when the fetch answers
      h("section", { class: "track-detail", "data-testid": "track-detail", "data-subject": t.subject,
        "data-detail": d ? "loaded" : "pending" },
        h("dl", { class: "facts" },
          h("dt", {}, "subject"), h("dd", {}, t.subject),
          h("dt", {}, "domain"), h("dd", {}, d?.domain ?? DOMAIN_NAME[t.domain] ?? "?"),
          h("dt", {}, "identity"), h("dd", { "data-testid": "identity", "data-identity": t.identity },
            `${t.identity} · ${t.cls === "noncoop" ? "non-cooperative (no transponder identity)" : t.cls === "drones" ? "drone (Remote ID)" : "cooperative"}`),
          d?.squawk ? h("dt", {}, "squawk") : null, d?.squawk ? h("dd", {}, squawk(d.squawk)) : null,
          d ? h("dt", {}, "first seen") : null, d ? h("dd", {}, d.first_time ? dateTime(d.first_time) : "–") : null,
          d ? h("dt", {}, "last report") : null, d ? h("dd", {}, d.time ? dateTime(d.time) : "–") : null,
          d ? h("dt", {}, "reports") : null, d ? h("dd", {}, String(d.n_reports)) : null,
        ),
        this.live,
        d && Object.keys(d.static ?? {}).length
          ? h("section", { "data-testid": "static" }, h("h3", {}, "Static data"),
              evidenceRows(d.static as Record<string, unknown>, t.subject))
          : null,
        h("h3", {}, `Alerts (${alerts.length})`),
        h("ul", { class: "track-alerts" },
          ...alerts.map((a) =>
            h("li", { class: `sev-${a.severity}`, onclick: () => this.hooks.onAlert(a) },
              `${a.severity.toUpperCase()} ${a.kind} · ${clock(a.time)}`))),
      ),
    );
  }
}
