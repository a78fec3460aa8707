// Per-stream reception statistics of RFC 3550 Appendix A: extended sequence numbers with wrap-around (A.1), loss,
// reordering and duplicates, interarrival jitter (A.8), and the per-interval figures a receiver report needs (A.3).
// One instance per SSRC/stream; `update` runs once per packet and allocates nothing.

const SEQ_MOD = 0x10000;
/** A jump larger than this (in either direction) is a restart of the sender, not reordering (A.1's MAX_DROPOUT). */
const MAX_DROPOUT = 3000;
/** How far back a late packet still counts as reordered rather than a restart (A.1's MAX_MISORDER). */
const MAX_MISORDER = 100;
/** Size of the window of recently seen sequence numbers used to tell duplicates from late packets. */
const SEEN_WINDOW = 1024;

/** Why a packet was dropped before reaching the consumer. Every drop is counted under one of these. */
export type DropReason = 'poolExhausted' | 'parseError' | 'oversized' | 'duplicate' | 'queueFull' | 'late';

/** Counters of one stream, as returned by `StreamStatistics.snapshot()`. */
export interface StreamStats {
  packets: number;
  bytes: number;
  /** Expected − received, from the extended highest sequence number (A.3); never negative here. */
  lost: number;
  reordered: number;
  duplicates: number;
  /** Interarrival jitter in RTP timestamp units (A.8). */
  jitter: number;
  /** Jitter in milliseconds (needs the clock rate). */
  jitterMs: number;
  /** Extended highest sequence number received. */
  highestSequence: number;
  dropped: Record<DropReason, number>;
}

/** Sequence, loss and jitter bookkeeping for one RTP stream. */
export class StreamStatistics {
  packets = 0;
  bytes = 0;
  reordered = 0;
  duplicates = 0;
  /** Jitter estimate, in RTP timestamp units, as a float (A.8 keeps it scaled; we keep it exact). */
  jitter = 0;
  /** Arrival time (ms, as passed to update) of the last packet counted; 0 before the first. */
  lastArrivalMs = 0;
  readonly dropped: Record<DropReason, number> = {
    poolExhausted: 0, parseError: 0, oversized: 0, duplicate: 0, queueFull: 0,
    // Arrived after the UDP reorder buffer had given up on it and moved past (it also counts as lost).
    late: 0,
  };
  private started = false;
  private baseSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private lastTransit = Number.NaN;
  private readonly seen = new Uint8Array(SEEN_WINDOW);

  constructor(readonly clockRate: number) {}

  /**
   * Counts one packet. `arrivalMs` is the local arrival time; returns false when the packet is a duplicate (the
   * caller drops it and counts it in `dropped.duplicate`).
   */
  update(seq: number, rtpTimestamp: number, arrivalMs: number, length: number): boolean {
    this.arrivalMs = arrivalMs;
    this.rtpTimestamp = rtpTimestamp;
    return this.count(seq, length);
  }

  /**
   * update() for hot paths: the arrival time is read from `arrivalMs` (set it first) and the RTP timestamp is given
   * as a signed 32-bit value (`timestamp | 0`). Doubles passed to a call that is not inlined are boxed, one heap
   * number per packet; through fields and small integers nothing is allocated (issue 12).
   */
  updateAt(seq: number, rtpTimestampI32: number, length: number): boolean {
    this.rtpTimestamp = rtpTimestampI32 >>> 0;
    return this.count(seq, length);
  }

  /** Arrival time (ms) and RTP timestamp of the packet being counted: fields, not arguments (see updateAt). */
  arrivalMs = 0.5;
  private rtpTimestamp = 0.5;

  private count(seq: number, length: number): boolean {
    if (!this.started) {
      this.started = true;
      this.baseSeq = seq;
      this.maxSeq = seq;
      this.seen.fill(0);
      this.seen[seq % SEEN_WINDOW] = 1;
      this.accept(length);
      return true;
    }
    const delta = (seq - this.maxSeq + SEQ_MOD) % SEQ_MOD;
    if (delta === 0) {
      this.duplicates++;
      return false;
    }
    if (delta < MAX_DROPOUT) {
      // In order, possibly with a gap: clear the window slots we jumped over.
      for (let s = 1; s <= delta && s <= SEEN_WINDOW; s++) this.seen[(this.maxSeq + s) % SEEN_WINDOW] = 0;
      if (seq < this.maxSeq) this.cycles += SEQ_MOD;
      this.maxSeq = seq;
    } else if (delta > SEQ_MOD - MAX_MISORDER) {
      // Late: a duplicate if we saw it, otherwise reordered.
      if (SEQ_MOD - delta < SEEN_WINDOW && this.seen[seq % SEEN_WINDOW]) {
        this.duplicates++;
        return false;
      }
      this.reordered++;
    } else {
      // A big jump: the sender restarted its sequence. Re-base (A.1 waits for two packets; cameras restart rarely and
      // a live view prefers to follow at once).
      this.baseSeq = seq;
      this.maxSeq = seq;
      this.cycles = 0;
      this.received = 0;
      this.expectedPrior = 0;
      this.receivedPrior = 0;
      this.seen.fill(0);
    }
    this.seen[seq % SEEN_WINDOW] = 1;
    this.accept(length);
    return true;
  }

  private accept(length: number): void {
    const arrivalMs = this.arrivalMs;
    const rtpTimestamp = this.rtpTimestamp;
    this.packets++;
    this.lastArrivalMs = arrivalMs;
    this.received++;
    this.bytes += length;
    // A.8: transit = arrival (in RTP units) − RTP timestamp; J += (|D| − J) / 16.
    const arrival = (arrivalMs * this.clockRate) / 1000;
    const transit = arrival - rtpTimestamp;
    if (!Number.isNaN(this.lastTransit)) {
      let d = Math.abs(transit - this.lastTransit);
      if (d > 2 ** 31) d = Math.abs(d - 2 ** 32); // RTP timestamp wrapped between the two packets
      this.jitter += (d - this.jitter) / 16;
    }
    this.lastTransit = transit;
  }

  /** Extended highest sequence number received (cycles + max). */
  get extendedMax(): number {
    return this.cycles + this.maxSeq;
  }

  /** Packets expected from the first sequence number to the highest (A.3). */
  get expected(): number {
    return this.started ? this.extendedMax - this.baseSeq + 1 : 0;
  }

  /** Cumulative loss (A.3), never below 0 (duplicates are not counted as received). */
  get lost(): number {
    return Math.max(0, this.expected - this.received);
  }

  /** Fraction lost since the previous call, as the 8-bit fixed point of a report block (A.3); advances the interval. */
  takeFractionLost(): number {
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    if (expectedInterval === 0 || lostInterval <= 0) return 0;
    return Math.min(255, Math.floor((lostInterval * 256) / expectedInterval));
  }

  /** A plain-object copy of the counters. */
  snapshot(): StreamStats {
    return {
      packets: this.packets,
      bytes: this.bytes,
      lost: this.lost,
      reordered: this.reordered,
      duplicates: this.duplicates,
      jitter: this.jitter,
      jitterMs: this.clockRate > 0 ? (this.jitter * 1000) / this.clockRate : 0,
      highestSequence: this.extendedMax,
      dropped: { ...this.dropped },
    };
  }
}
