// The plain-Node ingest baseline of the ingest benchmarks: what a typical JavaScript RTSP library does, written for
// the bench (no third-party code). A `net` socket; on each 'data' event the chunk is appended to what was left over
// (Buffer.concat), RTSP replies and RFC 2326 §10.12 interleaved frames are cut out of it, every RTP packet becomes a
// Buffer (a view of the chunk) and a parsed header object, and frames are depayloaded in JS:
//   H.264 (RFC 6184): single NAL units, STAP-A and FU-A; the NAL units of an access unit are gathered in an array and
//                     joined with Buffer.concat into 4-byte length-prefixed (AVC) form on the marker bit;
//   raw video (RFC 4175): each segment is copied into a frame buffer allocated per frame (Buffer.allocUnsafe).
// It is fair, not a strawman: one pass over the bytes, no per-byte work in JS beyond the copies any JS depayloader
// makes, no debug logging. It plays one video stream over TCP and has no auth, redirects or RTCP: the bench
// server needs none of them.

import net from 'node:net';

/** A parsed RTP packet: one object and one Buffer (a view of the socket chunk) per packet. */
export interface JsRtpPacket {
  version: number;
  padding: boolean;
  extension: boolean;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  /** RFC 3550 §5.3.1 extension: profile and data, if present. */
  headerExtension?: { profile: number; data: Buffer };
  payload: Buffer;
}

/** An access unit: 4-byte length-prefixed NAL units (H.264) or a whole packed picture (raw). */
export interface JsFrame {
  data: Buffer;
  timestamp: number;
  keyframe: boolean;
}

/** Counters of the baseline, to compare with the wasm client's. */
export interface NodeIngestStats {
  bytes: number;
  dataEvents: number;
  packets: number;
  rtcpPackets: number;
  frames: number;
  /** Sequence gaps seen (packets lost). */
  lost: number;
  /** Packets whose RTP header did not parse. */
  malformed: number;
}

/** Options of NodeIngest. */
export interface NodeIngestOptions {
  /** Depayload into frames ('frame' callback) as well as handing out packets. */
  frames: boolean;
  onPacket?: (packet: JsRtpPacket) => void;
  onFrame?: (frame: JsFrame) => void;
}

/** Timeout of each RTSP request. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Keep-alive interval (GET_PARAMETER), well under the default 60 s session timeout. */
const KEEP_ALIVE_MS = 20_000;

const EMPTY: Buffer = Buffer.alloc(0);

/** Parses an RTP header (RFC 3550 §5.1) into a new object; throws on a malformed packet. */
export function parseRtp(buf: Buffer): JsRtpPacket {
  if (buf.length < 12) throw new Error(`RTP packet too short: ${buf.length}`);
  const b0 = buf[0]!;
  const version = b0 >> 6;
  if (version !== 2) throw new Error(`RTP version ${version}`);
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  const b1 = buf[1]!;
  let offset = 12 + cc * 4;
  if (buf.length < offset) throw new Error('RTP CSRC list truncated');
  const csrcs: number[] = [];
  for (let i = 0; i < cc; i++) csrcs.push(buf.readUInt32BE(12 + i * 4));
  let headerExtension: JsRtpPacket['headerExtension'];
  if (extension) {
    if (buf.length < offset + 4) throw new Error('RTP extension truncated');
    const profile = buf.readUInt16BE(offset);
    const words = buf.readUInt16BE(offset + 2);
    const end = offset + 4 + words * 4;
    if (buf.length < end) throw new Error('RTP extension truncated');
    headerExtension = { profile, data: buf.subarray(offset + 4, end) };
    offset = end;
  }
  let end = buf.length;
  if (padding) {
    const pad = buf[buf.length - 1]!;
    if (pad === 0 || offset + pad > end) throw new Error('RTP padding invalid');
    end -= pad;
  }
  return {
    version, padding, extension, marker: (b1 & 0x80) !== 0, payloadType: b1 & 0x7f,
    sequenceNumber: buf.readUInt16BE(2), timestamp: buf.readUInt32BE(4), ssrc: buf.readUInt32BE(8),
    csrcs, headerExtension, payload: buf.subarray(offset, end),
  };
}

