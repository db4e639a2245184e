/**
 * The live track channel (WebSocket, docs/api.md): binary frames go straight into the
 * TrackStore; text frames carry identities (meta), replay state, and the replayed alerts and
 * GNSS cells as they were at each step.
 */
import { type Alert, apiUrl, type FeatureCollection } from "./api";
import { FRAME_KEY, FrameError, parseFrame } from "./frames";
import type { MetaRow, TrackStore } from "./trackStore";

export interface ChannelHooks {
  /** A frame was applied; `changed`: it added, moved or removed a track (or was a keyframe).
   * The server sends a frame every tick, so an idle picture's frames change nothing. */
  onFrame(changed: boolean): void;
  onReplay(msg: { state: string; since?: string; until?: string; speed?: number }): void;
  /** Alerts as of `time`; `reset`: the whole set at the replay's start. */
  onReplayAlerts(alerts: Alert[], time: string, reset: boolean): void;
  onReplayLayer(layer: string, data: FeatureCollection, time: string): void;
  onState(state: string): void;
}

export class TrackChannel {
  ws: WebSocket | null = null;
  bytes = 0;
  errors = 0;
  applyMs = 0; // parse + apply of the newest binary frame, for the status line and benchmarks
  private retry = 500;
  private keyAsked = false;
  private closed = false;

  constructor(
    private store: TrackStore,
    private hooks: ChannelHooks,
  ) {}

  connect(): void {
    this.closed = false;
    const ws = new WebSocket(apiUrl("ws/tracks", {}, { ws: true }));
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.hooks.onState("connecting");
    ws.onopen = () => {
      this.retry = 500;
      this.keyAsked = false;
      this.store.needKeyframe = true; // a new connection starts from its keyframe
      this.hooks.onState("live");
    };
    ws.onmessage = (e) => this.receive(e.data);
    ws.onclose = () => {
      this.hooks.onState("disconnected");
      if (!this.closed) {
        setTimeout(() => this.connect(), this.retry);
        this.retry = Math.min(this.retry * 2, 10000);
      }
    };
  }

  close(): void {
    this.closed = true;
    this.ws?.close();
  }

  send(msg: unknown): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  receive(data: ArrayBuffer | string): void {
    if (typeof data !== "string") {
      this.bytes += data.byteLength;
      const t0 = performance.now();
      try {
        const f = parseFrame(data);
        if (f.type === FRAME_KEY) this.keyAsked = false;
        // a delta after a gap cannot be applied (its positions are steps from what was
        // missed): ask once for a fresh keyframe by restating the view
        if (!this.store.apply(f) && !this.keyAsked) {
          this.keyAsked = true;
          this.send({ type: "view", bbox: null, domain: null });
        }
        this.applyMs = performance.now() - t0;
        this.hooks.onFrame(f.type === FRAME_KEY || f.n > 0 || f.m > 0);
      } catch (e) {
        this.errors++;
        if (!(e instanceof FrameError)) throw e;
        console.warn("bad track frame", e.message);
      }
      return;
    }
    let msg: { type: string; [k: string]: unknown };
    try {
      msg = JSON.parse(data);
    } catch {
      this.errors++;
      return;
    }
    if (msg.type === "meta") this.store.addMeta(msg.tracks as MetaRow[]);
    else if (msg.type === "replay") this.hooks.onReplay(msg as never);
    else if (msg.type === "replay_alerts") {
      this.hooks.onReplayAlerts(msg.alerts as Alert[], msg.time as string, msg.reset === true);
    } else if (msg.type === "replay_layer") {
      this.hooks.onReplayLayer(msg.layer as string, msg.data as FeatureCollection, msg.time as string);
    }
    else if (msg.type === "error") console.warn("track channel:", msg.detail);
  }
}
