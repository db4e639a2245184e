/**
 * Live or a past window: the slider picks where the window starts (minutes before the newest
 * event time seen), the server replays it through the same track channel at the chosen speed.
 */
import { isoOf } from "./api";
import { h } from "./dom";

export interface TimeBarHooks {
  live(): void;
  replay(since: number, until: number, speed: number): void;
}

const HOURS_BACK = 24;

export class TimeBar {
  latest = NaN; // newest event time seen live
  replaying = false;
  /** Serving a stored run (no pipeline): the badge says so instead of LIVE. */
  stored = false;
  private slider: HTMLInputElement;
  private span: HTMLSelectElement;
  private speed: HTMLSelectElement;
  private label: HTMLElement;
  private clockEl: HTMLElement;
  private badge: HTMLElement;
  private liveBtn: HTMLButtonElement;

  constructor(root: HTMLElement, private hooks: TimeBarHooks) {
    this.slider = h("input", {
      type: "range", min: String(-HOURS_BACK * 60), max: "0", step: "1", value: "-60",
      "aria-label": "replay window start (minutes before now)",
      oninput: () => this.describe(),
    });
    this.span = h("select", { "aria-label": "window length", onchange: () => this.describe() },
      h("option", { value: "900" }, "15 min"),
      h("option", { value: "3600", selected: true }, "1 h"),
      h("option", { value: "10800" }, "3 h"),
      h("option", { value: "43200" }, "12 h"));
    this.speed = h("select", { "aria-label": "replay speed" },
      h("option", { value: "10" }, "×10"),
      h("option", { value: "60", selected: true }, "×60"),
      h("option", { value: "300" }, "×300"));
    this.label = h("span", { class: "window" });
    this.clockEl = h("time", { class: "picture-time", "data-testid": "picture-time" }, "–");
    this.badge = h("span", { class: "badge live", "data-testid": "mode" }, "LIVE");
    this.liveBtn = h("button", { onclick: () => this.hooks.live(), disabled: true }, "Live");
    root.append(
      this.badge, this.clockEl, this.liveBtn,
      h("span", { class: "sep" }),
      this.slider, this.label, this.span, this.speed,
      h("button", { "data-testid": "replay", onclick: () => this.play() }, "Replay"),
    );
    this.describe();
  }

  private window(): [number, number] {
    const end = Number.isFinite(this.latest) ? this.latest : Date.now() / 1000;
    const since = end + Number(this.slider.value) * 60;
    return [since, since + Number(this.span.value)];
  }

  private describe(): void {
    const [since, until] = this.window();
    this.label.textContent = `${isoOf(since).slice(11, 16)}–${isoOf(until).slice(11, 16)}Z`;
  }

  private play(): void {
    const [since, until] = this.window();
    this.hooks.replay(since, until, Number(this.speed.value));
  }

  /** Show the picture time and mode from the newest frame. */
  show(time: number, replay: boolean): void {
    if (!replay && Number.isFinite(time)) {
      if (!(time <= this.latest)) this.latest = time;
    }
    if (replay !== this.replaying) {
      this.replaying = replay;
      this.liveBtn.disabled = !replay;
    }
    this.badge.textContent = replay ? "REPLAY" : this.stored ? "STORED RUN" : "LIVE";
    this.badge.className = `badge ${replay ? "replay" : this.stored ? "stored" : "live"}`;
    this.liveBtn.textContent = this.stored ? "Back" : "Live";
    if (Number.isFinite(time)) this.clockEl.textContent = `${isoOf(time).slice(0, 19).replace("T", " ")}Z`;
    else if (this.stored) this.clockEl.textContent = "no events stored";
    this.describe();
  }
}