/** RFC 6184 depayloader: gathers the NAL units of an access unit, joins them on the marker bit. */
export class JsH264Depayloader {
  private nals: Buffer[] = [];
  private fu: Buffer[] | undefined;
  private timestamp = -1;
  private broken = false;
  keyframe = false;
  dropped = 0;

  constructor(private readonly emit: (frame: JsFrame) => void) {}

  /** Feeds one packet; `gap` is true when packets were lost just before it. */
  push(p: JsRtpPacket, gap: boolean): void {
    if (p.timestamp !== this.timestamp) {
      if (this.nals.length > 0) this.complete();
      this.timestamp = p.timestamp;
    }
    if (gap) {
      this.broken = true;
      this.fu = undefined;
    }
    const payload = p.payload;
    if (payload.length < 1) {
      this.broken = true;
    } else {
      const type = payload[0]! & 0x1f;
      if (type >= 1 && type <= 23) {
        this.addNal(payload);
      } else if (type === 24) {
        // STAP-A: 16-bit sizes, each followed by a NAL unit.
        let i = 1;
        while (i + 2 <= payload.length) {
          const size = payload.readUInt16BE(i);
          i += 2;
          if (size === 0 || i + size > payload.length) {
            this.broken = true;
            break;
          }
          this.addNal(payload.subarray(i, i + size));
          i += size;
        }
      } else if (type === 28) {
        // FU-A: the NAL header is rebuilt from the FU indicator's F/NRI and the FU header's type.
        if (payload.length < 3) {
          this.broken = true;
        } else {
          const fuHeader = payload[1]!;
          if (fuHeader & 0x80) {
            this.fu = [Buffer.from([(payload[0]! & 0xe0) | (fuHeader & 0x1f)])];
          }
          if (this.fu) {
            this.fu.push(payload.subarray(2));
            if (fuHeader & 0x40) {
              this.addNal(Buffer.concat(this.fu));
              this.fu = undefined;
            }
          } else {
            this.broken = true;
          }
        }
      } else {
        this.broken = true;
      }
    }
    if (p.marker) this.complete();
  }

  private addNal(nal: Buffer): void {
    if ((nal[0]! & 0x1f) === 5) this.keyframe = true;
    this.nals.push(nal);
  }

  private complete(): void {
    if (this.broken || this.fu !== undefined || this.nals.length === 0) {
      if (this.nals.length > 0 || this.broken) this.dropped++;
    } else {
      const parts: Buffer[] = [];
      for (const nal of this.nals) {
        const length = Buffer.allocUnsafe(4);
        length.writeUInt32BE(nal.length, 0);
        parts.push(length, nal);
      }
      this.emit({ data: Buffer.concat(parts), timestamp: this.timestamp, keyframe: this.keyframe });
    }
    this.nals = [];
    this.fu = undefined;
    this.broken = false;
    this.keyframe = false;
  }
}

/** RFC 4175 depayloader for 8-bit 4:2:2 (UYVY, pgroup of 4 bytes per 2 pixels): segments copied into a new frame. */
export class JsRawDepayloader {
  private frame: Buffer | undefined;
  private broken = false;
  private readonly stride: number;
  private readonly frameBytes: number;
  dropped = 0;

  constructor(width: number, height: number, private readonly emit: (frame: JsFrame) => void) {
    this.stride = width * 2;
    this.frameBytes = this.stride * height;
  }

