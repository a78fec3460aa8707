// Page-side half of test/browser/browser.test.ts: runs the built browser entry (dist/browser/index.js) in a real
// browser and returns plain JSON for the test to assert on. Plain JavaScript on purpose: it is served as is, and code
// passed to page.evaluate from the test file would be rewritten by vitest's transform first.
import {
  createCore, RtpParseError, LeaseReleasedError, WasmRtspError, parseRtspMessage, parseSdp,
} from '/dist/browser/index.js';

/** Where the test's server serves build/release.wasm (the browser entry's default URL resolves to the same place). */
const WASM_URL = new URL('/build/release.wasm', location.href).href;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A packet with everything optional in the RTP header (RFC 3550 §5.1, RFC 8285 §4.2). */
const RTP_WITH_CSRCS_AND_EXTENSION = [
  0xb2, //                   V=2, P=1, X=1, CC=2
  0xe0, //                   M=1, PT=96
  0x12, 0x34, //             sequence number 4660
  0xde, 0xad, 0xbe, 0xef, // timestamp 3735928559 (above 2^31: must come back unsigned)
  0x11, 0x22, 0x33, 0x44, // SSRC 287454020
  0xaa, 0xbb, 0xcc, 0xdd, // CSRC 2864434397
  0x01, 0x02, 0x03, 0x04, // CSRC 16909060
  0xbe, 0xde, 0x00, 0x02, // one-byte header extensions (0xBEDE), 2 words follow
  0x11, 0xaa, 0xbb, //       element id 1, L=1: 2 octets
  0x20, 0xcc, //             element id 2, L=0: 1 octet
  0x00, 0x00, 0x00, //       padding to the 32-bit boundary
  0x01, 0x02, 0x03, 0x04, // payload
  0x00, 0x02, //             RTP padding: 2 octets, this count included
];

/** The fields of an RtpHeader as JSON (extension data as arrays of octets). */
function headerJson(h) {
  return {
    version: h.version, padding: h.padding, extension: h.extension, csrcCount: h.csrcCount, marker: h.marker,
    payloadType: h.payloadType, sequenceNumber: h.sequenceNumber, timestamp: h.timestamp, ssrc: h.ssrc,
    csrcs: h.csrcs, extensionProfile: h.extensionProfile,
    headerExtensions: h.headerExtensions.map((e) => ({ id: e.id, data: Array.from(e.data) })),
    payloadOffset: h.payloadOffset, payloadLength: h.payloadLength, paddingLength: h.paddingLength,
  };
}

/** A caught error as JSON, with what instanceof says about the library's classes. */
function errorJson(e) {
  return {
    name: e?.name, code: e?.code, message: String(e?.message), url: e?.context?.url,
    isRtpParseError: e instanceof RtpParseError, isLeaseReleasedError: e instanceof LeaseReleasedError,
    isWasmRtspError: e instanceof WasmRtspError,
  };
}

/** A 12-octet RTP header (PT 96, SSRC 0x01020304) and `payload` octets of value `fill`. */
function rtp(seq, marker, payload, fill) {
  const p = new Uint8Array(12 + payload);
  p.set([0x80, (marker ? 0x80 : 0) | 96, seq >> 8, seq & 0xff, 0, 0, 0x03, 0xe8, 1, 2, 3, 4]);
  p.fill(fill, 12);
  return p;
}

