// A box-by-box reader of the recorder's MP4 files for tests (ISO/IEC 14496-12): the samples of the moov's tables
// (stsz/stss/stts) and of every fragment whose sample data lies wholly in the file (tfhd/trun, §8.8), so a recording,
// or what a crash left of one, is checked frame by frame. mp4mux's first-moov-then-finalise mode writes the moov
// with the first fragment's samples, then each fragment's mdat before its moof, and at EOS turns the file into a
// plain MP4 (one mdat over everything, a full moov at the end); a killed file is ftyp, moov, then mdat+moof pairs.
import { readFileSync } from 'node:fs';
import { boxes as allBoxes } from '../gst/mp4.js';

/** Boxes of a file a crash may have cut: the last one may be marked `cut`. */
const boxes = (b: Uint8Array, from: number, to: number) => allBoxes(b, from, to, { allowCut: true });

/** One complete fragment (a moof whose sample data is in the file); the moov's own samples count as fragment 0. */
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
  /** Every sample: the moov's tables and the complete fragments. */
  samples: number;
  /** Fragments (moof) whose data the file does not hold wholly: cut by a crash. */
  cutFragments: number;
  durationSeconds: number;
  /** Bytes after the last complete box (a fragment cut by the crash). */
  trailingBytes: number;
}

const SAMPLE_IS_NON_SYNC = 0x0001_0000;


/** Reads a fragmented MP4 with one video track. */
export function readFmp4(file: string): Fmp4 {
  const b = readFileSync(file);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Fmp4 = { boxes: [], timescale: 0, codec: '?', fragments: [], samples: 0, cutFragments: 0, durationSeconds: 0, trailingBytes: 0 };
  const trex = { duration: 0, flags: 0, size: 0 };
  const table: Fragment = { samples: 0, duration: 0, syncSamples: -1, startsWithSync: true, baseTime: 0 };
  const walkMoov = (from: number, to: number) => {
    for (const box of boxes(b, from, to)) {
      if (['trak', 'mdia', 'minf', 'stbl', 'mvex'].includes(box.type)) walkMoov(box.start, box.end);
      else if (box.type === 'mdhd') out.timescale = v.getUint32(box.start + (b[box.start] === 1 ? 20 : 12));
      else if (box.type === 'stsd') out.codec = String.fromCharCode(...b.subarray(box.start + 12, box.start + 16));
      else if (box.type === 'trex') {
        trex.duration = v.getUint32(box.start + 12);
        trex.size = v.getUint32(box.start + 16);
        trex.flags = v.getUint32(box.start + 20);
      } else if (box.type === 'stsz') table.samples = v.getUint32(box.start + 8);
      else if (box.type === 'stss') {
        table.syncSamples = v.getUint32(box.start + 4);
        table.startsWithSync = table.syncSamples > 0 && v.getUint32(box.start + 8) === 1;
      } else if (box.type === 'stts') {
        for (let i = 0, n = v.getUint32(box.start + 4); i < n; i++) table.duration += v.getUint32(box.start + 8 + 8 * i) * v.getUint32(box.start + 12 + 8 * i);
      }
    }
  };
  let completeEnd = 0;
  for (const box of boxes(b, 0, b.length)) {
    out.boxes.push(box.cut ? `${box.type}!` : box.type);
    if (box.cut) break;
    if (box.type === 'moov') {
      walkMoov(box.start, box.end);
      if (table.syncSamples < 0) table.syncSamples = table.samples; // no stss: every sample is a sync sample
      if (table.samples > 0) out.fragments.push(table);
    }
    if (box.type === 'moof') {
      const f = readMoof(b, v, box.start - 8, box.end, trex);
      if (f) out.fragments.push(f);
      else out.cutFragments++;
    }
    completeEnd = box.end;
  }
  out.trailingBytes = b.length - completeEnd;
  out.samples = out.fragments.reduce((n, f) => n + f.samples, 0);
  out.durationSeconds = out.fragments.reduce((n, f) => n + f.duration, 0) / (out.timescale || 1);
  return out;
}

/** The fragment of the moof box at `moofStart`, or undefined when its sample data runs past the end of the file. */
function readMoof(b: Uint8Array, v: DataView, moofStart: number, to: number, trex: { duration: number; flags: number; size: number }): Fragment | undefined {
  const f: Fragment = { samples: 0, duration: 0, syncSamples: 0, startsWithSync: false, baseTime: 0 };
  let dataEnd = 0;
  for (const traf of boxes(b, moofStart + 8, to)) {
    if (traf.type !== 'traf') continue;
    let defDuration = trex.duration;
    let defFlags = trex.flags;
    let defSize = trex.size;
    let base = moofStart;
    for (const box of boxes(b, traf.start, traf.end)) {
      const flags = v.getUint32(box.start) & 0xff_ffff;
      if (box.type === 'tfhd') {
        let at = box.start + 8;
        if (flags & 0x1) { base = Number(v.getBigUint64(at)); at += 8; }
        if (flags & 0x2) at += 4;
        if (flags & 0x8) { defDuration = v.getUint32(at); at += 4; }
        if (flags & 0x10) { defSize = v.getUint32(at); at += 4; }
        if (flags & 0x20) defFlags = v.getUint32(at);
      } else if (box.type === 'tfdt') {
        f.baseTime = b[box.start] === 1 ? Number(v.getBigUint64(box.start + 4)) : v.getUint32(box.start + 4);
      } else if (box.type === 'trun') {
        const count = v.getUint32(box.start + 4);
        let at = box.start + 8;
        let data = base;
        if (flags & 0x1) { data += v.getInt32(at); at += 4; }
        let first: number | undefined;
        if (flags & 0x4) { first = v.getUint32(at); at += 4; }
        for (let i = 0; i < count; i++) {
          let duration = defDuration;
          let sampleFlags = i === 0 && first !== undefined ? first : defFlags;
          if (flags & 0x100) { duration = v.getUint32(at); at += 4; }
          let size = defSize;
          if (flags & 0x200) { size = v.getUint32(at); at += 4; }
          data += size;
          if (flags & 0x400) { sampleFlags = v.getUint32(at); at += 4; }
          if (flags & 0x800) at += 4;
          const sync = (sampleFlags & SAMPLE_IS_NON_SYNC) === 0;
          if (sync) f.syncSamples++;
          if (f.samples === 0 && i === 0) f.startsWithSync = sync;
          f.duration += duration;
        }
        f.samples += count;
        dataEnd = Math.max(dataEnd, data);
      }
    }
  }
  return dataEnd <= b.length ? f : undefined;
}