  push(p: JsRtpPacket, gap: boolean): void {
    if (gap) this.broken = true;
    this.frame ??= Buffer.allocUnsafe(this.frameBytes);
    const payload = p.payload;
    // 2 bytes of extended sequence number, then 6-byte line headers while the continuation bit is set.
    let h = 2;
    let data = 2;
    for (;;) {
      if (h + 6 > payload.length) {
        this.broken = true;
        break;
      }
      data = h + 6;
      if (!(payload[h + 4]! & 0x80)) break;
      h += 6;
    }
    if (!this.broken) {
      const headersEnd = data;
      for (let i = 2; i < headersEnd; i += 6) {
        const length = payload.readUInt16BE(i);
        const line = payload.readUInt16BE(i + 2) & 0x7fff;
        const offset = payload.readUInt16BE(i + 4) & 0x7fff;
        const at = line * this.stride + offset * 2;
        if (data + length > payload.length || at + length > this.frameBytes) {
          this.broken = true;
          break;
        }
        payload.copy(this.frame, at, data, data + length);
        data += length;
      }
    }
    if (p.marker) {
      if (this.broken) this.dropped++;
      else this.emit({ data: this.frame, timestamp: p.timestamp, keyframe: true });
      this.frame = undefined;
      this.broken = false;
    }
  }
}

interface Reply {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** A minimal RTSP/TCP client doing the whole ingest in JavaScript; see the file comment. */
export class NodeIngest {
  readonly stats: NodeIngestStats = { bytes: 0, dataEvents: 0, packets: 0, rtcpPackets: 0, frames: 0, lost: 0, malformed: 0 };
  private socket: net.Socket | undefined;
  private pending: Buffer = EMPTY;
  private cseq = 0;
  private session = '';
  private waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> } | undefined;
  private depay: { push(p: JsRtpPacket, gap: boolean): void; dropped: number } | undefined;
  private lastSeq = -1;
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private controlUrl = '';
  /** Encoding name and fmtp of the video stream, from the SDP. */
  encodingName = '';
  fmtp: Record<string, string> = {};

  constructor(readonly url: string, private readonly options: NodeIngestOptions) {}

  /** DESCRIBE, SETUP (TCP interleaved 0-1) and PLAY. */
  async open(): Promise<void> {
    const u = new URL(this.url);
    const socket = net.connect(Number(u.port || 554), u.hostname);
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.waiting?.reject(e));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const describe = await this.request('DESCRIBE', this.url, { Accept: 'application/sdp' });
    const base = describe.headers.get('content-base') ?? this.url;
    this.parseSdp(describe.body, base);
    const setup = await this.request('SETUP', this.controlUrl, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
    this.session = (setup.headers.get('session') ?? '').split(';')[0]!.trim();
    const fmtp = this.fmtp;
    const emit = (frame: JsFrame) => {
      this.stats.frames++;
      this.options.onFrame?.(frame);
    };
    if (this.options.frames) {
      if (this.encodingName === 'H264') this.depay = new JsH264Depayloader(emit);
      else if (this.encodingName === 'RAW' && fmtp.sampling === 'YCbCr-4:2:2' && (fmtp.depth ?? '8') === '8') {
        this.depay = new JsRawDepayloader(Number(fmtp.width), Number(fmtp.height), emit);
      } else throw new Error(`the JS baseline depayloads H264 and RAW YCbCr-4:2:2 8-bit only, not ${this.encodingName}`);
    }
    await this.request('PLAY', base, { Range: 'npt=0.000-' });
    this.keepAlive = setInterval(() => void this.request('GET_PARAMETER', base, {}).catch(() => {}), KEEP_ALIVE_MS);
    this.keepAlive.unref();
  }

  /** TEARDOWN (bounded) and close the socket. */
  async close(): Promise<void> {
    clearInterval(this.keepAlive);
    if (this.socket && !this.socket.destroyed) {
      await this.request('TEARDOWN', this.url, {}).catch(() => {});
      this.socket.destroy();
    }
  }

  /** Frames dropped by the depayloader (loss or malformed). */
  get droppedFrames(): number {
    return this.depay?.dropped ?? 0;
  }