/** One interleaved frame (RFC 2326 §10.12): '$', channel, 16-bit length, data. */
function frame(channel, data) {
  const f = new Uint8Array(4 + data.length);
  f.set([0x24, channel, data.length >> 8, data.length & 0xff]);
  f.set(data, 4);
  return f;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const SDP = [
  'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=cam', 't=0 0', 'a=control:*',
  'm=video 0 RTP/AVP 96', 'a=rtpmap:96 H264/90000', 'a=fmtp:96 packetization-mode=1;profile-level-id=42e01f',
  'a=control:trackID=0', '',
].join('\r\n');

/** A DESCRIBE reply carrying the SDP, as a camera sends it on the RTSP connection. */
const DESCRIBE_REPLY = encoder.encode(
  'RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Base: rtsp://127.0.0.1:8554/cam/\r\nContent-Type: application/sdp\r\n'
  + `Content-Length: ${encoder.encode(SDP).length}\r\n\r\n${SDP}`,
);

/** Two RTP frames, the DESCRIBE reply between them, then a frame too short to be RTP. */
const INTERLEAVED_STREAM = concat([
  frame(0, rtp(100, false, 20, 0xa1)),
  DESCRIBE_REPLY,
  frame(0, rtp(101, true, 300, 0xb2)),
  frame(0, new Uint8Array([0x80, 96, 0, 102, 0, 0, 0, 0])),
]);

/** A quick proof that a core works: parses a minimal packet. */
function smoke(core) {
  return {
    sequenceNumber: core.parseRtpHeader(new Uint8Array([0x80, 96, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1])).sequenceNumber,
    memoryBytes: core.memoryBytes,
  };
}

const checks = {
  /** createCore() with no source: fetches the package's build/release.wasm next to the entry. */
  async loadDefault() {
    const core = await createCore();
    return smoke(core);
  },

  /** createCore from a fetch Response (its promise), from bytes (ArrayBuffer and a view) and from a Module. */
  async loadOtherSources() {
    const fromResponse = await createCore({ wasm: fetch(WASM_URL), memoryBytes: 1 << 20 });
    const bytes = await (await fetch(WASM_URL)).arrayBuffer();
    const fromBuffer = await createCore({ wasm: bytes, memoryBytes: 1 << 20 });
    const fromView = await createCore({ wasm: new Uint8Array(bytes), memoryBytes: 1 << 20 });
    const module = await WebAssembly.compile(bytes);
    const fromModule = await createCore({ wasm: module, memoryBytes: 1 << 20 });
    const shared = await createCore({ wasm: fromModule.module, memoryBytes: 1 << 20 });
    let missing;
    try {
      await createCore({ wasm: fetch(new URL('/build/no-such.wasm', location.href)) });
    } catch (e) {
      missing = errorJson(e);
    }
    let missingUrl;
    try {
      await createCore({ wasm: new URL('/build/no-such-either.wasm', location.href) });
    } catch (e) {
      missingUrl = errorJson(e);
    }
    return {
      response: smoke(fromResponse), buffer: smoke(fromBuffer), view: smoke(fromView), module: smoke(fromModule),
      moduleIsShared: fromModule.module === module && shared.module === module,
      separateMemories: fromModule.memory !== shared.memory,
      wasmBytes: bytes.byteLength,
      missing, missingUrl,
    };
  },

  /** createCore from a URL where nothing listens: the fetch itself rejects. */
  async loadUnreachable(url) {
    try {
      await createCore({ wasm: url });
      return { ok: true };
    } catch (e) {
      return errorJson(e);
    }
  },

  /** parseRtpHeader on a full-featured packet, and on a truncated one. */
  async parseRtp() {
    const core = await createCore();
    const packet = new Uint8Array(RTP_WITH_CSRCS_AND_EXTENSION);
    const header = headerJson(core.parseRtpHeader(packet));
    const truncated = {};
    for (const [name, length] of [['fixedHeader', 11], ['csrcs', 16], ['extension', 26]]) {
      try {
        core.parseRtpHeader(packet.subarray(0, length));
        truncated[name] = 'no error';
      } catch (e) {
        truncated[name] = errorJson(e);
      }
    }
    return { header, truncated };
  },

  /** The interleaved stream pushed in 7-octet chunks (as from a WebSocket), and in one piece for comparison. */
  async demux() {
    const core = await createCore();
    const run = (chunkBytes) => {
      const demuxer = core.createDemuxer({ channels: [{ channel: 0, rtp: true }] });
      const events = [];
      const onEvent = (ev) => {
        if (ev.kind === 'frame') {
          // The view is valid only during the callback: read what is kept now.
          const e = { kind: ev.kind, channel: ev.channel, status: ev.status, length: ev.data.length,
            inCoreMemory: ev.data.buffer === core.memory.buffer };
          if (ev.status === 0) {
            const h = core.parseRtpHeader(ev.data);
            Object.assign(e, { sequenceNumber: h.sequenceNumber, marker: h.marker, payloadLength: h.payloadLength,
              firstPayloadOctet: ev.data[h.payloadOffset] });
          }
          events.push(e);
        } else if (ev.kind === 'message') {
          events.push({ kind: ev.kind, headerLength: ev.headerLength, bodyLength: ev.bodyLength,
            bytes: Array.from(ev.data) });
        } else {
          events.push({ kind: ev.kind, error: errorJson(ev.error) });
        }
      };
      let pushes = 0;
      for (let at = 0; at < INTERLEAVED_STREAM.length; at += chunkBytes) {
        // A copy, as a WebSocket hands over a fresh ArrayBuffer per message.
        demuxer.push(INTERLEAVED_STREAM.slice(at, at + chunkBytes), onEvent);
        pushes++;
      }
      return { pushes, events, stats: demuxer.stats() };
    };
    const chunked = run(7);
    const whole = run(INTERLEAVED_STREAM.length);
    // The message as the demuxer reported it, parsed as RTSP, its body as SDP.
    const message = chunked.events.find((e) => e.kind === 'message');
    let rtsp;
    if (message) {
      const m = parseRtspMessage(new Uint8Array(message.bytes));
      const body = decoder.decode(m.body);
      const sdp = parseSdp(body);
      const video = sdp.media[0];
      rtsp = {
        kind: m.kind, version: m.version, statusCode: m.statusCode, reason: m.reason,
        cseq: m.headers.get('cseq'), contentType: m.headers.get('CONTENT-TYPE'),
        contentBase: m.headers.get('Content-Base'), bodyIsSdp: body === SDP,
        sdp: {
          bodyBytes: m.body.length, version: sdp.version, sessionName: sdp.sessionName, control: sdp.control, mediaCount: sdp.media.length,
          type: video?.type, protocol: video?.protocol, formats: video?.formats, control0: video?.control,
          rtpmap96: video?.rtpmap.get(96),
          fmtp96: video ? Object.fromEntries(video.fmtp.get(96) ?? []) : undefined,
        },
      };
      message.bytes = message.bytes.length; // the test needs the count, not every octet
    }
    for (const e of whole.events) if (e.kind === 'message') e.bytes = e.bytes.length;
    return { streamBytes: INTERLEAVED_STREAM.length, describeBytes: DESCRIBE_REPLY.length, chunked, whole, rtsp };
  },

  /** A pool lease: its view is core memory until released, then it throws. */
  async pool() {
    const core = await createCore();
    const pool = core.createPool({ limitBytes: 65536 * 4, name: 'browser' });
    const lease = pool.acquire(1400);
    const view = lease.view;
    view.fill(0x5a);
    const before = {
      length: lease.length, viewLength: view.length, inCoreMemory: view.buffer === core.memory.buffer,
      byteOffset: view.byteOffset === lease.byteOffset, written: core.u8[lease.byteOffset + 1399],
      inUse: pool.stats().inUse,
    };
    lease.release();
    let afterRelease;
    try {
      afterRelease = { value: lease.view.length };
    } catch (e) {
      afterRelease = errorJson(e);
    }
    const stats = pool.stats();
    return { before, released: lease.released, afterRelease, stats: { inUse: stats.inUse, acquires: stats.acquires, releases: stats.releases } };
  },

  /** What kind of global scope this is: a browser window, without Node's globals. */
  environment() {
    return {
      buffer: typeof globalThis.Buffer, process: typeof globalThis.process, require: typeof globalThis.require,
      window: typeof window, document: typeof document, userAgent: navigator.userAgent,
      compileStreaming: typeof WebAssembly.compileStreaming,
    };
  },
};

window.wasmRtspChecks = checks;
