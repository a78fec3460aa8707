// RTP header parsing through the wasm core: the hand-written vectors of test/fixtures/rtp-vectors.ts, every truncation
// of every valid vector against the reference parser, in-place vs copied input, the raw batch export, and the
// zero-allocation record view. Run against both the release and the debug (assertions on) builds.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createCore, Core, parseRtpHeader, readRtpRecord, RtpParseError, RtpRecordView, Status, statusName, WasmRtspError,
  type RtpHeader,
} from '../../src/node/index.js';
import { BATCH_DESC_BYTES, RTP_PACKET_LENGTH, RTP_RECORD_BYTES, RTP_STATUS } from '../../src/core/layout.js';
import { comparableHeader, referenceParseRtp, wasmParse } from '../reference/rtp.js';
import { RTP_VECTORS, vectorStatus } from '../fixtures/rtp-vectors.js';

/** Header fields read through RtpRecordView, in RtpHeader's shape, for comparison with readRtpRecord. */
function viaView(view: RtpRecordView, packet: Uint8Array): RtpHeader {
  const csrcs: number[] = [];
  for (let i = 0; i < view.csrcCount; i++) csrcs.push(view.csrc(i));
  const headerExtensions = [];
  for (let i = 0; i < view.extensionElementCount; i++) {
    const offset = view.extensionOffset(i);
    headerExtensions.push({ id: view.extensionId(i), data: packet.subarray(offset, offset + view.extensionLength(i)) });
  }
  if (view.extension && view.extensionElementCount === 0 && view.extensionProfile !== 0xbede
    && (view.extensionProfile & 0xfff0) !== 0x1000) {
    const offset = view.extensionDataOffset;
    headerExtensions.push({ id: 0, data: packet.subarray(offset, offset + view.extensionDataLength) });
  }
  return {
    version: view.version, padding: view.padding, extension: view.extension, csrcCount: view.csrcCount,
    marker: view.marker, payloadType: view.payloadType, sequenceNumber: view.sequenceNumber,
    timestamp: view.timestamp, ssrc: view.ssrc, csrcs, extensionProfile: view.extensionProfile, headerExtensions,
    payloadOffset: view.payloadOffset, payloadLength: view.payloadLength, paddingLength: view.paddingLength,
  };
}

const VALID = RTP_VECTORS.filter((v) => v.status === 'OK');

