/**
 * Codes named for people: AIS ship type and navigational status (ITU-R M.1371), ADS-B
 * emergency state (DO-260B) and the special squawks (ICAO). The server's `/api/codes`
 * (picket.model.codes) is the reference: when it answers, its tables replace these, which
 * are the page's own copy so the names show against an older server too.
 */
import { api } from "./api";

export interface CodeTables {
  ship_type: Record<string, { name: string | null; class: string }>;
  nav_status: Record<string, string>;
  emergency_state: Record<string, string>;
  squawk: Record<string, string>;
}

const HAZARD: Record<number, string> = {
  1: "hazardous category A", 2: "hazardous category B", 3: "hazardous category C",
  4: "hazardous category D", 9: "no additional information",
};
const FIRST: Record<number, [string, string]> = {
  2: ["Wing in ground (WIG)", "wig"], 4: ["High speed craft (HSC)", "high_speed"],
  6: ["Passenger", "passenger"], 7: ["Cargo", "cargo"], 8: ["Tanker", "tanker"], 9: ["Other type", "other"],
};
const SPECIFIC: Record<number, [string, string]> = {
  0: ["Not available", "unknown"], 30: ["Fishing", "fishing"], 31: ["Towing", "tug_special"],
  32: ["Towing (long or wide tow)", "tug_special"], 33: ["Dredging or underwater operations", "tug_special"],
  34: ["Diving operations", "tug_special"], 35: ["Military operations", "military_law"],
  36: ["Sailing", "pleasure"], 37: ["Pleasure craft", "pleasure"], 50: ["Pilot vessel", "tug_special"],
  51: ["Search and rescue vessel", "tug_special"], 52: ["Tug", "tug_special"],
  53: ["Port tender", "tug_special"], 54: ["Anti-pollution equipment", "tug_special"],
  55: ["Law enforcement", "military_law"], 58: ["Medical transport", "tug_special"],
};

function shipTypeTable(): CodeTables["ship_type"] {
  const out: CodeTables["ship_type"] = {};
  for (let c = 0; c < 100; c++) {
    const s = SPECIFIC[c];
    const f = FIRST[Math.floor(c / 10)];
    const hz = HAZARD[c % 10];
    if (s) out[c] = { name: s[0], class: s[1] };
    else if (f) out[c] = { name: hz ? `${f[0]}, ${hz}` : f[0], class: f[1] };
    else out[c] = { name: "Reserved", class: "other" };
  }
  return out;
}

export const CODES: CodeTables = {
  ship_type: shipTypeTable(),
  nav_status: {
    0: "under way using engine", 1: "at anchor", 2: "not under command", 3: "restricted manoeuvrability",
    4: "constrained by her draught", 5: "moored", 6: "aground", 7: "engaged in fishing",
    8: "under way sailing", 11: "towing astern", 12: "pushing ahead or towing alongside",
    14: "AIS-SART, MOB or EPIRB active", 15: "not defined",
  },
  emergency_state: {
    0: "no emergency", 1: "general emergency", 2: "lifeguard / medical emergency", 3: "minimum fuel",
    4: "no communications", 5: "unlawful interference", 6: "downed aircraft", 7: "reserved",
  },
  squawk: {
    7500: "unlawful interference (hijack)", 7600: "radio failure (lost communications)",
    7700: "general emergency", 7000: "VFR conspicuity", 2000: "no assigned code",
    1000: "Mode S conspicuity", 7400: "lost link (unmanned aircraft)",
  },
};

/** Take the server's tables when it has them (a newer server knows more codes). */
export async function loadCodes(): Promise<boolean> {
  try {
    const t = await api<CodeTables>("codes");
    for (const k of ["ship_type", "nav_status", "emergency_state", "squawk"] as const) {
      if (t[k] && typeof t[k] === "object") Object.assign(CODES[k], t[k]);
    }
    return true;
  } catch {
    return false; // an older server: the page's own tables stay
  }
}

const withCode = (code: unknown, name: string | null | undefined): string =>
  name ? `${name} (${code})` : String(code);

export function shipType(code: unknown): string {
  return withCode(code, CODES.ship_type[String(code)]?.name);
}

export function shipClass(code: unknown): string {
  return CODES.ship_type[String(code)]?.class ?? "unknown";
}

/** Navigational status: a number is named; a name the server already gave stays. */
export function navStatus(code: unknown): string {
  return typeof code === "number" ? withCode(code, CODES.nav_status[String(code)]) : String(code);
}

export function emergencyState(code: unknown): string {
  return withCode(code, CODES.emergency_state[String(code)]);
}

export function squawk(code: unknown): string {
  const s = String(code).padStart(4, "0");
  const m = CODES.squawk[s];
  return m ? `${s} — ${m}` : s;
}
