// A small plain-TypeScript depayloader (RFC 6184, RFC 7798, RFC 4175, RFC 3640) written from the RFCs and the rules
// of docs/frames.md, for the differential property test of assembly/depay.ts. Slow and simple on purpose: arrays of
// NAL units, no buffers. Also: an RTP packet builder, packetizers (single / STAP-A / FU-A, AP / FU) and a harness
// that feeds packets through the wasm Depayloader and copies its frames out.

import type { Core } from '../../src/core/core.js';
import { Depayloader, type DepayloaderOptions, type DepayStats } from '../../src/core/depay.js';

export const KEY = 1;
export const DISC = 2;
export const PS = 4;

/** One RTP packet, before serialization. */
export interface Pkt { seq: number; ts: number; marker: boolean; payload: Uint8Array; pt?: number; ssrc?: number }
/** One frame: its bytes (copied), RTP timestamp and flags. */
export interface Frame { data: Uint8Array; ts: number; flags: number }

/** Serializes a packet: 12-octet header, no CSRC/extension/padding. */
export function rtpBytes(p: Pkt): Uint8Array {
  const out = new Uint8Array(12 + p.payload.length);
  out[0] = 0x80;
  out[1] = (p.marker ? 0x80 : 0) | ((p.pt ?? 96) & 0x7f);
  out[2] = (p.seq >> 8) & 0xff; out[3] = p.seq & 0xff;
  const dv = new DataView(out.buffer);
  dv.setUint32(4, p.ts >>> 0);
  dv.setUint32(8, (p.ssrc ?? 0x1234_5678) >>> 0);
  out.set(p.payload, 12);
  return out;
}

function lengthPrefixed(nals: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const x of nals) n += 4 + x.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const x of nals) {
    new DataView(out.buffer).setUint32(o, x.length);
    out.set(x, o + 4);
    o += 4 + x.length;
  }
  return out;
}

export type Reason = 'loss' | 'tooLarge' | 'malformed' | 'waitingForKeyframe' | 'unsupported';

/** The reference depayloader. Same rules as the wasm one; see docs/frames.md. */
export class ReferenceDepayloader {
  readonly stats: DepayStats = {
    packets: 0, frames: 0, bytes: 0, lostPackets: 0, latePackets: 0, skippedPackets: 0,
    dropped: { loss: 0, tooLarge: 0, malformed: 0, waitingForKeyframe: 0, unsupported: 0 },
  };
  private expected: number | undefined;
  private active = false;
  private ts = 0;
  private nals: Uint8Array[] = [];
  private bytes = 0;
  private flags = 0;
  private broken: Reason | undefined;
  private fu: number[] | undefined; // the open fragmented NAL
  private pendingDisc = false;
  private waiting: boolean;
  private readonly codec: 'H264' | 'H265';

  constructor(codec: 'H264' | 'H265', private readonly maxFrameBytes: number, private readonly waitForKeyframe = false) {
    this.codec = codec;
    this.waiting = waitForKeyframe;
  }

  push(p: Pkt): Frame[] {
    const out: Frame[] = [];
    this.stats.packets++;
    let gap = false;
    if (this.expected !== undefined && p.seq !== this.expected) {
      const behind = (this.expected - p.seq) & 0xffff;
      if (behind <= 64) { // reordered or duplicated: dropped, nothing else changes
        this.stats.latePackets++;
        return out;
      }
      gap = true;
      const ahead = (p.seq - this.expected) & 0xffff;
      if (ahead < 0x8000) this.stats.lostPackets += ahead;
    }
    this.expected = (p.seq + 1) & 0xffff;
    if (gap) {
      this.pendingDisc = true;
      if (this.active) this.mark('loss');
    }
    if (this.active && (p.ts >>> 0) !== this.ts) this.complete(out);
    if (!this.active) {
      this.active = true; this.ts = p.ts >>> 0; this.nals = []; this.bytes = 0; this.flags = 0; this.broken = undefined; this.fu = undefined;
      if (gap) this.mark('loss');
    }
    if (this.broken !== undefined) { // the unit was dropped already: the rest of it is passed over unread
      this.stats.skippedPackets++;
      if (p.marker) this.complete(out);
      return out;
    }
    if (this.codec === 'H264') this.h264(p.payload); else this.h265(p.payload);
    if (p.marker) this.complete(out);
    return out;
  }

