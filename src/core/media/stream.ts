// A set-up medium as the session negotiated it: what the SDP said and how it travels. A description only — what
// arrives on it (statistics, sender reports, frames) belongs to the stream's StreamReceiver (receiver.ts).

import type { RtspTransport } from '../rtsp/header-values.js';
import type { SdpMedia } from '../rtsp/sdp.js';
import type { StreamStatistics } from '../stats.js';
import type { StreamFrames } from './frames.js';

/** The last RTCP sender report of a stream: RTP time ↔ the sender's wall clock (RFC 3550 §6.4.1). */
export interface SenderReportInfo {
  rtpTimestamp: number;
  /** The sender's wall clock at `rtpTimestamp` (ms since the Unix epoch). */
  wallClockMs: number;
  /** The middle 32 bits of its NTP timestamp: the LSR field of our receiver reports. */
  ntpMiddle: number;
  /** Local time it arrived (ms since the Unix epoch): DLSR of our receiver reports. */
  receivedAtMs: number;
}

/** What a session learns of a medium when it sets it up (the fields of MediaStream that never change after SETUP). */
export interface MediaStreamDescription {
  readonly id: number;
  /** 'video', 'audio', 'application', … */
  readonly type: string;
  /** The stream's control URL (SETUP target), without credentials. */
  readonly control: string;
  readonly payloadType: number;
  /** e.g. 'H264', 'H265', 'RAW', 'PCMU' (upper-cased). */
  readonly encodingName: string;
  readonly clockRate: number;
  readonly channels?: number;
  /** fmtp parameters of the payload type (sprop-parameter-sets, packetization-mode, profile-level-id, …). */
  readonly fmtp: Readonly<Record<string, string>>;
  /** The SDP medium and the Transport reply: an RTSP session always sets them; a stream described otherwise (the relay page's) has none. */
  readonly media?: SdpMedia;
  readonly transport?: RtspTransport;
  /** Interleaved channels (TCP). */
  readonly interleaved?: { rtp: number; rtcp: number };
  /** Local and server ports (UDP). */
  readonly clientPorts?: { rtp: number; rtcp: number };
  readonly serverPorts?: { rtp: number; rtcp: number };
}

/**
 * One set-up medium, read-only: its description, plus what its receiver learnt so far (`ssrc`, `rtpInfo`). The three
 * deprecated fields are getters onto the receiver, kept for one release (0.2); use `client.receiver(id)` instead.
 */
export interface MediaStream extends MediaStreamDescription {
  /** From PLAY's RTP-Info: the first sequence number and its RTP time. */
  readonly rtpInfo?: { seq?: number; rtptime?: number };
  /** SSRC seen on the stream's packets (or announced in Transport). */
  readonly ssrc?: number;
  /** @deprecated since 0.2: `receiver.statistics`. Reception statistics. */
  readonly statistics: StreamStatistics;
  /** @deprecated since 0.2: `receiver.frames`. The depayloader and codec configuration (frame mode). */
  readonly frames?: StreamFrames;
  /** @deprecated since 0.2: `receiver.lastSenderReport`. */
  readonly lastSenderReport?: SenderReportInfo;
}

/** What a MediaStream reads from its receiver. */
export interface MediaStreamState {
  readonly statistics: StreamStatistics;
  readonly frames?: StreamFrames;
  readonly lastSenderReport?: SenderReportInfo;
  readonly ssrc?: number;
  readonly rtpInfo?: { seq?: number; rtptime?: number };
}

/** A frozen MediaStream: `description`'s fields, and getters onto `state` for what changes while it plays. */
export function mediaStream(description: MediaStreamDescription, state: MediaStreamState): MediaStream {
  const stream = { ...description } as MediaStream;
  const live = (key: keyof MediaStreamState): PropertyDescriptor => ({ enumerable: true, get: () => state[key] });
  Object.defineProperties(stream, {
    statistics: live('statistics'),
    frames: live('frames'),
    lastSenderReport: live('lastSenderReport'),
    ssrc: live('ssrc'),
    rtpInfo: live('rtpInfo'),
  });
  return Object.freeze(stream);
}
