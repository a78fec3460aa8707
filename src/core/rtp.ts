// RTP header parsing on the host side (RFC 3550 §5.1, §5.3.1; RFC 8285). The wasm core validates the packet and
// writes a fixed-layout record of offsets (assembly/rtp.ts, layout.ts); this file turns records into objects, or
// reads them in place without allocating (RtpRecordView). Portable: no Buffer, no process, no node: imports.

import type { CoreMemory } from './memory.js';
import { WasmRtspError, hexDump } from './errors.js';
import {
  RTP_VERSION, RTP_PADDING, RTP_EXTENSION, RTP_CSRC_COUNT, RTP_MARKER, RTP_PAYLOAD_TYPE, RTP_SEQUENCE, RTP_TIMESTAMP,
  RTP_SSRC, RTP_PAYLOAD_OFFSET, RTP_PAYLOAD_LENGTH, RTP_PADDING_LENGTH, RTP_EXT_ELEMENT_COUNT, RTP_EXT_PROFILE,
  RTP_EXT_LENGTH, RTP_EXT_OFFSET, RTP_STATUS, RTP_PACKET_LENGTH, RTP_CSRCS, RTP_EXT_ELEMENTS, RTP_EXT_ELEMENT_BYTES,
  RTP_EXT_ELEMENT_ID, RTP_EXT_ELEMENT_LENGTH, RTP_EXT_ELEMENT_OFFSET, RTP_MAX_PACKET_BYTES,
} from './layout.js';
import { Status, statusMessage, statusName } from './status.js';

/** Largest packet parseRtpHeader copies into the core's scratch area (the RTP length limit, 65535 octets). */
export const MAX_RTP_PACKET_BYTES = RTP_MAX_PACKET_BYTES;

/** One header extension element: an RFC 8285 element, or (id 0) the whole block of another profile. */
export interface RtpHeaderExtension {
  /**
   * RFC 8285 local identifier (1..14 one-byte form, 1..255 two-byte form); 0 only for a non-RFC 8285 block. An element
   * never has id 0: a zero octet is padding, and in the one-byte form ID 0 with a length (like ID 15) ends the block.
   */
  id: number;
  /** The element's data: a view of the bytes given to the parser (not a copy). */
  data: Uint8Array;
}

/** The fields of an RTP header (RFC 3550 §5.1) and where its payload lies in the packet. */
export interface RtpHeader {
  version: number;
  /** P bit: the packet ends with padding (its length is paddingLength). */
  padding: boolean;
  /** X bit: a header extension follows the CSRCs. */
  extension: boolean;
  csrcCount: number;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  /** Unsigned 32-bit. */
  timestamp: number;
  /** Unsigned 32-bit. */
  ssrc: number;
  csrcs: number[];
  /** "Defined by profile" of the extension header (0xBEDE, 0x100X, …); 0 when X is clear. */
  extensionProfile: number;
  /** RFC 8285 elements; one `{ id: 0 }` element with the whole block for another profile; [] when X is clear. */
  headerExtensions: RtpHeaderExtension[];
  /** Offset of the payload from the first octet of the packet (the end of the header). */
  payloadOffset: number;
  /** Payload octets, padding excluded. */
  payloadLength: number;
  /** Padding octets at the end of the packet, the count octet included (0 when P is clear). */
  paddingLength: number;
}

/** An RTP packet was rejected: `code` is the status name (e.g. 'RTP_TOO_SHORT'), `status` its numeric value. */
export class RtpParseError extends WasmRtspError {
  /** The wasm core's status code (negative). */
  readonly status: number;

  constructor(status: number, packet: Uint8Array, options: { cause?: unknown } = {}) {
    super(statusName(status), `RTP packet of ${packet.length} octets rejected: ${statusMessage(status)}`, {
      context: { length: packet.length, hex: hexDump(packet) },
      cause: options.cause,
    });
    this.status = status;
  }
}

/**
 * Parses one RTP packet. Bytes that are a view of `core`'s memory are parsed in place; others are copied once into
 * the core's scratch area. Extension data in the result are views of `bytes`. Throws RtpParseError when invalid.
 */
export function parseRtpHeader(core: CoreMemory, bytes: Uint8Array): RtpHeader {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`parseRtpHeader expects a Uint8Array, got ${describe(bytes)}`);
  }
  const u8 = core.views();
  let ptr: number;
  if (bytes.buffer === core.memory.buffer) {
    ptr = bytes.byteOffset;
  } else {
    if (bytes.length > MAX_RTP_PACKET_BYTES) throw new RtpParseError(Status.RTP_TOO_LONG, bytes);
    core.assertUsable();
    u8.set(bytes, core.scratchPtr);
    ptr = core.scratchPtr;
  }
  const record = core.recordPtr;
  const status = core.guard(() => core.exports.rtp_parse(ptr, bytes.length, record));
  if (status !== Status.OK) throw new RtpParseError(status, bytes);
  return readRtpRecord(core, record, bytes);
}

