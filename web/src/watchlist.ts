/**
 * Watchlist entries from the page (docs/api.md, "Watchlist entries from the page"): the list,
 * a small form to add an identifier, a name or call-sign pattern or a ship-type range, and a
 * delete button per entry. Adding and deleting are operator actions sent like triage (same
 * origin, bearer token where one is set); the server checks each entry as it checks a CSV row
 * and says what is wrong, which the panel shows as it is.
 */
import { api, ApiError } from "./api";
import { clear, clock, h } from "./dom";

export interface WatchEntry {
  id: string;
  match: string;
  label: string;
  severity: "info" | "warning" | "critical";
  note: string;
  who: string;
  time: number;
}

/** What an entry can match on, with a hint of the value the server expects. */
const KINDS: [string, string, string][] = [
  ["mmsi", "MMSI", "273412345"],
  ["imo", "IMO", "9321483"],
  ["icao", "ICAO address", "3c6444"],
  ["callsign", "call sign", "RRR* (wildcards)"],
  ["name", "name", "*STAR* (wildcards)"],
  ["ship_type", "ship type", "80-89"],
];

/** A subject's watchlist match: its own identifier where the server keys it so, else its name. */
export function matchOf(subject: string, label: string): string | null {
  const [kind, value] = [subject.slice(0, subject.indexOf(":")), subject.slice(subject.indexOf(":") + 1)];
  if (value && ["mmsi", "imo", "icao"].includes(kind)) return `${kind}:${value}`;
  const name = label.trim();
  return name && name !== subject ? `name:${name}` : null;
}

export class WatchlistPanel {
  entries: WatchEntry[] = [];
  role: "viewer" | "operator" = "viewer";
  /** False when the server keeps no watchlist (no store, or an older server). */
  available = false;
  private list: HTMLElement;
  private status: HTMLElement;
  private form: HTMLFormElement;

  constructor(private root: HTMLElement) {
    this.list = h("ul", { class: "watch-list", "data-testid": "watch-list" });
    this.status = h("p", { class: "watch-status muted", role: "status", "data-testid": "watch-status" });
    const kind = h("select", { name: "kind", "aria-label": "match on" },
      ...KINDS.map(([k, label]) => h("option", { value: k }, label)));
    const value = h("input", { name: "value", type: "text", "aria-label": "value", placeholder: KINDS[0][2], required: true });
    kind.addEventListener("change", () => {
      value.placeholder = KINDS.find(([k]) => k === kind.value)?.[2] ?? "";
    });
    const sev = h("select", { name: "severity", "aria-label": "severity" },
      h("option", { value: "info" }, "info"), h("option", { value: "warning", selected: true }, "warning"),
      h("option", { value: "critical" }, "critical"));
    this.form = h("form", { class: "watch-form", "data-testid": "watch-form" },
      h("div", { class: "row" }, kind, value),
      h("div", { class: "row" },
        h("input", { name: "label", type: "text", "aria-label": "label", placeholder: "label (e.g. shadow fleet)" }), sev),
      h("button", { type: "submit", "data-action": "watch-add" }, "Add to watchlist"));
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      const f = new FormData(this.form);
      const v = String(f.get("value") ?? "").trim();
      if (!v) return;
      void this.add(`${f.get("kind")}:${v}`, String(f.get("label") ?? ""), String(f.get("severity") ?? "warning"))
        .then((ok) => {
          if (ok) value.value = "";
        });
    });
    root.append(h("details", { class: "watchlist", "data-testid": "watchlist" },
      h("summary", {}, h("h2", {}, "Watchlist")), this.form, this.list, this.status));
    root.hidden = true;
  }

  async load(): Promise<void> {
    try {
      this.entries = (await api<{ entries: WatchEntry[] }>("watchlist")).entries;
      this.available = true;
    } catch (e) {
      this.available = false;
      if (!(e instanceof ApiError)) console.warn("watchlist:", e);
    }
    this.render();
  }

  /** A change announced on the alert stream (`event: watchlist`, by this page, another tab or
   * the API): applied at once; anything else (a stream that could not resume) reads the list
   * again. */
  follow(ev: unknown): void {
    const d = ev as { action?: string; entry?: WatchEntry; id?: string } | null;
    if (d?.action === "add" && d.entry?.id) {
      const e = d.entry;
      this.entries = [...this.entries.filter((x) => x.id !== e.id && x.match !== e.match), e];
      this.available = true;
      this.render();
    } else if (d?.action === "delete" && d.id) {
      this.entries = this.entries.filter((x) => x.id !== d.id);
      this.render();
    } else void this.load();
  }

  /** Add (or replace: the id follows the match) an entry; true when the server kept it. */
  async add(match: string, label: string, severity: string): Promise<boolean> {
    if (this.role !== "operator") {
      this.status.textContent = "Read-only: the watchlist needs an operator token.";
      return false;
    }
    try {
      const entry = await api<WatchEntry>("watchlist", { method: "POST", body: { match, label, severity } });
      this.entries = [...this.entries.filter((x) => x.id !== entry.id), entry];
      this.status.textContent = `watching ${entry.match}`;
      this.render();
      return true;
    } catch (e) {
      this.status.textContent = String(e instanceof Error ? e.message : e);
      return false;
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await api(`watchlist/${encodeURIComponent(id)}`, { method: "DELETE" });
      this.entries = this.entries.filter((x) => x.id !== id);
      this.status.textContent = "";
      this.render();
    } catch (e) {
      this.status.textContent = String(e instanceof Error ? e.message : e);
    }
  }

  /** Open the panel (the track panel's "watch" button shows where the entry went). */
  open(): void {
    this.root.querySelector("details")?.setAttribute("open", "");
  }

  /** Called after the entries changed (the track panel's "watch" button follows them). */
  onChange: () => void = () => {};

  private render(): void {
    this.onChange();
    this.root.hidden = !this.available;
    this.form.hidden = this.role !== "operator";
    clear(this.list);
    if (!this.entries.length) this.list.append(h("li", { class: "muted" }, "no entries from the page"));
    for (const e of this.entries) {
      this.list.append(h("li", { class: `watch sev-${e.severity}`, "data-watch-id": e.id, "data-match": e.match },
        h("span", { class: "match" }, e.match),
        e.label ? h("span", { class: "label" }, ` · ${e.label}`) : null,
        h("small", { class: "muted" }, ` ${e.severity} · ${e.who} · ${clock(new Date(e.time * 1000).toISOString())}`),
        this.role === "operator"
          ? h("button", { class: "delete", "data-action": "watch-delete", "aria-label": `delete ${e.match}`,
              title: "delete this entry", onclick: () => void this.remove(e.id) }, "×")
          : null));
    }
  }
}
