// What `wasm-rtsp` says about each camera while it runs: rates sampled once a second, the per-camera status that
// GET /status serves (and --workers merges), readiness for /readyz, and the terminal's status block (one line per
// camera) that log lines are written above, never into.

import type { Camera, CameraState } from './camera.js';
import { errorOf, type SummaryError } from './summary.js';

/** A camera's rates over the last sampling interval. */
export interface CameraRates {
  packetsPerSecond: number;
  framesPerSecond: number;
  /** RTP payload and headers received, bits per second. */
  bitsPerSecond: number;
}

/** One camera in GET /status. */
export interface CameraStatus {
  name: string;
  /** The URL without credentials. */
  url: string;
  state: CameraState;
  /** When it entered `state` (ISO 8601). */
  since: string;
  /** The last error (of an attempt or a session), or null. */
  lastError: SummaryError | null;
  rates: CameraRates;
  reconnects: number;
  failures: number;
  /** The worker process running it (--workers), or null when the command runs its cameras itself. */
  worker: number | null;
  /** The file its recorder writes now (the open segment), or null. */
  recording: string | null;
}

/** GET /status: every camera, and whether the set is ready (see readiness). */
export interface StatusReport {
  cameras: CameraStatus[];
  ready: boolean;
  playing: number;
}

const ZERO_RATES: CameraRates = Object.freeze({ packetsPerSecond: 0, framesPerSecond: 0, bitsPerSecond: 0 });

/** Per-camera counters read once a second; each camera's rates are the difference over the last interval. */
export class RateSampler {
  private readonly last = new WeakMap<Camera, { t: number; packets: number; frames: number; bytes: number }>();
  private readonly rates = new WeakMap<Camera, CameraRates>();

  /** Reads every camera's totals and updates its rates (call about once a second). */
  sample(cameras: Iterable<Camera>, now = Date.now()): void {
    for (const cam of cameras) {
      let packets = 0;
      let frames = 0;
      let bytes = 0;
      for (const s of cam.stats().streams) {
        packets += s.packets;
        bytes += s.bytes;
        frames += s.frames?.delivered ?? 0;
      }
      const prev = this.last.get(cam);
      this.last.set(cam, { t: now, packets, frames, bytes });
      if (!prev || now <= prev.t) continue;
      const dt = (now - prev.t) / 1000;
      this.rates.set(cam, {
        packetsPerSecond: round((packets - prev.packets) / dt),
        framesPerSecond: round((frames - prev.frames) / dt),
        bitsPerSecond: Math.round(((bytes - prev.bytes) * 8) / dt),
      });
    }
  }

  /** The camera's rates over the last interval (zero before two samples). */
  of(cam: Camera): CameraRates {
    return cam.state === 'playing' ? (this.rates.get(cam) ?? ZERO_RATES) : ZERO_RATES;
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** A camera as GET /status shows it. */
export function cameraStatus(cam: Camera, rates: CameraRates, worker: number | undefined): CameraStatus {
  const st = cam.stats();
  return {
    name: cam.name, url: cam.url, state: cam.state, since: new Date(cam.since).toISOString(),
    lastError: cam.lastError !== undefined ? errorOf(cam.lastError) : null,
    rates, reconnects: st.reconnects, failures: st.failures, worker: worker ?? null, recording: cam.recording?.currentFile ?? null,
  };
}

/**
 * Whether a set of cameras is ready (GET /readyz): at least `min` of them play (default: every one of them). A set
 * without cameras (a shard that owns none) is ready: it has nothing to wait for.
 */
export function readiness(states: readonly CameraState[], min?: number): { ready: boolean; playing: number } {
  const playing = states.filter((s) => s === 'playing').length;
  return { ready: playing >= Math.min(min ?? states.length, states.length), playing };
}

/** The status report of cameras run in this process. */
export function statusReport(cameras: readonly Camera[], sampler: RateSampler, readyMin: number | undefined, worker?: number): StatusReport {
  const list = cameras.map((c) => cameraStatus(c, sampler.of(c), worker));
  return { cameras: list, ...readiness(list.map((c) => c.state), readyMin) };
}

/** Cameras shown in the terminal's status block at most (the rest are summed up in one line). */
const MAX_STATUS_LINES = 20;

/** Where the status block is drawn: a terminal stream. */
export interface StatusOutput {
  write(text: string): unknown;
  rows?: number;
  columns?: number;
}

/**
 * The terminal's status block: a header line and one line per camera, redrawn in place. Log lines go through log():
 * the block is erased first, the line written, the block drawn again below it, so a log line never continues on a
 * status row.
 */
export class StatusDisplay {
  private drawn = 0;
  private lines: string[] = [];

  constructor(private readonly out: StatusOutput) {}

  /** Replaces the block with `lines` (the first is the header). */
  draw(lines: string[]): void {
    const room = Math.max(1, Math.min(MAX_STATUS_LINES, (this.out.rows ?? 24) - 2));
    let shown = lines;
    if (lines.length > room) shown = [...lines.slice(0, room - 1), `  … and ${lines.length - room + 1} more camera(s)`];
    const width = Math.max(20, (this.out.columns ?? 120) - 1);
    this.lines = shown.map((l) => (l.length > width ? l.slice(0, width - 1) + '…' : l));
    this.out.write(this.erase() + this.lines.join('\n'));
    this.drawn = this.lines.length;
  }

  /** Writes a log line above the block. */
  log(line: string): void {
    const redraw = this.drawn > 0;
    this.out.write(this.erase() + line + '\n' + (redraw ? this.lines.join('\n') : ''));
    if (redraw) this.drawn = this.lines.length;
  }

  /** Erases the block for good (at exit), leaving the cursor at the start of an empty line. */
  clear(): void {
    this.out.write(this.erase());
    this.lines = [];
  }

  /** Escape codes that move to the block's first row and erase to the end of the screen. */
  private erase(): string {
    if (this.drawn === 0) return '';
    const up = this.drawn > 1 ? `\x1b[${this.drawn - 1}A` : '';
    this.drawn = 0;
    return `\r${up}\x1b[J`;
  }
}

/** The status block's lines: the process, then one line per camera. */
export function statusLines(cameras: readonly Camera[], sampler: RateSampler, started: number): string[] {
  const mem = process.memoryUsage();
  const playing = cameras.filter((c) => c.state === 'playing').length;
  const lines = [`${((Date.now() - started) / 1000).toFixed(0)} s  ${playing}/${cameras.length} playing  ` +
    `heap ${(mem.heapUsed / 2 ** 20).toFixed(1)} MiB  rss ${(mem.rss / 2 ** 20).toFixed(1)} MiB`];
  for (const c of cameras) {
    const r = sampler.of(c);
    const st = c.stats();
    const lost = st.streams.reduce((a, s) => a + s.lost, 0);
    const pool = st.pool ? `  pool ${st.pool.inUse}/${st.pool.highWater}` : '';
    lines.push(`  ${c.name}  ${c.state} ${((Date.now() - c.since) / 1000).toFixed(0)} s  ${r.packetsPerSecond.toFixed(0)} pkt/s  ` +
      `${r.framesPerSecond.toFixed(0)} fps  ${(r.bitsPerSecond / 1e6).toFixed(2)} Mbit/s  lost ${lost}  reconnects ${st.reconnects}${pool}`);
  }
  return lines;
}
