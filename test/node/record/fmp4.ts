// A box-by-box reader of fragmented MP4 for tests (ISO/IEC 14496-12 §8.8): the moov's track defaults (trex) and every
// complete moof+mdat pair — sample count, durations and sync flags from tfhd/trun — so a recording, or what a crash
// left of one, is checked frame by frame. A box cut short by the end of the file ends the walk (what a crash leaves).
import { readFileSync } from 'node:fs';

/** One complete fragment (moof with its mdat). */
export interface Fragment {
  samples: number;
  /** Sum of sample durations, in the track's timescale. */
  duration: number;
  /** Sync samples (keyframes). */
  syncSamples: number;
  /** Whether the fragment's first sample is a sync sample. */
  startsWithSync: boolean;
  /** tfdt base media decode time. */
  baseTime: number;
}

/** What the file holds. */
export interface Fmp4 {
  /** Top-level box types in order (a cut box is listed as `type!`). */
  boxes: string[];
  timescale: number;
  codec: string;
  fragments: Fragment[];
  samples: number;
  durationSeconds: number;
  /** Bytes after the last complete box (a fragment cut by the crash). */
  trailingBytes: number;
}

const SAMPLE_IS_NON_SYNC = 0x0001_0000;

function* boxes(b: Uint8Array, from: number, to: number): Generator<{ type: string; start: number; end: number; cut: boolean }> {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = from;
  while (at + 8 <= to) {
    let size = v.getUint32(at);
    const type = String.fromCharCode(b[at + 4]!, b[at + 5]!, b[at + 6]!, b[at + 7]!);
    let header = 8;
    if (size === 1) {
      size = Number(v.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) {
      size = to - at;
    }
    if (size < header) throw new Error(`bad box ${type} at ${at}`);
    if (at + size > to) {
      yield { type, start: at + header, end: to, cut: true };
      return;
    }
    yield { type, start: at + header, end: at + size, cut: false };
    at += size;
  }
}

/** Reads a fragmented MP4 with one video track. */
export function readFmp4(file: string): Fmp4 {
  const b = readFileSync(file);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Fmp4 = { boxes: [], timescale: 0, codec: '?', fragments: [], samples: 0, durationSeconds: 0, trailingBytes: 0 };
  const trex = { duration: 0, flags: 0 };
  const walkMoov = (from: number, to: number) => {
    for (const box of boxes(b, from, to)) {
      if (['trak', 'mdia', 'minf', 'stbl', 'mvex'].includes(box.type)) walkMoov(box.start, box.end);
      else if (box.type === 'mdhd') out.timescale = v.getUint32(box.start + (b[box.start] === 1 ? 20 : 12));
      else if (box.type === 'stsd') out.codec = String.fromCharCode(...b.subarray(box.start + 12, box.start + 16));
      else if (box.type === 'trex') {
        trex.duration = v.getUint32(box.start + 12);
        trex.flags = v.getUint32(box.start + 20);
      }
    }
  };
  let pending: Fragment | undefined;
  let completeEnd = 0;
  for (const box of boxes(b, 0, b.length)) {
    out.boxes.push(box.cut ? `${box.type}!` : box.type);
    if (box.cut) break;
    if (box.type === 'moov') walkMoov(box.start, box.end);
    if (box.type === 'moof') pending = readMoof(b, v, box.start, box.end, trex);
    if (box.type === 'mdat' && pending) {
      out.fragments.push(pending);
      pending = undefined;
    }
    completeEnd = box.end;
  }
  out.trailingBytes = b.length - completeEnd;
  out.samples = out.fragments.reduce((n, f) => n + f.samples, 0);
  out.durationSeconds = out.fragments.reduce((n, f) => n + f.duration, 0) / (out.timescale || 1);
  return out;
}

function readMoof(b: Uint8Array, v: DataView, from: number, to: number, trex: { duration: number; flags: number }): Fragment {
  const f: Fragment = { samples: 0, duration: 0, syncSamples: 0, startsWithSync: false, baseTime: 0 };
  for (const traf of boxes(b, from, to)) {
    if (traf.type !== 'traf') continue;
    let defDuration = trex.duration;
    let defFlags = trex.flags;
    for (const box of boxes(b, traf.start, traf.end)) {
      const flags = v.getUint32(box.start) & 0xff_ffff;
      if (box.type === 'tfhd') {
        let at = box.start + 8;
        if (flags & 0x1) at += 8;
        if (flags & 0x2) at += 4;
        if (flags & 0x8) { defDuration = v.getUint32(at); at += 4; }
        if (flags & 0x10) at += 4;
        if (flags & 0x20) defFlags = v.getUint32(at);
      } else if (box.type === 'tfdt') {
        f.baseTime = b[box.start] === 1 ? Number(v.getBigUint64(box.start + 4)) : v.getUint32(box.start + 4);
      } else if (box.type === 'trun') {
        const count = v.getUint32(box.start + 4);
        let at = box.start + 8;
        if (flags & 0x1) at += 4;
        let first: number | undefined;
        if (flags & 0x4) { first = v.getUint32(at); at += 4; }
        for (let i = 0; i < count; i++) {
          let duration = defDuration;
          let sampleFlags = i === 0 && first !== undefined ? first : defFlags;
          if (flags & 0x100) { duration = v.getUint32(at); at += 4; }
          if (flags & 0x200) at += 4;
          if (flags & 0x400) { sampleFlags = v.getUint32(at); at += 4; }
          if (flags & 0x800) at += 4;
          const sync = (sampleFlags & SAMPLE_IS_NON_SYNC) === 0;
          if (sync) f.syncSamples++;
          if (f.samples === 0 && i === 0) f.startsWithSync = sync;
          f.duration += duration;
        }
        f.samples += count;
      }
    }
  }
  return f;
}