  flush(): Frame[] {
    const out: Frame[] = [];
    if (this.active) this.complete(out);
    this.expected = undefined;
    return out;
  }

  /** Drops the unit under `r` (the first reason wins), counted at once: it may never end. */
  private mark(r: Reason): void {
    if (this.broken !== undefined) return;
    this.broken = r;
    this.drop(r);
  }

  /** Accounts for `n` more octets; false (and marked) when the unit would pass maxFrameBytes. */
  private room(n: number): boolean {
    if (this.broken !== undefined) return false;
    if (this.bytes + n > this.maxFrameBytes) { this.mark('tooLarge'); return false; }
    this.bytes += n;
    return true;
  }

  private nalFlags(nal0: number): number {
    if (this.codec === 'H264') {
      const t = nal0 & 0x1f;
      return t === 5 ? KEY : t === 7 || t === 8 ? PS : 0;
    }
    const t = (nal0 >> 1) & 0x3f;
    return t >= 16 && t <= 23 ? KEY : t >= 32 && t <= 34 ? PS : 0;
  }

  private whole(nal: Uint8Array): void {
    if (this.room(4 + nal.length)) this.nals.push(nal.slice());
    this.flags |= this.nalFlags(nal[0]);
  }

  private aggregate(p: Uint8Array, from: number, minSize: number): void {
    if (from >= p.length) { this.mark('malformed'); return; }
    let i = from;
    while (i < p.length) {
      if (p.length - i < 2) { this.mark('malformed'); return; }
      const size = (p[i] << 8) | p[i + 1];
      i += 2;
      if (size < minSize || size > p.length - i) { this.mark('malformed'); return; }
      this.whole(p.subarray(i, i + size));
      i += size;
    }
  }

  private fragment(data: Uint8Array, fuHeader: number, header: number[]): void {
    const start = (fuHeader & 0x80) !== 0;
    const end = (fuHeader & 0x40) !== 0;
    if (start) {
      if (this.fu) this.mark('malformed');
      this.fu = [];
      if (this.room(4 + header.length + data.length)) this.fu.push(...header, ...data);
      this.flags |= this.nalFlags(header[0]);
    } else {
      if (!this.fu) { this.mark('malformed'); return; }
      if (this.room(data.length)) this.fu.push(...data);
    }
    if (end) {
      if (this.broken === undefined) this.nals.push(Uint8Array.from(this.fu));
      this.fu = undefined;
    }
  }

  private h264(p: Uint8Array): void {
    if (p.length === 0) { this.mark('malformed'); return; }
    const type = p[0] & 0x1f;
    if (type !== 28 && this.fu) { this.mark('malformed'); this.fu = undefined; }
    if (type >= 1 && type <= 23) this.whole(p);
    else if (type === 24) this.aggregate(p, 1, 1);
    else if (type === 28) {
      if (p.length < 2) { this.mark('malformed'); return; }
      this.fragment(p.subarray(2), p[1], [(p[0] & 0xe0) | (p[1] & 0x1f)]);
    } else this.mark('unsupported');
  }

  private h265(p: Uint8Array): void {
    if (p.length < 2) { this.mark('malformed'); return; }
    const type = (p[0] >> 1) & 0x3f;
    if (type !== 49 && this.fu) { this.mark('malformed'); this.fu = undefined; }
    if (type <= 47) this.whole(p);
    else if (type === 48) this.aggregate(p, 2, 2);
    else if (type === 49) {
      if (p.length < 3) { this.mark('malformed'); return; }
      this.fragment(p.subarray(3), p[2], [(p[0] & 0x81) | ((p[2] & 0x3f) << 1), p[1]]);
    } else this.mark('unsupported');
  }

  private drop(r: Reason): void {
    this.stats.dropped[r]++;
    this.pendingDisc = true;
    if (this.waitForKeyframe) this.waiting = true;
  }

