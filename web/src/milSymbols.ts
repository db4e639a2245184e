/**
 * APP-6 / MIL-STD-2525 track symbols (an option in the layer panel), drawn by milsymbol.
 *
 * Why an atlas: deck.gl draws 20,000 icons from one texture cheaply, but milsymbol renders
 * one symbol at a time on a canvas. Each symbol code (SIDC) is rendered once, the first time
 * a pool of that symbol has tracks, and packed into a shared atlas; the atlas is repacked
 * only when a new code appears (at most one per pool: class x identity).
 *
 * SIDC (2525C letter codes, 15 characters): scheme S, the identity letter, the battle
 * dimension from the domain, status P (present), then the function: aircraft A-P generic,
 * drones A-P-MFQ (unmanned aerial vehicle), vessels S-P generic surface, satellites P-P-S,
 * non-cooperative tracks and emitters Z (unknown dimension). Where the track's category is
 * known the function icon says more (`FUNCTION`): aircraft fixed wing, rotary wing, lighter
 * than air or UAV from the ADS-B emitter category (meta `air:A1`..`B7`), vessels by AIS
 * ship-type class (meta `ship:<class>`). Such symbols are keyed `<pool key>/<class>` in the
 * atlas beside the pool's generic one. The frame's shape already says
 * the identity (friend rectangle/arc, neutral square, unknown quatrefoil, suspect diamond),
 * so colour is never the only cue.
 */
import type { Identity } from "./frames";
import type { IconDef } from "./symbols";
import type { Pool } from "./trackStore";

const IDENTITY_LETTER: Record<Identity, string> = {
  unknown: "U",
  neutral: "N",
  friend: "F",
  suspect: "S",
};

/** Battle dimension and function (characters 3 and 5-10) of each class, trackStore order. */
const CLASS_CODE: Record<string, [string, string]> = {
  aircraft: ["A", "------"],
  vessels: ["S", "------"],
  satellites: ["P", "S-----"],
  noncoop: ["Z", "------"],
  em: ["Z", "------"],
  drones: ["A", "MFQ---"],
};

/** Function IDs (characters 5-10, 2525C) by the track's finer class: `air:<kind>` from the
 * emitter category, `ship:<class>` from the AIS ship type (colours.ts SHIP_CLASSES). */
export const FUNCTION: Record<string, string> = {
  "air:fixed": "CF----", // civil fixed wing (A1-A6, gliders, ultralights)
  "air:rotary": "CH----", // civil rotary wing (A7)
  "air:lta": "CL----", // civil lighter than air (B2)
  "air:uav": "MFQ---", // unmanned aerial vehicle (B6, Remote ID)
  "ship:cargo": "XMC---",
  "ship:tanker": "XMO---", // oiler/tanker
  "ship:passenger": "XMP---",
  "ship:high_speed": "XMF---", // ferry: AIS 40-49 craft are mostly fast ferries
  "ship:fishing": "XF----",
  "ship:tug_special": "XMTU--", // tug
  "ship:pleasure": "XR----", // leisure craft
  "ship:military_law": "XL----", // law enforcement vessel (AIS 35 military, 51 SAR, 55 law)
};

/** The SIDC of a class and identity, with the function of `sub` (a FUNCTION key) if known. */
export function sidcOf(cls: string, identity: Identity, sub?: string): string {
  const [dim, generic] = CLASS_CODE[cls] ?? ["Z", "------"];
  const fn = (sub && FUNCTION[sub]) || generic;
  return `S${IDENTITY_LETTER[identity]}${dim}P${fn}-----`;
}

/** `<pool key>` or `<pool key>/<sub>` -> class, identity and sub. */
function parseKey(k: string): [string, Identity, string | undefined] {
  const [pk, sub] = k.split("/", 2);
  const i = pk.lastIndexOf("-");
  return [pk.slice(0, i), pk.slice(i + 1) as Identity, sub];
}

interface Rendered {
  canvas: HTMLCanvasElement;
  anchorX: number;
  anchorY: number;
}

type MsModule = typeof import("milsymbol");

export class MilAtlas {
  /** Each code's drawing, made once. */
  rendered = new Map<string, Rendered>();
  canvas: HTMLCanvasElement | null = null;
  mapping: Record<string, IconDef & { anchorX: number }> = {};
  version = 0;
  renders = 0;
  /** Codes milsymbol does not know (drawn as a bare frame): none expected. */
  invalid: string[] = [];
  private ms: MsModule["default"] | null = null;
  private loading: Promise<void> | null = null;

  constructor(
    private size = 22,
    private onReady: () => void = () => {},
  ) {}

  /** milsymbol is loaded only when the option is first used (its own chunk). */
  load(): Promise<void> {
    this.loading ??= import("milsymbol").then((m) => {
      this.ms = m.default;
      this.onReady();
    });
    return this.loading;
  }

  get ready(): boolean {
    return this.ms !== null;
  }

  /**
   * The atlas holding a symbol for every pool with tracks (pool key -> icon). Returns false
   * while milsymbol is loading. Codes not seen before are rendered and the atlas repacked.
   */
  update(pools: Pool[], subs: string[] = []): boolean {
    if (!this.ms) {
      void this.load();
      return false;
    }
    let added = false;
    const keys = [...pools.filter((p) => p.size).map((p) => p.key), ...subs];
    for (const k of keys) {
      if (this.mapping[k]) continue;
      const sidc = sidcOf(...parseKey(k));
      if (!this.rendered.has(sidc)) {
        const sym = new this.ms.Symbol(sidc, { size: this.size, infoFields: false });
        if (!sym.isValid()) this.invalid.push(sidc);
        const ratio = Math.min(2, window.devicePixelRatio || 1);
        const a = sym.getAnchor();
        this.rendered.set(sidc, { canvas: sym.asCanvas(ratio), anchorX: a.x * ratio, anchorY: a.y * ratio });
        this.renders++;
      }
      this.mapping[k] = { x: 0, y: 0, width: 0, height: 0, mask: false, anchorX: 0, anchorY: 0 };
      added = true;
    }
    if (added || !this.canvas) this.pack();
    return true;
  }

  /** One row of every pool's symbol; the mapping names pools, so codes shared by pools repeat. */
  private pack(): void {
    const keys = Object.keys(this.mapping);
    const pad = 2;
    let width = pad;
    let height = 1;
    const items = keys.map((k) => {
      const r = this.rendered.get(sidcOf(...parseKey(k)))!;
      const x = width;
      width += r.canvas.width + pad;
      height = Math.max(height, r.canvas.height);
      return { k, r, x };
    });
    const c = document.createElement("canvas");
    c.width = width;
    c.height = height;
    const g = c.getContext("2d")!;
    // a new mapping object: deck.gl sees a changed atlas by reference
    const mapping: typeof this.mapping = {};
    for (const { k, r, x } of items) {
      g.drawImage(r.canvas, x, 0);
      mapping[k] = {
        x, y: 0, width: r.canvas.width, height: r.canvas.height, mask: false,
        anchorX: r.anchorX, anchorY: r.anchorY,
      };
    }
    this.mapping = mapping;
    this.canvas = c;
    this.version++;
  }

  /** A legend swatch for one identity (an aircraft in that identity's frame). */
  swatch(identity: Identity, px = 18): HTMLCanvasElement | null {
    if (!this.ms) return null;
    const c = new this.ms.Symbol(sidcOf("aircraft", identity), { size: px, infoFields: false }).asCanvas(1);
    c.className = "swatch";
    return c;
  }
}
