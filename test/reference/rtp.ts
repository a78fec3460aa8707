// A small, deliberately plain RTP header parser used as the oracle of the wasm parser's tests. It follows the same
// rules (RFC 3550 §5.1, §5.3.1; RFC 8285) in the same order and returns the same status codes; it is written for
// reading, not for speed: one step per rule, DataView for every multi-octet field.

import { Status } from '../../src/core/status.js';
import { parseRtpHeader, readRtpRecord, RtpParseError, RtpRecordView, type RtpHeader, type RtpHeaderExtension } from '../../src/core/rtp.js';
import { BATCH_DESC_BYTES, RTP_RECORD_BYTES } from '../../src/core/layout.js';
import type { Core } from '../../src/core/core.js';

/** Outcome of the reference parse: a status, and the header when the status is OK. */
export type ReferenceResult = { status: number; header?: RtpHeader };

/** Most RFC 8285 elements the record can hold. */
export const REFERENCE_MAX_ELEMENTS = 32;

/** Parses `bytes` as one RTP packet. */
export function referenceParseRtp(bytes: Uint8Array): ReferenceResult {
  const len = bytes.length;
  if (len > 65535) return { status: Status.RTP_TOO_LONG };
  if (len < 12) return { status: Status.RTP_TOO_SHORT };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  const first = dv.getUint8(0);
  const second = dv.getUint8(1);
  const version = first >> 6;
  if (version !== 2) return { status: Status.RTP_BAD_VERSION };
  const padding = (first & 0x20) !== 0;
  const extension = (first & 0x10) !== 0;
  const csrcCount = first & 0x0f;
  const marker = (second & 0x80) !== 0;
  const payloadType = second & 0x7f;
  const sequenceNumber = dv.getUint16(2);
  const timestamp = dv.getUint32(4);
  const ssrc = dv.getUint32(8);

  let headerEnd = 12 + 4 * csrcCount;
  if (headerEnd > len) return { status: Status.RTP_CSRC_TRUNCATED };
  const csrcs: number[] = [];
  for (let i = 0; i < csrcCount; i++) csrcs.push(dv.getUint32(12 + 4 * i));

  let extensionProfile = 0;
  const headerExtensions: RtpHeaderExtension[] = [];
  if (extension) {
    if (headerEnd + 4 > len) return { status: Status.RTP_EXTENSION_HEADER_TRUNCATED };
    extensionProfile = dv.getUint16(headerEnd);
    const dataLength = dv.getUint16(headerEnd + 2) * 4;
    const dataStart = headerEnd + 4;
    const dataEnd = dataStart + dataLength;
    if (dataEnd > len) return { status: Status.RTP_EXTENSION_TRUNCATED };

    if (extensionProfile === 0xbede) {
      // One-byte form: | ID:4 | L:4 | L+1 octets |; 0x00 is padding; ID 15 or ID 0 with a length stops.
      let i = dataStart;
      while (i < dataEnd) {
        const b = bytes[i];
        if (b === 0) { i += 1; continue; }
        const id = b >> 4;
        if (id === 15 || id === 0) break; // ID 15 (RFC 8285 §4.2), or ID 0 with a length: the block ends here
        const size = (b & 0x0f) + 1;
        if (i + 1 + size > dataEnd) return { status: Status.RTP_EXTENSION_ELEMENT_TRUNCATED };
        if (headerExtensions.length === REFERENCE_MAX_ELEMENTS) return { status: Status.RTP_EXTENSION_TOO_MANY_ELEMENTS };
        headerExtensions.push({ id, data: bytes.subarray(i + 1, i + 1 + size) });
        i += 1 + size;
      }
    } else if ((extensionProfile & 0xfff0) === 0x1000) {
      // Two-byte form: | ID:8 | length:8 | length octets |; 0x00 is padding.
      let i = dataStart;
      while (i < dataEnd) {
        const id = bytes[i];
        if (id === 0) { i += 1; continue; }
        if (i + 2 > dataEnd) return { status: Status.RTP_EXTENSION_ELEMENT_TRUNCATED };
        const size = bytes[i + 1];
        if (i + 2 + size > dataEnd) return { status: Status.RTP_EXTENSION_ELEMENT_TRUNCATED };
        if (headerExtensions.length === REFERENCE_MAX_ELEMENTS) return { status: Status.RTP_EXTENSION_TOO_MANY_ELEMENTS };
        headerExtensions.push({ id, data: bytes.subarray(i + 2, i + 2 + size) });
        i += 2 + size;
      }
    } else {
      headerExtensions.push({ id: 0, data: bytes.subarray(dataStart, dataEnd) });
    }
    headerEnd = dataEnd;
  }

  let paddingLength = 0;
  if (padding) {
    paddingLength = bytes[len - 1];
    if (paddingLength === 0) return { status: Status.RTP_PADDING_ZERO };
    if (paddingLength > len - headerEnd) return { status: Status.RTP_PADDING_OVERFLOW };
  }

  return {
    status: Status.OK,
    header: {
      version, padding, extension, csrcCount, marker, payloadType, sequenceNumber, timestamp, ssrc, csrcs,
      extensionProfile, headerExtensions,
      payloadOffset: headerEnd,
      payloadLength: len - headerEnd - paddingLength,
      paddingLength,
    },
  };
}

