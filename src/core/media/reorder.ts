// A reorder buffer for one UDP stream, on pool leases: a packet that arrives ahead of the one expected is held by
// keeping its pool slot (no copy, no extra memory: the slot counts against the pool limit) and handed on in sequence
// order once the gap fills, or once the oldest held packet has waited `latencyMs`, or at once when a packet arrives
// beyond the window (`depth` packets ahead): the missing ones are then lost.
// A packet older than the last one handed on is late: dropped and counted ('late'); a far jump either way is a
// restart of the sender and resets the buffer. In-order packets (the usual case) pass straight through.
//
// Sequence arithmetic is modulo 2^16 (RFC 3550). Positions in the buffer are seq & mask, over the smallest power of two
// ≥ depth: it divides 2^16, so the sequence numbers of a window never share a slot, across the wrap too (seq % depth
// did not when depth does not divide 65536: a held packet was overwritten, its slot never released, and `held` stayed
// above the packets really held, so skipping to the next held one never ended).

/** Default reorder buffer of a UDP stream: a few packets, a short wait. */
export const DEFAULT_REORDER_DEPTH = 16;
/** Default longest wait for a missing packet before the held ones move on. */
export const DEFAULT_REORDER_LATENCY_MS = 50;
/** Largest depth accepted. */
export const MAX_REORDER_DEPTH = 1024;
/** A jump beyond this (forward or back) is a restart of the sender, not reordering (RFC 3550 A.1's MAX_MISORDER). */
const MAX_MISORDER = 100;
const MAX_DROPOUT = 3000;

/** Options of the reorder buffer (`RtspClientOptions.reorder`). */
export interface ReorderOptions {
  /** Packets held at most (a wider gap makes the oldest ones move on); default DEFAULT_REORDER_DEPTH. */
  depth?: number;
  /** Longest wait of a held packet for the ones before it; default DEFAULT_REORDER_LATENCY_MS. */
  latencyMs?: number;
}

/**
 * Where the buffer sends packets: `emit` hands one on (the callee releases the slot; `held` when it waited in the
 * buffer, i.e. arrived out of order), `discard` drops one (the callee counts and releases it).
 */
export interface ReorderSink {
  emit(handle: number, ptr: number, length: number, held: boolean): void;
  discard(handle: number, reason: 'late' | 'duplicate'): void;
  /** Arms (ms > 0) or cancels (ms = 0) the single latency timer of this buffer. */
  schedule(ms: number): void;
}

/** The reorder buffer of one stream; see the file comment. */
export class ReorderBuffer {
  readonly depth: number;
  readonly latencyMs: number;
  /** Packets that arrived out of order and were handed on in order. */
  reordered = 0;
  /** Packets held right now. */
  held = 0;
  /** Slots − 1: the slot count is the smallest power of two ≥ depth. */
  private readonly mask: number;
  private readonly handles: Float64Array; // pool handles are integers below 2^53
  private readonly ptrs: Uint32Array;
  private readonly lengths: Uint32Array;
  private readonly seqs: Int32Array;
  private readonly arrivals: Float64Array;
  private next = -1;

  constructor(options: ReorderOptions, private readonly sink: ReorderSink) {
    this.depth = options.depth ?? DEFAULT_REORDER_DEPTH;
    this.latencyMs = options.latencyMs ?? DEFAULT_REORDER_LATENCY_MS;
    const slots = 2 ** Math.ceil(Math.log2(Math.max(1, this.depth)));
    this.mask = slots - 1;
    this.handles = new Float64Array(slots);
    this.ptrs = new Uint32Array(slots);
    this.lengths = new Uint32Array(slots);
    this.seqs = new Int32Array(slots).fill(-1);
    this.arrivals = new Float64Array(slots);
  }