/**
 * Materializes the header in the record at `recordPtr` (written by rtp_parse, rtp_parse_batch or demux_scan) of
 * `packet`, the bytes the record's offsets refer to. Throws RtpParseError when the record holds an error status.
 */
export function readRtpRecord(core: CoreMemory, recordPtr: number, packet: Uint8Array): RtpHeader {
  core.views();
  const { u8, u16, u32, i32 } = core;
  const status = i32[(recordPtr + RTP_STATUS) >> 2];
  if (status !== Status.OK) throw new RtpParseError(status, packet);
  const csrcCount = u8[recordPtr + RTP_CSRC_COUNT];
  const csrcs = new Array<number>(csrcCount);
  const csrcBase = (recordPtr + RTP_CSRCS) >> 2;
  for (let i = 0; i < csrcCount; i++) csrcs[i] = u32[csrcBase + i];
  const extension = u8[recordPtr + RTP_EXTENSION] !== 0;
  const extensionProfile = u16[(recordPtr + RTP_EXT_PROFILE) >> 1]; // the core writes 0 when X is clear
  const headerExtensions: RtpHeaderExtension[] = [];
  if (extension) {
    if (isRfc8285Profile(extensionProfile)) {
      const count = u16[(recordPtr + RTP_EXT_ELEMENT_COUNT) >> 1];
      for (let i = 0; i < count; i++) {
        const e = recordPtr + RTP_EXT_ELEMENTS + i * RTP_EXT_ELEMENT_BYTES;
        const offset = u32[(e + RTP_EXT_ELEMENT_OFFSET) >> 2];
        headerExtensions.push({
          id: u8[e + RTP_EXT_ELEMENT_ID],
          data: packet.subarray(offset, offset + u16[(e + RTP_EXT_ELEMENT_LENGTH) >> 1]),
        });
      }
    } else {
      const offset = u32[(recordPtr + RTP_EXT_OFFSET) >> 2];
      headerExtensions.push({ id: 0, data: packet.subarray(offset, offset + u32[(recordPtr + RTP_EXT_LENGTH) >> 2]) });
    }
  }
  return {
    version: u8[recordPtr + RTP_VERSION],
    padding: u8[recordPtr + RTP_PADDING] !== 0,
    extension,
    csrcCount,
    marker: u8[recordPtr + RTP_MARKER] !== 0,
    payloadType: u8[recordPtr + RTP_PAYLOAD_TYPE],
    sequenceNumber: u16[(recordPtr + RTP_SEQUENCE) >> 1],
    timestamp: u32[(recordPtr + RTP_TIMESTAMP) >> 2],
    ssrc: u32[(recordPtr + RTP_SSRC) >> 2],
    csrcs,
    extensionProfile,
    headerExtensions,
    payloadOffset: u32[(recordPtr + RTP_PAYLOAD_OFFSET) >> 2],
    payloadLength: u32[(recordPtr + RTP_PAYLOAD_LENGTH) >> 2],
    paddingLength: u16[(recordPtr + RTP_PADDING_LENGTH) >> 1],
  };
}

/** True for the profiles whose extension block holds RFC 8285 elements: 0xBEDE and 0x1000..0x100F. */
export function isRfc8285Profile(profile: number): boolean {
  return profile === 0xbede || (profile & 0xfff0) === 0x1000;
}

/**
 * A zero-allocation reader of RTP records for hot paths: position it with `at(recordPtr)` and read fields straight
 * from the core's memory. Fields other than `status` and `packetLength` are meaningful only when status is OK.
 */
export class RtpRecordView {
  private readonly core: CoreMemory;
  private u8: Uint8Array;
  private u16: Uint16Array;
  private u32: Uint32Array;
  private i32: Int32Array;
  private p = 0;

  constructor(core: CoreMemory, recordPtr: number = core.recordPtr) {
    this.core = core;
    core.views();
    this.u8 = core.u8;
    this.u16 = core.u16;
    this.u32 = core.u32;
    this.i32 = core.i32;
    this.at(recordPtr);
  }

  /** Repositions the view on the record at `recordPtr` (8-byte aligned) and returns it. */
  at(recordPtr: number): this {
    if ((recordPtr & 7) !== 0 || recordPtr < 0) throw new RangeError(`RTP record address ${recordPtr} is not 8-byte aligned`);
    // A detached view has length 0 (see Core.views): no call into the runtime per packet for the check.
    if (this.u8.length === 0) {
      this.core.views();
      this.u8 = this.core.u8;
      this.u16 = this.core.u16;
      this.u32 = this.core.u32;
      this.i32 = this.core.i32;
    }
    this.p = recordPtr;
    return this;
  }

