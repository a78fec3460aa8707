// The read tick (RtspClientOptions.readIntervalMs): one timer for the whole process that reads every member socket's
// kernel buffer straight into wasm memory with read(2) (fs.readSync on the socket's descriptor).
//
// Why not pause and resume the socket: libuv leaves a stopped descriptor in epoll until its next event, so a paused
// socket still wakes the process once per burst (to be disarmed), and the resume wakes it again to read — more
// wake-ups than reading at every event. A descriptor read with read(2) is never in epoll at all: N sockets cost one
// timer wake-up per interval, whatever N, and on this kind of machine the wake-ups are the price (about 150 µs of CPU
// each on the 2-core VM), not the reading.

import fs from 'node:fs';
import type net from 'node:net';

/** A reader the tick calls once per interval. */
export interface TickReader {
  /** Reads what the kernel buffered since the last tick (synchronously, never blocking). */
  tickRead(): void;
}

/**
 * The time of the tick being run (ms since the Unix epoch), read by its readers as their packets' arrival time: one
 * Date.now() per tick instead of one per read (each makes a heap number), and a double field read and stored by
 * optimized code is never boxed. Valid during a tick only: readers called otherwise take their own time.
 */
export const tickClock = {
  nowMs: 0.5,
  running: false,
  /** The tick's time during a tick, the clock's otherwise. */
  now(): number {
    return this.running ? this.nowMs : Date.now();
  },
};

/**
 * A tick that brings this much to one reader sends it back to reads at every event. The kernel does not grow the
 * receive window of a TCP socket read this rarely (measured: stuck near 95 KB, `ss -tni` rcv_ssthresh), so a tick may
 * find the window full and the sender held back: ~95 KB per 50 ms caps a connection near 15 Mbit/s; a UDP socket's
 * buffer must hold a whole interval. A reader this busy gives every event read plenty to do anyway.
 */
export const TICK_SATURATED_BYTES = 64 * 1024;
/** Back on the tick once an interval at events brought less than this (hysteresis below TICK_SATURATED_BYTES). */
export const TICK_RETURN_BYTES = 32 * 1024;

/**
 * A reader off the tick for want of throughput (TCP connection or UDP socket): counts what each interval at events
 * brings, and says when one brought so little (under TICK_RETURN_BYTES) that the reader should go back to the tick.
 */
export class EventInterval {
  // A double field from the start (not a small integer that later takes a time): stores into it never box (issue 12).
  private sinceMs = 0.5;
  private bytes = 0;

  constructor(private readonly intervalMs: number) {}

  /** The reader just left the tick: a first interval starts at `nowMs`. */
  restart(nowMs: number): void {
    this.sinceMs = nowMs;
    this.bytes = 0;
  }

  /** A read at events brought `bytes` at `nowMs`: true when it ends an interval that brought under TICK_RETURN_BYTES. */
  read(bytes: number, nowMs: number): boolean {
    this.bytes += bytes;
    if (nowMs - this.sinceMs < this.intervalMs) return false;
    const quiet = this.bytes < TICK_RETURN_BYTES;
    this.sinceMs = nowMs;
    this.bytes = 0;
    return quiet;
  }
}

/** One timer per interval, shared by every reader with that interval; stopped when its last reader leaves. */
class ReadTick {
  // An array, not a Set: iterating a Set makes an iterator object per tick. Members are few (one per camera) and
  // join or leave rarely, so a linear search on add/delete costs nothing that matters.
  private readonly members: TickReader[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly intervalMs: number) {}

  add(r: TickReader): void {
    if (!this.members.includes(r)) this.members.push(r);
    if (this.timer === undefined) {
      // Not unref'd: a socket that is not read is no longer an active handle, so the tick is what keeps the process
      // alive while it has readers, as the sockets did when they read at every event.
      this.timer = setInterval(this.tick, this.intervalMs);
    }
  }

  delete(r: TickReader): void {
    const i = this.members.indexOf(r);
    if (i >= 0) this.members.splice(i, 1);
    if (this.members.length === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private readonly tick = (): void => {
    const members = this.members;
    tickClock.nowMs = Date.now();
    tickClock.running = true;
    try {
      // A reader may leave during its own tickRead (its connection ends): walk backwards so that removing the current
      // member never skips the next one.
      for (let i = members.length - 1; i >= 0; i--) members[i]?.tickRead();
    } finally {
      tickClock.running = false;
    }
  };
}

const ticks = new Map<number, ReadTick>();

/** The tick of `intervalMs` (> 0), made on first use. */
export function readTickFor(intervalMs: number): { add(r: TickReader): void; delete(r: TickReader): void } {
  let t = ticks.get(intervalMs);
  if (t === undefined) ticks.set(intervalMs, (t = new ReadTick(intervalMs)));
  return t;
}

/**
 * The file descriptor under a plain TCP socket, or -1 where there is none to read directly: TLS (OpenSSL must read
 * the bytes), Windows (handles, not descriptors) or a socket not connected.
 */
export function socketFd(socket: net.Socket): number {
  if (process.platform === 'win32' || 'encrypted' in socket) return -1;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

/** readFd's answer when the kernel had nothing buffered (EAGAIN). */
export const NOTHING_BUFFERED = -1;

/**
 * Reads from a non-blocking descriptor into [at, at + length) of `memory` (wasm memory: no view is made per read):
 * the byte count, 0 at end of stream, NOTHING_BUFFERED when nothing waits. Other errors (ECONNRESET, …) are thrown as
 * Node's system errors.
 */
export function readFd(fd: number, memory: Uint8Array, at: number, length: number): number {
  // An empty kernel buffer throws EAGAIN: no stack is captured for it (it is an answer, not a failure).
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return fs.readSync(fd, memory, at, length, null);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return NOTHING_BUFFERED;
    throw e;
  } finally {
    Error.stackTraceLimit = limit;
  }
}
