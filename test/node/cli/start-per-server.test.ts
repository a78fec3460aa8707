// The command's start-up order (issue 12): the cameras of one server make at most FIRST_ATTEMPTS_PER_SERVER first
// attempts at once (hundreds of connections in the same millisecond overflow a server's accept queue), cameras of
// distinct servers start together, and a server whose camera fails its first attempt gets the rest at once.
import { describe, expect, it } from 'vitest';
import { FIRST_ATTEMPTS_PER_SERVER, startPerServer, type Startable } from '../../../src/node/cli/fleet.js';

/** A camera whose first attempt ends when the test says so. */
class FakeCamera implements Startable {
  played = false;
  started = false;
  readonly firstAnswer: Promise<void>;
  private answer!: () => void;

  constructor(readonly url: string, private readonly flight: Map<string, { now: number; max: number }>) {
    this.firstAnswer = new Promise((r) => (this.answer = r));
  }

  start(): void {
    this.started = true;
    const f = this.flight.get(this.host) ?? { now: 0, max: 0 };
    f.now++;
    f.max = Math.max(f.max, f.now);
    this.flight.set(this.host, f);
  }

  end(played: boolean): void {
    this.played = played;
    this.flight.get(this.host)!.now--;
    this.answer();
  }

  private get host(): string {
    return new URL(this.url).host;
  }
}

/** Lets the lanes of startPerServer run (they continue in microtasks after a first answer). */
const settle = () => new Promise((r) => setImmediate(r));

describe('startPerServer', () => {
  it('keeps at most the limit of first attempts in flight per server; another server starts at once', async () => {
    const flight = new Map<string, { now: number; max: number }>();
    const a = Array.from({ length: 40 }, (_, i) => new FakeCamera(`rtsp://10.0.0.1:554/cam${i}`, flight));
    const b = Array.from({ length: 3 }, (_, i) => new FakeCamera(`rtsp://10.0.0.2/cam${i}`, flight));
    const done = startPerServer([...a, ...b], FIRST_ATTEMPTS_PER_SERVER);
    await settle();
    expect(a.filter((c) => c.started)).toHaveLength(FIRST_ATTEMPTS_PER_SERVER);
    expect(b.every((c) => c.started)).toBe(true);
    // Answers come in one by one: each frees one place for the next camera of that server.
    for (let i = 0; i < a.length; i++) {
      a[i]!.end(true);
      await settle();
      expect(a.filter((c) => c.started)).toHaveLength(Math.min(a.length, FIRST_ATTEMPTS_PER_SERVER + i + 1));
    }
    for (const c of b) c.end(true);
    await done;
    expect(flight.get('10.0.0.1:554')!.max).toBe(FIRST_ATTEMPTS_PER_SERVER);
    expect(flight.get('10.0.0.2')!.max).toBe(3);
  });

  it('starts the rest of a server at once when one of its cameras fails its first attempt', async () => {
    const flight = new Map<string, { now: number; max: number }>();
    const cams = Array.from({ length: 10 }, (_, i) => new FakeCamera(`rtsp://10.0.0.3/cam${i}`, flight));
    const done = startPerServer(cams, 2);
    await settle();
    expect(cams.filter((c) => c.started)).toHaveLength(2);
    cams[0]!.end(false); // down, refused, timed out: waiting in turn would only delay the batch's pipeline
    await settle();
    expect(cams.every((c) => c.started)).toBe(true);
    for (const c of cams.slice(1)) c.end(true);
    await done;
  });

  it('does not start a camera skipped meanwhile (removed, or the run stopped)', async () => {
    const flight = new Map<string, { now: number; max: number }>();
    const cams = Array.from({ length: 4 }, (_, i) => new FakeCamera(`rtsp://10.0.0.4/cam${i}`, flight));
    const skipped = new Set([cams[2]!]);
    const done = startPerServer(cams, 1, (c) => skipped.has(c));
    for (const c of [cams[0]!, cams[1]!, cams[3]!]) {
      await settle();
      expect(c.started).toBe(true);
      c.end(true);
    }
    await done;
    expect(cams[2]!.started).toBe(false);
  });
});