  /** Address of the record this view reads. */
  get recordPtr(): number { return this.p; }
  /** Status of the parse: Status.OK (0) or a negative RTP_* code. */
  get status(): number { return this.i32[(this.p + RTP_STATUS) >> 2]; }
  /** Length of the packet that was parsed. */
  get packetLength(): number { return this.u32[(this.p + RTP_PACKET_LENGTH) >> 2]; }
  /** Version field (2). */
  get version(): number { return this.u8[this.p + RTP_VERSION]; }
  /** P bit. */
  get padding(): boolean { return this.u8[this.p + RTP_PADDING] !== 0; }
  /** X bit. */
  get extension(): boolean { return this.u8[this.p + RTP_EXTENSION] !== 0; }
  /** CC: number of CSRCs. */
  get csrcCount(): number { return this.u8[this.p + RTP_CSRC_COUNT]; }
  /** M bit. */
  get marker(): boolean { return this.u8[this.p + RTP_MARKER] !== 0; }
  /** PT. */
  get payloadType(): number { return this.u8[this.p + RTP_PAYLOAD_TYPE]; }
  /** Sequence number (unsigned 16-bit). */
  get sequenceNumber(): number { return this.u16[(this.p + RTP_SEQUENCE) >> 1]; }
  /** Timestamp (unsigned 32-bit). */
  get timestamp(): number { return this.u32[(this.p + RTP_TIMESTAMP) >> 2]; }
  /** SSRC (unsigned 32-bit). */
  get ssrc(): number { return this.u32[(this.p + RTP_SSRC) >> 2]; }
  /** Offset of the payload from the first octet of the packet. */
  get payloadOffset(): number { return this.u32[(this.p + RTP_PAYLOAD_OFFSET) >> 2]; }
  /** Payload octets, padding excluded. */
  get payloadLength(): number { return this.u32[(this.p + RTP_PAYLOAD_LENGTH) >> 2]; }
  /** Padding octets, count octet included (0 when P is clear). */
  get paddingLength(): number { return this.u16[(this.p + RTP_PADDING_LENGTH) >> 1]; }
  /** "Defined by profile" of the extension header; 0 when X is clear. */
  get extensionProfile(): number { return this.u16[(this.p + RTP_EXT_PROFILE) >> 1]; }
  /** Offset of the extension data (after its 4-octet header) from the first octet of the packet; 0 when X is clear. */
  get extensionDataOffset(): number { return this.u32[(this.p + RTP_EXT_OFFSET) >> 2]; }
  /** Octets of extension data (the length field × 4); 0 when X is clear. */
  get extensionDataLength(): number { return this.u32[(this.p + RTP_EXT_LENGTH) >> 2]; }
  /** Number of RFC 8285 elements (0 for another profile or when X is clear). */
  get extensionElementCount(): number { return this.u16[(this.p + RTP_EXT_ELEMENT_COUNT) >> 1]; }

  /** The i-th CSRC (unsigned 32-bit); RangeError when i ≥ csrcCount. */
  csrc(i: number): number {
    if (!(i >= 0 && i < this.csrcCount && (i | 0) === i)) throw new RangeError(`CSRC index ${i} out of range (${this.csrcCount})`);
    return this.u32[((this.p + RTP_CSRCS) >> 2) + i];
  }

  /** Local identifier (never 0) of the i-th RFC 8285 element; RangeError when i ≥ extensionElementCount. */
  extensionId(i: number): number {
    return this.u8[this.element(i) + RTP_EXT_ELEMENT_ID];
  }

  /** Offset of the i-th element's data from the first octet of the packet. */
  extensionOffset(i: number): number {
    return this.u32[(this.element(i) + RTP_EXT_ELEMENT_OFFSET) >> 2];
  }

  /** Length of the i-th element's data in octets (0 is possible in the two-byte form). */
  extensionLength(i: number): number {
    return this.u16[(this.element(i) + RTP_EXT_ELEMENT_LENGTH) >> 1];
  }

  private element(i: number): number {
    if (!(i >= 0 && i < this.extensionElementCount && (i | 0) === i)) {
      throw new RangeError(`extension element index ${i} out of range (${this.extensionElementCount})`);
    }
    return this.p + RTP_EXT_ELEMENTS + i * RTP_EXT_ELEMENT_BYTES;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return (value as object).constructor?.name ?? 'object';
}