  /**
   * Whether the packet `seq` can be handed on right now (the one expected, nothing held): the caller then delivers it
   * itself with the record it already parsed, and calls `passed()`. Otherwise it calls `push`.
   */
  inOrder(seq: number): boolean {
    return this.held === 0 && (this.next < 0 || seq === this.next);
  }

  /** After an in-order packet was handed on by the caller. */
  passed(seq: number): void {
    this.next = (seq + 1) & 0xffff;
  }

  /** Takes a packet that is not the next in order; the buffer now owns `handle` (one reference). */
  push(seq: number, handle: number, ptr: number, length: number, now: number): void {
    let d = (seq - this.next) & 0xffff;
    if (d >= 0x8000) {
      // Behind the expected one: late (already given up on), unless it is far enough back to be a restart.
      if (0x10000 - d <= MAX_MISORDER) {
        this.sink.discard(handle, 'late');
        return;
      }
      this.restart(seq);
      d = 0;
    } else if (d >= MAX_DROPOUT) {
      this.restart(seq);
      d = 0;
    }
    if (d === 0) {
      this.next = (seq + 1) & 0xffff;
      this.sink.emit(handle, ptr, length, false);
      this.drain();
      this.expire(now);
      return;
    }
    if (d >= this.depth) {
      // A gap wider than the window is loss, not reordering: hand on what is held, in order, and go on from `seq`.
      while (this.held > 0) this.skip();
      this.next = seq;
      d = 0;
    }
    const at = seq & this.mask;
    if (this.seqs[at] === seq) {
      this.sink.discard(handle, 'duplicate');
      return;
    }
    if (d === 0) {
      this.next = (seq + 1) & 0xffff;
      this.sink.emit(handle, ptr, length, false);
      this.drain();
    } else {
      this.handles[at] = handle;
      this.ptrs[at] = ptr;
      this.lengths[at] = length;
      this.seqs[at] = seq;
      this.arrivals[at] = now;
      if (this.held++ === 0) this.sink.schedule(this.latencyMs);
    }
    this.expire(now);
  }

  /** The latency timer fired (or time passed): hands on what waited too long. */
  expire(now: number): void {
    while (this.held > 0) {
      const oldest = this.oldestArrival();
      if (now - oldest < this.latencyMs) {
        this.sink.schedule(Math.max(1, Math.ceil(this.latencyMs - (now - oldest))));
        return;
      }
      this.skip();
    }
    this.sink.schedule(0);
  }

  /** Drops every held packet (releasing its slot through discard is wrong: they are neither late nor duplicates). */
  clear(release: (handle: number) => void): void {
    for (let i = 0; i < this.seqs.length; i++) {
      if (this.seqs[i] >= 0) release(this.handles[i]);
      this.seqs[i] = -1;
    }
    this.held = 0;
    this.sink.schedule(0);
  }

  /** Gives up on the expected packet: moves past it (it stays lost) and hands on what follows in order. */
  private skip(): void {
    const at = this.next & this.mask;
    if (this.seqs[at] === this.next) {
      this.take(at);
    } else {
      this.next = (this.next + 1) & 0xffff;
    }
    this.drain();
  }

  private drain(): void {
    while (this.held > 0) {
      const at = this.next & this.mask;
      if (this.seqs[at] !== this.next) return;
      this.take(at);
    }
  }

  private take(at: number): void {
    const handle = this.handles[at];
    this.seqs[at] = -1;
    this.held--;
    this.reordered++;
    this.next = (this.next + 1) & 0xffff;
    this.sink.emit(handle, this.ptrs[at], this.lengths[at], true);
  }

  private oldestArrival(): number {
    let oldest = Infinity;
    for (let i = 0; i < this.seqs.length; i++) if (this.seqs[i] >= 0 && this.arrivals[i] < oldest) oldest = this.arrivals[i];
    return oldest;
  }

  /** The sender restarted its numbering: hand on what is held, in order, and follow the new numbers. */
  private restart(seq: number): void {
    while (this.held > 0) this.skip();
    this.next = seq;
  }
}
