// The receiving end of one RTP stream, whatever carried its packets (interleaved TCP, UDP, a WebSocket): reception
// statistics, the last sender report, and frame mode's depayloader. One pass per packet, in this order:
//
//   receive(packet) → statistics (sequence, loss, jitter; duplicates dropped)
//                   → packet handlers (only when someone consumes this stream's packets)
//                   → depayloader (frame mode) → frame handlers, one call per completed access unit
//
// Portable: no Node API. The session (src/node/rtsp/client.ts) owns the sockets and timers and hands each packet to
// its stream's receiver; the wall clock of packets and frames is computed here, once (wallClockAt).

import type { Core } from '../core.js';
import { RTP_TIMESTAMP } from '../layout.js';
import { parseRtcp, type RtcpPacket } from '../rtcp.js';
import { StreamStatistics, type DropReason } from '../stats.js';
import { Frame, frameCodecOf, StreamFrames, type FrameModeOptions } from './frames.js';
import type { ReceivedPacket, RtpPacket } from './packet.js';
import { mediaStream, type MediaStream, type MediaStreamDescription, type SenderReportInfo } from './stream.js';

/** What a receiver needs from the session it belongs to: shared reused objects, the consumers and frame policy. */
export interface ReceiverHost {
  readonly core: Core;
  /** The reused packet object of the session (one for all its streams). */
  readonly packet: RtpPacket;
  /** The reused frame object of the session. */
  readonly frame: Frame;
  readonly frameOptions: FrameModeOptions;
  /** Frame mode is on (an option, a 'frame' listener, frames()). Read per packet: it may turn on while playing. */
  readonly framesOn: boolean;
  /** Someone consumes packets (a handler option or listeners). Read per packet. */
  readonly packetsWanted: boolean;
  /** Whether this stream's packets are wanted at all (default: yes); the command skips streams it sends as frames. */
  packetFilter?(stream: MediaStream): boolean;
  /** Hands a packet to the packet handler and listeners (the object is live only during the call). */
  deliverPacket(packet: RtpPacket): void;
  /** Hands a frame to the frame handler and listeners. */
  deliverFrame(frame: Frame): void;
  /** A failure that belongs to the consumer (a depayloader refusing a stream), reported, never thrown. */
  reportError(error: unknown): void;
}

/** Counters of RTCP on one stream (in ClientStats). */
export interface RtcpStats {
  /** RTCP compound packets received. */
  received: number;
  /** Ones that did not parse (never counted as RTP drops: they never were RTP packets). */
  parseErrors: number;
  senderReports: number;
  /** BYE packets naming the stream's SSRC (or any SSRC before one was seen). */
  byes: number;
}

/** One stream's receiver: see the file comment. */
export class StreamReceiver {
  /** The read-only description the session and the consumer see (its live fields read from here). */
  readonly stream: MediaStream;
  readonly statistics: StreamStatistics;
  /** SSRC announced in Transport, else the first one seen. */
  ssrc: number | undefined;
  /** From PLAY's RTP-Info. */
  rtpInfo: { seq?: number; rtptime?: number } | undefined;
  lastSenderReport: SenderReportInfo | undefined;
  /** Frame mode: the depayloader (made at the stream's first packet; undefined when its codec is not handled). */
  frames: StreamFrames | undefined;
  readonly rtcp: RtcpStats = { received: 0, parseErrors: 0, senderReports: 0, byes: 0 };
  /** The sender said BYE for this stream (RFC 3550 §6.6): it sends no more; the session should end or reconnect. */
  byeReceived = false;
  /** Arrival time (ms, as passed to receive) of the packet that completed the last frame; 0 before the first. */
  lastFrameAtMs = 0;
  /** Frame mode does not handle this stream (codec, or the frames.streams option): packets only. */
  private framesUnsupported = false;
  private packetsFiltered: boolean | undefined;

  constructor(private readonly host: ReceiverHost, description: MediaStreamDescription, ssrc?: number) {
    this.statistics = new StreamStatistics(description.clockRate);
    this.ssrc = ssrc;
    this.stream = mediaStream(description, this);
  }

  /** The sender's wall-clock time (ms since the Unix epoch) of RTP time `rtpTimestamp`, once a sender report came. */
  wallClockAt(rtpTimestamp: number): number | undefined {
    const ms = this.wallClockMsAt(rtpTimestamp | 0);
    return Number.isNaN(ms) ? undefined : ms;
  }

  /**
   * wallClockAt for hot paths: NaN before the first sender report, and the RTP timestamp as a signed 32-bit value
   * (`ts | 0`, a small integer: a larger number passed to a call that is not inlined is boxed, issue 12).
   */
  wallClockMsAt(rtpTimestampI32: number): number {
    const sr = this.lastSenderReport;
    if (sr === undefined) return Number.NaN;
    return sr.wallClockMs + (((rtpTimestampI32 - sr.rtpTimestamp) | 0) * 1000) / this.stream.clockRate;
  }

  /** Counts a packet dropped before reaching the consumer. */
  drop(reason: DropReason): void {
    this.statistics.dropped[reason]++;
  }