  private complete(out: Frame[]): void {
    this.active = false;
    if (this.broken !== undefined) return; // counted when it broke
    const reason: Reason | undefined = this.fu || this.nals.length === 0 ? 'malformed' : undefined;
    this.fu = undefined;
    if (reason !== undefined) { this.drop(reason); return; }
    if (this.waiting) {
      if (!(this.flags & KEY)) { this.stats.dropped.waitingForKeyframe++; this.pendingDisc = true; return; }
      this.waiting = false;
    }
    const data = lengthPrefixed(this.nals);
    out.push({ data, ts: this.ts, flags: this.flags | (this.pendingDisc ? DISC : 0) });
    this.pendingDisc = false;
    this.stats.frames++;
    this.stats.bytes += data.length;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Packetizers: one access unit (a list of NAL units) → payloads, by a plan of single / aggregate / fragment.

/** A step of a packetization plan: how many NAL units go into the next packet, or fragment the next one. */
export type PlanStep = { kind: 'single' } | { kind: 'aggregate'; count: number } | { kind: 'fragment'; mtu: number };

/** Packetizes NAL units by `plan` (repeated while NAL units remain). H.264 (RFC 6184) or H.265 (RFC 7798). */
export function packetize(codec: 'H264' | 'H265', nals: Uint8Array[], next: (remaining: number, nalBytes: number) => PlanStep): Uint8Array[] {
  const out: Uint8Array[] = [];
  const hdr = codec === 'H264' ? 1 : 2;
  let i = 0;
  while (i < nals.length) {
    const step = next(nals.length - i, nals[i].length);
    if (step.kind === 'aggregate' && step.count >= 2) {
      const group = nals.slice(i, i + step.count);
      i += group.length;
      const parts: number[] = [];
      if (codec === 'H264') {
        let nri = 0;
        for (const n of group) nri = Math.max(nri, n[0] & 0x60);
        parts.push(nri | 24);
      } else {
        let tid = 7;
        for (const n of group) tid = Math.min(tid, n[1] & 7);
        parts.push(48 << 1, tid || 1);
      }
      for (const n of group) parts.push(n.length >> 8, n.length & 0xff, ...n);
      out.push(Uint8Array.from(parts));
    } else if (step.kind === 'fragment' && nals[i].length > hdr) {
      const n = nals[i++];
      const body = n.subarray(hdr);
      const chunk = Math.max(1, step.mtu);
      for (let o = 0; o < body.length || o === 0; o += chunk) {
        const s = o === 0 ? 0x80 : 0;
        const e = o + chunk >= body.length ? 0x40 : 0;
        const piece = body.subarray(o, o + chunk);
        if (codec === 'H264') out.push(Uint8Array.from([(n[0] & 0xe0) | 28, s | e | (n[0] & 0x1f), ...piece]));
        else out.push(Uint8Array.from([(n[0] & 0x81) | (49 << 1), n[1], s | e | ((n[0] >> 1) & 0x3f), ...piece]));
        if (e) break;
      }
    } else {
      out.push(nals[i++]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Harness: packets → core memory → rtp_parse → Depayloader.push; frames copied out.

/** Feeds packets to a wasm Depayloader through the core's scratch area, collecting copies of the frames. */
export class WasmDepayHarness {
  readonly depay: Depayloader;
  private readonly buf: number;
  private readonly rec: number;
  constructor(readonly core: Core, options: DepayloaderOptions) {
    this.depay = new Depayloader(core, options);
    this.buf = core.alloc(65536 + 368, 'test packet buffer');
    this.rec = this.buf + 65536;
  }
  /** Pushes one serialized packet; returns the frames it completed. */
  pushBytes(bytes: Uint8Array): Frame[] {
    const u8 = this.core.views();
    u8.set(bytes, this.buf);
    const status = this.core.exports.rtp_parse(this.buf, bytes.length, this.rec);
    if (status !== 0) throw new Error(`test packet does not parse: ${status}`);
    const n = this.depay.push(this.buf, bytes.length, this.rec);
    return this.collect(n);
  }
  push(p: Pkt): Frame[] {
    return this.pushBytes(rtpBytes(p));
  }
  flush(): Frame[] {
    return this.collect(this.depay.flush());
  }
  private collect(n: number): Frame[] {
    const out: Frame[] = [];
    for (let i = 0; i < n; i++) {
      out.push({ data: this.depay.frameView(i).slice(), ts: this.depay.frameTimestamp(i), flags: this.depay.frameFlags(i) });
    }
    return out;
  }
  private destroyed = false;
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.depay.destroy();
    this.core.free(this.buf);
  }
}

/** Length-prefixed frame bytes of an access unit (what the depayloader should produce). */
export function expectedFrame(nals: Uint8Array[]): Uint8Array {
  return lengthPrefixed(nals);
}