for (const debug of [false, true]) {
  describe(`RTP header parsing (${debug ? 'debug' : 'release'} build)`, () => {
    let core: Core;
    beforeAll(async () => {
      core = await createCore({ debug, memoryBytes: 4 << 20 });
    });

    describe('vectors', () => {
      it.each(RTP_VECTORS.map((v) => [v.name, v] as const))('%s', (_name, v) => {
        // The reference agrees with the hand-written expectation first, so neither can drift alone.
        const ref = referenceParseRtp(v.bytes);
        expect(statusName(ref.status)).toBe(v.status);
        const got = wasmParse(core, v.bytes);
        expect(statusName(got.status)).toBe(v.status);
        if (v.status !== 'OK') {
          expect(() => parseRtpHeader(core, v.bytes)).toThrow(RtpParseError);
          return;
        }
        const header = comparableHeader(got.header!, v.bytes);
        expect(header).toEqual(comparableHeader(ref.header!, v.bytes));
        expect(header).toMatchObject(v.expect ?? {});
        expect(got.header!.payloadOffset + got.header!.payloadLength + got.header!.paddingLength).toBe(v.bytes.length);
      });
    });

    describe('every truncation boundary of every valid vector', () => {
      it.each(VALID.map((v) => [v.name, v] as const))('%s', (_name, v) => {
        const headerEnd = referenceParseRtp(v.bytes).header!.payloadOffset;
        for (let n = 0; n < v.bytes.length; n++) {
          const prefix = v.bytes.subarray(0, n);
          const ref = referenceParseRtp(prefix);
          const got = wasmParse(core, prefix);
          expect({ n, status: statusName(got.status) }).toEqual({ n, status: statusName(ref.status) });
          if (n < headerEnd) expect(got.status, `prefix ${n} cuts the header`).toBeLessThan(0);
          if (ref.header) expect(comparableHeader(got.header!, prefix)).toEqual(comparableHeader(ref.header, prefix));
        }
        // Also in place, at the end of a region, so a read past `len` would see foreign octets rather than zeros.
        const ptr = core.alloc(v.bytes.length + 16);
        try {
          core.u8.fill(0xff, ptr, ptr + v.bytes.length + 16);
          core.u8.set(v.bytes, ptr);
          for (let n = 0; n < v.bytes.length; n++) {
            const prefix = core.u8.subarray(ptr, ptr + n);
            expect(wasmParse(core, prefix).status, `in place, prefix ${n}`).toBe(referenceParseRtp(v.bytes.subarray(0, n)).status);
          }
        } finally {
          core.free(ptr);
        }
      });
    });

    it('parses a view of the core\'s memory in place (the scratch area is not used)', () => {
      const v = VALID.find((x) => x.name.startsWith('one-byte form (0xBEDE)'))!;
      const ptr = core.alloc(v.bytes.length);
      try {
        core.u8.set(v.bytes, ptr);
        const sentinel = 0xa5;
        core.u8.fill(sentinel, core.scratchPtr, core.scratchPtr + 64);
        const inPlace = core.u8.subarray(ptr, ptr + v.bytes.length);
        const header = parseRtpHeader(core, inPlace);
        expect(Array.from(core.u8.subarray(core.scratchPtr, core.scratchPtr + 64))).toEqual(new Array(64).fill(sentinel));
        expect(header.headerExtensions.map((e) => e.data.byteOffset)).toEqual([ptr + 17, ptr + 20, ptr + 26]);
        for (const e of header.headerExtensions) expect(e.data.buffer).toBe(core.memory.buffer);
        expect(core.u32[(core.recordPtr + RTP_PACKET_LENGTH) >> 2]).toBe(v.bytes.length);
      } finally {
        core.free(ptr);
      }
    });

    it('copies other input once and returns extension data as views of the caller\'s bytes, not of the scratch area', () => {
      const v = VALID.find((x) => x.name.startsWith('two-byte form (0x1000)'))!;
      const backing = new Uint8Array(v.bytes.length + 10);
      backing.set(v.bytes, 7);
      const bytes = backing.subarray(7, 7 + v.bytes.length);
      const header = parseRtpHeader(core, bytes);
      expect(Array.from(core.u8.subarray(core.scratchPtr, core.scratchPtr + bytes.length))).toEqual(Array.from(bytes));
      for (const e of header.headerExtensions) expect(e.data.buffer).toBe(backing.buffer);
      expect(header.headerExtensions[1].data.byteOffset).toBe(7 + 21);
      // Reusing the scratch area does not change what the first result holds.
      parseRtpHeader(core, RTP_VECTORS[0].bytes);
      core.u8.fill(0, core.scratchPtr, core.scratchPtr + bytes.length);
      expect(Array.from(header.headerExtensions[1].data)).toEqual([0xab, 0xcd]);
    });

    it('rejects what is not a Uint8Array with a TypeError', () => {
      for (const bad of [[0x80, 0x60], 'abc', null, undefined, 42, new DataView(new ArrayBuffer(12)), new Uint16Array(6),
        new ArrayBuffer(12)]) {
        expect(() => parseRtpHeader(core, bad as unknown as Uint8Array)).toThrow(TypeError);
      }
    });

    it('refuses input over 65535 octets with RTP_TOO_LONG, copied or in place, without copying', () => {
      const big = new Uint8Array(65536);
      big.set(RTP_VECTORS[0].bytes);
      core.u8.fill(0x33, core.scratchPtr, core.scratchPtr + 16);
      expect(() => parseRtpHeader(core, big)).toThrow(expect.objectContaining({ code: 'RTP_TOO_LONG', status: Status.RTP_TOO_LONG }));
      expect(core.u8[core.scratchPtr]).toBe(0x33);
      const ptr = core.alloc(65536);
      try {
        core.u8.set(big, ptr);
        expect(() => parseRtpHeader(core, core.u8.subarray(ptr, ptr + 65536))).toThrow(expect.objectContaining({ code: 'RTP_TOO_LONG' }));
        expect(parseRtpHeader(core, core.u8.subarray(ptr, ptr + 65535)).payloadLength).toBe(65535 - 12);
      } finally {
        core.free(ptr);
      }
    });

    it('RtpParseError carries code, status, an actionable message and a hex dump', () => {
      const bytes = Uint8Array.of(0x40, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0);
      let error: unknown;
      try { parseRtpHeader(core, bytes); } catch (e) { error = e; }
      expect(error).toBeInstanceOf(RtpParseError);
      expect(error).toBeInstanceOf(WasmRtspError);
      const e = error as RtpParseError;
      expect(e.name).toBe('RtpParseError');
      expect(e.code).toBe('RTP_BAD_VERSION');
      expect(e.status).toBe(Status.RTP_BAD_VERSION);
      expect(e.message).toBe('RTP packet of 12 octets rejected: RTP version is not 2');
      expect(e.context).toEqual({ length: 12, hex: '40 60 00 01 00 00 00 00 00 00 00 00' });
    });

    it('rtp_parse never traps on pointers outside memory, and stores its status', () => {
      const end = core.memoryBytes;
      const out = core.recordPtr;
      expect(core.exports.rtp_parse(end - 4, 12, out)).toBe(Status.ERR_BAD_ARGUMENT);
      expect(core.i32[(out + RTP_STATUS) >> 2]).toBe(Status.ERR_BAD_ARGUMENT);
      expect(core.exports.rtp_parse(0, 0xffffffff, out)).toBe(Status.ERR_BAD_ARGUMENT);
      expect(core.exports.rtp_parse(0xffffffff, 1, out)).toBe(Status.ERR_BAD_ARGUMENT);
      expect(core.exports.rtp_parse(0, 12, end - RTP_RECORD_BYTES + 8)).toBe(Status.ERR_BAD_ARGUMENT);
      expect(core.exports.rtp_parse(0, 12, 0xfffffff0)).toBe(Status.ERR_BAD_ARGUMENT);
      // A packet ending exactly at the end of memory, and a record ending there, are fine.
      core.u8.set(RTP_VECTORS[0].bytes, end - 12);
      expect(core.exports.rtp_parse(end - 12, 12, end - RTP_RECORD_BYTES)).toBe(Status.OK);
      core.u8.fill(0, end - RTP_RECORD_BYTES, end);
      // An in-memory length over 65535 is RTP_TOO_LONG.
      expect(core.exports.rtp_parse(0, 65536, out)).toBe(Status.RTP_TOO_LONG);
      expect(core.u32[(out + RTP_PACKET_LENGTH) >> 2]).toBe(65536);
    });

    it('rtp_parse_batch parses each packet into its own record and counts the good ones', () => {
      const packets = [RTP_VECTORS[0], ...VALID.slice(5, 9), RTP_VECTORS.find((v) => v.status === 'RTP_PADDING_ZERO')!,
        RTP_VECTORS.find((v) => v.status === 'RTP_TOO_SHORT')!];
      const total = packets.reduce((s, v) => s + v.bytes.length, 0);
      const data = core.alloc(total + 1);
      const descs = core.alloc(packets.length * BATCH_DESC_BYTES + BATCH_DESC_BYTES);
      const records = core.alloc((packets.length + 1) * RTP_RECORD_BYTES);
      try {
        let at = data;
        packets.forEach((v, i) => {
          core.u8.set(v.bytes, at);
          core.u32[(descs >> 2) + 2 * i] = at;
          core.u32[(descs >> 2) + 2 * i + 1] = v.bytes.length;
          at += v.bytes.length;
        });
        // One more descriptor pointing outside memory: its record says ERR_BAD_ARGUMENT, the batch goes on.
        core.u32[(descs >> 2) + 2 * packets.length] = core.memoryBytes - 2;
        core.u32[(descs >> 2) + 2 * packets.length + 1] = 12;
        const ok = core.exports.rtp_parse_batch(descs, packets.length + 1, records);
        expect(ok).toBe(packets.filter((v) => v.status === 'OK').length);
        const view = new RtpRecordView(core);
        at = data;
        packets.forEach((v, i) => {
          const record = records + i * RTP_RECORD_BYTES;
          const packet = core.u8.subarray(at, at + v.bytes.length);
          view.at(record);
          expect(statusName(view.status)).toBe(v.status);
          expect(view.packetLength).toBe(v.bytes.length);
          if (v.status === 'OK') {
            const ref = comparableHeader(referenceParseRtp(v.bytes).header!, v.bytes);
            expect(comparableHeader(readRtpRecord(core, record, packet), packet)).toEqual(ref);
            expect(comparableHeader(viaView(view, packet), packet)).toEqual(ref);
          } else {
            expect(() => readRtpRecord(core, record, packet)).toThrow(RtpParseError);
          }
          at += v.bytes.length;
        });
        expect(view.at(records + packets.length * RTP_RECORD_BYTES).status).toBe(Status.ERR_BAD_ARGUMENT);
        expect(core.exports.rtp_parse_batch(descs, 0, records)).toBe(0);
      } finally {
        core.free(records);
        core.free(descs);
        core.free(data);
      }
    });

    it('rtp_parse_batch refuses descriptor or record arrays outside memory, including count overflow', () => {
      const end = core.memoryBytes;
      expect(core.exports.rtp_parse_batch(end - 8, 2, core.recordPtr)).toBe(Status.ERR_BAD_ARGUMENT);
      expect(core.exports.rtp_parse_batch(core.scratchPtr, 2, end - RTP_RECORD_BYTES)).toBe(Status.ERR_BAD_ARGUMENT);
      // count × 8 and count × 368 wrap around 2^32 in 32-bit arithmetic: must still be refused.
      expect(core.exports.rtp_parse_batch(core.scratchPtr, 0x20000001, core.recordPtr)).toBe(Status.ERR_BAD_ARGUMENT);
      expect(core.exports.rtp_parse_batch(core.scratchPtr, 0xffffffff, core.recordPtr)).toBe(Status.ERR_BAD_ARGUMENT);
      expect(core.exports.rtp_parse_batch(0xfffffff8, 1, core.recordPtr)).toBe(Status.ERR_BAD_ARGUMENT);
    });

    it('RtpRecordView reads every valid vector like readRtpRecord, and checks its indexes', () => {
      const view = new RtpRecordView(core);
      for (const v of VALID) {
        parseRtpHeader(core, v.bytes);
        expect(view.at(core.recordPtr)).toBe(view);
        expect(view.status).toBe(Status.OK);
        expect(comparableHeader(viaView(view, v.bytes), v.bytes)).toEqual(comparableHeader(readRtpRecord(core, core.recordPtr, v.bytes), v.bytes));
      }
      expect(() => view.csrc(view.csrcCount)).toThrow(RangeError);
      expect(() => view.extensionId(-1)).toThrow(RangeError);
      expect(() => view.extensionOffset(0.5)).toThrow(RangeError);
      expect(() => view.at(core.recordPtr + 4)).toThrow(RangeError);
    });

    it('a vector status matches its name in Status', () => {
      for (const v of RTP_VECTORS) expect(statusName(vectorStatus(v))).toBe(v.status);
    });
  });
}