  /**
   * One received RTP packet (its bytes and record in core memory): statistics, packet handlers, depayloader. The
   * arrival time is the packet's arrivalMs; `nowMs`, when given, is written there first. The hot path passes none:
   * a double argument or local that crosses a call is boxed, one heap number per packet (issue 12).
   */
  receive(packet: ReceivedPacket, nowMs?: number): void {
    if (nowMs !== undefined) packet.arrivalMs = nowMs;
    if (packet.status !== 0) {
      this.statistics.dropped.parseError++;
      return;
    }
    const host = this.host;
    const p = host.packet;
    const header = p.header.at(packet.recordPtr);
    // Read as int32: always a small integer, so the optimized code never meets a value it did not expect (a u32 read
    // crosses 2^31 once per RTP timestamp cycle: a deopt, and boxed numbers until V8 optimizes again).
    const timestamp = host.core.i32[(packet.recordPtr + RTP_TIMESTAMP) >>> 2]!;
    const statistics = this.statistics;
    statistics.arrivalMs = packet.arrivalMs;
    if (!statistics.updateAt(header.sequenceNumber, timestamp, packet.length)) {
      this.statistics.dropped.duplicate++;
      return;
    }
    if (this.ssrc === undefined) this.ssrc = header.ssrc;
    if (host.packetsWanted && this.packetsPass()) {
      p.stream = this.stream;
      p.handle = packet.handle;
      p.byteOffset = packet.ptr;
      p.length = packet.length;
      p.recordPtr = packet.recordPtr;
      p.arrivalTimeMs = packet.arrivalMs;
      p.wallClockMs = this.lastSenderReport === undefined ? Number.NaN : this.wallClockMsAt(timestamp);
      host.deliverPacket(p);
    }
    if (host.framesOn) this.depayload(packet);
  }

  /** Whether this stream's packets go to the packet consumers (decided once, at its first packet). */
  private packetsPass(): boolean {
    this.packetsFiltered ??= this.host.packetFilter?.(this.stream) === false;
    return !this.packetsFiltered;
  }

  /** Frame mode: one wasm call per packet; each access unit it completes goes to the frame handlers. */
  private depayload(packet: ReceivedPacket): void {
    let frames = this.frames;
    if (frames === undefined) {
      if (this.framesUnsupported) return;
      const codec = frameCodecOf(this.stream.encodingName);
      if (codec === undefined || this.host.frameOptions.streams?.(this.stream) === false) {
        this.framesUnsupported = true;
        return;
      }
      try {
        frames = this.frames = new StreamFrames(this.host.core, this.stream, codec, this.host.frameOptions, this);
      } catch (e) {
        // A stream the depayloader refuses (e.g. raw video in a sampling it does not handle) stays packets-only.
        this.framesUnsupported = true;
        this.host.reportError(e);
        return;
      }
    }
    let n: number;
    try {
      n = frames.depay.push(packet.ptr, packet.length, packet.recordPtr);
    } catch (e) {
      // Only a misuse of the depayloader gets here (bad input is counted in its drops): reported, never thrown out of
      // a transport's read callback.
      this.host.reportError(e);
      return;
    }
    if (n <= 0) return;
    this.lastFrameAtMs = packet.arrivalMs;
    const f = this.host.frame;
    for (let i = 0; i < n; i++) {
      frames.fill(f, i);
      this.host.deliverFrame(f);
    }
  }

  /**
   * One RTCP compound packet of this stream: keeps the last sender report; returns the parsed packets (undefined when
   * they did not parse, counted in `rtcp.parseErrors`).
   */
  receiveRtcp(bytes: Uint8Array, nowMs: number): RtcpPacket[] | undefined {
    this.rtcp.received++;
    let packets: RtcpPacket[];
    try {
      packets = parseRtcp(bytes);
    } catch {
      this.rtcp.parseErrors++;
      return undefined;
    }
    if (packets.length === 0) {
      // An empty frame on the RTCP channel: no compound packet at all (RFC 3550 §6.1 wants at least an SR or RR).
      this.rtcp.parseErrors++;
      return undefined;
    }
    for (const p of packets) {
      const sr = p.senderReport;
      if (sr) {
        this.rtcp.senderReports++;
        this.lastSenderReport = {
          rtpTimestamp: sr.rtpTimestamp,
          wallClockMs: sr.wallClockMs,
          ntpMiddle: (((sr.ntpSeconds & 0xffff) << 16) | (sr.ntpFraction >>> 16)) >>> 0,
          receivedAtMs: nowMs,
        };
      }
      // A BYE for our SSRC (or any, before we know it): servers streaming a file send one at its end.
      const byes = p.byeSsrcs;
      if (byes !== undefined && (this.ssrc === undefined || byes.includes(this.ssrc))) {
        this.rtcp.byes++;
        this.byeReceived = true;
      }
    }
    return packets;
  }

  /** Frees the depayloader (its memory is in the core). */
  destroy(): void {
    this.frames?.destroy();
  }
}