/** A header in a comparable form: extension data as octet arrays plus their offsets from `packet`'s first octet. */
export function comparableHeader(header: RtpHeader, packet: Uint8Array): unknown {
  return {
    ...header,
    headerExtensions: header.headerExtensions.map((e) => ({
      id: e.id,
      offset: e.data.byteOffset - packet.byteOffset,
      data: Array.from(e.data),
    })),
  };
}

/**
 * The wasm parser (parseRtpHeader) as a status + header, the shape referenceParseRtp returns, so the two compare
 * directly. Any error but RtpParseError escapes (and fails the test).
 */
export function wasmParse(core: Core, bytes: Uint8Array): ReferenceResult {
  try {
    return { status: Status.OK, header: parseRtpHeader(core, bytes) };
  } catch (e) {
    if (e instanceof RtpParseError) return { status: e.status };
    throw e;
  }
}

/**
 * The wasm batch parser (rtp_parse_batch) over `packets` laid out in core memory: its return value and, per packet,
 * the status and (when valid) the comparableHeader of its record, read before the memory is freed again.
 */
export function wasmParseBatch(core: Core, packets: Uint8Array[]): { ok: number; results: Array<{ status: number; comparable?: unknown }> } {
  const total = packets.reduce((n, p) => n + p.length, 0);
  const data = core.alloc(total + 1);
  const descs = core.alloc(Math.max(1, packets.length) * BATCH_DESC_BYTES);
  const records = core.alloc(Math.max(1, packets.length) * RTP_RECORD_BYTES);
  try {
    const starts: number[] = [];
    let at = data;
    packets.forEach((p, i) => {
      core.u8.set(p, at);
      starts.push(at);
      core.u32[(descs >> 2) + 2 * i] = at;
      core.u32[(descs >> 2) + 2 * i + 1] = p.length;
      at += p.length;
    });
    const ok = core.guard(() => core.exports.rtp_parse_batch(descs, packets.length, records));
    const view = new RtpRecordView(core);
    const results = packets.map((p, i) => {
      const record = records + i * RTP_RECORD_BYTES;
      const status = view.at(record).status;
      if (status !== Status.OK) return { status };
      const inCore = core.u8.subarray(starts[i]!, starts[i]! + p.length);
      return { status, comparable: comparableHeader(readRtpRecord(core, record, inCore), inCore) };
    });
    return { ok, results };
  } finally {
    core.free(records);
    core.free(descs);
    core.free(data);
  }
}
