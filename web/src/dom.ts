/** A tiny element builder: the panels are plain DOM, no framework to download or learn. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | ((e: Event) => void)> = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (typeof v === "boolean") {
      if (v) el.setAttribute(k, "");
    } else el.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** HH:MM:SS UTC of an ISO time; the date too when it is not `ref`'s day. */
export function clock(iso: string | null | undefined, ref?: string | null): string {
  if (!iso) return "–";
  const d = iso.slice(0, 10);
  const t = iso.slice(11, 19);
  return ref && ref.slice(0, 10) === d ? `${t}Z` : `${d} ${t}Z`;
}

/** Render nested evidence as a definition list; arrays of scalars inline, deeper as nested. */
export function evidenceView(value: unknown, depth = 0): Node {
  if (value === null || value === undefined) return document.createTextNode("–");
  if (typeof value !== "object") {
    const s = typeof value === "number" && !Number.isInteger(value) ? value.toFixed(4).replace(/0+$/, "") : String(value);
    return document.createTextNode(s);
  }
  if (Array.isArray(value)) {
    if (value.every((x) => x === null || typeof x !== "object")) {
      return document.createTextNode(value.map((x) => String(x)).join(", "));
    }
    if (depth > 3) return h("code", {}, JSON.stringify(value).slice(0, 400));
    return h("ol", { class: "ev-list" }, ...value.slice(0, 20).map((x) => h("li", {}, evidenceView(x, depth + 1))));
  }
  if (depth > 3) return h("code", {}, JSON.stringify(value).slice(0, 400));
  const dl = h("dl", { class: "evidence" });
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    dl.append(h("dt", {}, k), h("dd", {}, evidenceView(v, depth + 1)));
  }
  return dl;
}