  private parseSdp(sdp: string, base: string): void {
    let inVideo = false;
    let pt = '';
    for (const line of sdp.split(/\r?\n/)) {
      if (line.startsWith('m=')) {
        inVideo = line.startsWith('m=video');
        pt = line.split(' ')[3] ?? '';
      } else if (inVideo && line.startsWith('a=control:')) {
        const control = line.slice('a=control:'.length).trim();
        this.controlUrl = /^rtsp:/i.test(control) ? control : base.replace(/\/?$/, '/') + control;
      } else if (inVideo && line.startsWith(`a=rtpmap:${pt} `)) {
        this.encodingName = line.split(' ')[1]!.split('/')[0]!.toUpperCase();
      } else if (inVideo && line.startsWith(`a=fmtp:${pt} `)) {
        for (const kv of line.slice(line.indexOf(' ') + 1).split(';')) {
          const eq = kv.indexOf('=');
          if (eq > 0) this.fmtp[kv.slice(0, eq).trim().toLowerCase()] = kv.slice(eq + 1).trim();
        }
      }
    }
    if (!this.controlUrl) throw new Error('no video stream in the SDP');
  }

  private request(method: string, url: string, headers: Record<string, string>): Promise<Reply> {
    if (this.waiting) return Promise.reject(new Error('one request at a time'));
    let text = `${method} ${url} RTSP/1.0\r\nCSeq: ${++this.cseq}\r\nUser-Agent: node-ingest-baseline\r\n`;
    if (this.session) text += `Session: ${this.session}\r\n`;
    for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`${method}: no reply within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.waiting = {
        resolve: (r) => {
          clearTimeout(timer);
          this.waiting = undefined;
          if (r.status >= 300) reject(new Error(`${method}: ${r.status}`));
          else resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          this.waiting = undefined;
          reject(e);
        },
        timer,
      };
      this.socket!.write(`${text}\r\n`);
    });
  }

  private onData(chunk: Buffer): void {
    this.stats.bytes += chunk.length;
    this.stats.dataEvents++;
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (at < buf.length) {
      if (buf[at] === 0x24) {
        if (at + 4 > buf.length) break;
        const channel = buf[at + 1]!;
        const length = buf.readUInt16BE(at + 2);
        if (at + 4 + length > buf.length) break;
        const packet = buf.subarray(at + 4, at + 4 + length);
        at += 4 + length;
        if (channel === 0) this.onRtp(packet);
        else this.stats.rtcpPackets++;
      } else {
        const end = buf.indexOf('\r\n\r\n', at, 'latin1');
        if (end < 0) break;
        const head = buf.toString('latin1', at, end);
        const headers = new Map<string, string>();
        const lines = head.split('\r\n');
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
        }
        const bodyLength = Number(headers.get('content-length') ?? 0);
        if (end + 4 + bodyLength > buf.length) break;
        const body = buf.toString('utf8', end + 4, end + 4 + bodyLength);
        at = end + 4 + bodyLength;
        const status = Number(/^RTSP\/1\.0 (\d+)/.exec(lines[0]!)?.[1] ?? 0);
        this.waiting?.resolve({ status, headers, body });
      }
    }
    this.pending = at < buf.length ? buf.subarray(at) : EMPTY;
  }

  private onRtp(bytes: Buffer): void {
    let p: JsRtpPacket;
    try {
      p = parseRtp(bytes);
    } catch {
      this.stats.malformed++;
      return;
    }
    this.stats.packets++;
    const gap = this.lastSeq >= 0 && p.sequenceNumber !== ((this.lastSeq + 1) & 0xffff);
    if (gap) this.stats.lost += (p.sequenceNumber - this.lastSeq - 1) & 0xffff;
    this.lastSeq = p.sequenceNumber;
    this.options.onPacket?.(p);
    this.depay?.push(p, gap);
  }
}
