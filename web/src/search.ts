/**
 * The search box: name, MMSI, IMO, ICAO address, callsign, registration or a track's global
 * id. The tracks the page
 * holds are searched at once, with no server (subject and label of every track's meta); the
 * server's `/api/search?q=` (subjects with position, static identifiers the page never sees)
 * is asked too when it exists, and its answers join the list. Choosing one flies to it.
 */
import { api } from "./api";
import { h } from "./dom";
import type { TrackStore } from "./trackStore";

export interface Hit {
  subject: string;
  label: string;
  lat: number | null;
  lon: number | null;
  /** Track id in the picture, when the page holds the track. */
  id: number | null;
  /** What matched, when it is not the label or the subject (e.g. "IMO 9321483"). */
  why?: string;
}

const MAX_HITS = 8;

/** Tracks in the picture whose subject or label holds the query (case and spaces ignored). */
export function searchLocal(store: TrackStore, q: string): Hit[] {
  const needle = q.toLowerCase().replace(/\s+/g, "");
  if (needle.length < 2) return [];
  const byId = store.byGid.get(needle); // a track's global id, as in a link (`?track=`)
  const idView = byId === undefined ? null : store.view(byId);
  if (byId !== undefined && idView) {
    const m = store.meta.get(byId)!;
    return [{ subject: m.subject, label: m.label, lat: idView.lat, lon: idView.lon, id: byId, why: "track id" }];
  }
  const starts: Hit[] = [];
  const inside: Hit[] = [];
  for (const [id, m] of store.meta) {
    const subj = m.subject.toLowerCase();
    const lab = m.label.toLowerCase().replace(/\s+/g, "");
    const value = subj.slice(subj.indexOf(":") + 1);
    const at = Math.min(...[lab.indexOf(needle), value.indexOf(needle), subj.indexOf(needle)].map((i) => (i < 0 ? 1e9 : i)));
    if (at === 1e9) continue;
    const t = store.view(id);
    if (!t) continue;
    const hit = { subject: m.subject, label: m.label, lat: t.lat, lon: t.lon, id };
    (at === 0 ? starts : inside).push(hit);
    if (starts.length >= MAX_HITS) break;
  }
  return [...starts, ...inside].slice(0, MAX_HITS);
}

interface ServerHit {
  subject: string;
  label?: string;
  name?: string;
  lat?: number | null;
  lon?: number | null;
  matched?: string;
}

let serverSearch: boolean | null = null; // unknown until asked once

async function searchServer(q: string, store: TrackStore): Promise<Hit[]> {
  if (serverSearch === false) return [];
  try {
    const res = await api<{ results?: ServerHit[]; subjects?: ServerHit[] } | ServerHit[]>("search", { params: { q } });
    serverSearch = true;
    const rows = Array.isArray(res) ? res : (res.results ?? res.subjects ?? []);
    return rows.map((r) => ({
      subject: r.subject,
      label: r.label ?? r.name ?? r.subject,
      lat: r.lat ?? null,
      lon: r.lon ?? null,
      id: store.bySubject.get(r.subject) ?? null,
      why: r.matched,
    }));
  } catch {
    serverSearch = false; // an older server: the page's own search is all there is
    return [];
  }
}

export class SearchBox {
  readonly input: HTMLInputElement;
  private list: HTMLElement;
  private hits: Hit[] = [];
  private active = 0;
  private timer: number | undefined;
  private asked = 0;

  constructor(
    root: HTMLElement,
    private store: TrackStore,
    private onPick: (hit: Hit) => void,
  ) {
    this.input = h("input", {
      type: "search",
      placeholder: "Search name, MMSI, IMO, ICAO, callsign  (/)",
      "aria-label": "search tracks",
      "data-testid": "search",
      autocomplete: "off",
      spellcheck: "false",
      oninput: () => this.changed(),
      onkeydown: (e: Event) => this.key(e as KeyboardEvent),
      onblur: () => setTimeout(() => this.hide(), 150),
    });
    this.list = h("ul", { class: "search-hits", "data-testid": "search-hits", hidden: true });
    root.append(h("div", { class: "search" }, this.input, this.list));
  }

  private changed(): void {
    clearTimeout(this.timer);
    const q = this.input.value.trim();
    this.hits = searchLocal(this.store, q);
    this.active = 0;
    this.draw();
    if (q.length < 2) return;
    const ask = ++this.asked;
    this.timer = window.setTimeout(async () => {
      const more = await searchServer(q, this.store);
      if (ask !== this.asked || !more.length) return;
      const seen = new Set(this.hits.map((x) => x.subject));
      this.hits = [...this.hits, ...more.filter((x) => !seen.has(x.subject))].slice(0, MAX_HITS);
      this.draw();
    }, 200);
  }

  private key(e: KeyboardEvent): void {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!this.hits.length) return;
      this.active = (this.active + (e.key === "ArrowDown" ? 1 : this.hits.length - 1)) % this.hits.length;
      this.draw();
    } else if (e.key === "Enter") {
      e.preventDefault();
      const hit = this.hits[this.active];
      if (hit) this.pick(hit);
    } else if (e.key === "Escape") {
      this.input.value = "";
      this.hits = [];
      this.hide();
      this.input.blur();
    }
  }

  private pick(hit: Hit): void {
    this.hide();
    this.input.blur();
    this.onPick(hit);
  }

  private hide(): void {
    this.list.hidden = true;
  }

  private draw(): void {
    this.list.replaceChildren(
      ...this.hits.map((x, i) =>
        h("li", {
          class: i === this.active ? "active" : "",
          "data-subject": x.subject,
          onmousedown: (e: Event) => {
            e.preventDefault();
            this.pick(x);
          },
        },
        h("b", {}, x.label), " ", h("span", { class: "muted" }, x.why ? `${x.subject} · ${x.why}` : x.subject),
        x.id === null && x.lat === null ? h("span", { class: "muted" }, " · no position") : null),
      ),
    );
    if (!this.hits.length && this.input.value.trim().length >= 2) {
      this.list.append(h("li", { class: "muted" }, "no track matches"));
    }
    this.list.hidden = this.input.value.trim().length < 2;
  }
}
