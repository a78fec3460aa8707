// A minimal ISO BMFF (MP4) reader for tests: the sample count, sync samples and duration of each track, read from
// the boxes themselves (ISO/IEC 14496-12: moov/trak/mdia/{mdhd,minf/stbl/{stsz,stss}}), so a recording can be
// checked frame by frame without trusting any one tool's summary.
import { readFileSync } from 'node:fs';

/** What a test needs to know about one track. */
export interface Mp4Track {
  /** Handler type: 'vide', 'soun', … */
  handler: string;
  /** Sample entry (codec) of the first stsd entry: 'avc1', 'hvc1', 'hev1', 'mp4a', … */
  codec: string;
  timescale: number;
  durationSeconds: number;
  samples: number;
  /** Sync samples (keyframes); every sample when the track has no stss box. */
  syncSamples: number;
}

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl']);

/**
 * The boxes between `from` and `to` (ISO/IEC 14496-12 §4.2: 32-bit size, or 1 then a 64-bit size, or 0 for "to the
 * end"). A box that runs past `to` is an error, or with `allowCut` (a file a crash cut short) the last one, marked `cut`.
 */
export function* boxes(b: Uint8Array, from: number, to: number, options: { allowCut?: boolean } = {}):
  Generator<{ type: string; start: number; end: number; cut: boolean }> {
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
    if (size < header || (at + size > to && !options.allowCut)) throw new Error(`bad box ${type} at ${at}`);
    if (at + size > to) {
      yield { type, start: at + header, end: to, cut: true };
      return;
    }
    yield { type, start: at + header, end: at + size, cut: false };
    at += size;
  }
}

/** Reads every track of an MP4 file. */
export function readMp4(file: string): Mp4Track[] {
  const b = readFileSync(file);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const tracks: Mp4Track[] = [];
  const walk = (from: number, to: number, track: Partial<Mp4Track> | undefined) => {
    for (const box of boxes(b, from, to)) {
      if (box.type === 'trak') {
        const t: Partial<Mp4Track> = {};
        walk(box.start, box.end, t);
        tracks.push({
          handler: t.handler ?? '?', codec: t.codec ?? '?', timescale: t.timescale ?? 0,
          durationSeconds: t.durationSeconds ?? 0, samples: t.samples ?? 0, syncSamples: t.syncSamples ?? t.samples ?? 0,
        });
      } else if (CONTAINERS.has(box.type)) {
        walk(box.start, box.end, track);
      } else if (track && box.type === 'mdhd') {
        const version = b[box.start]!;
        const timescale = v.getUint32(box.start + (version === 1 ? 20 : 12));
        const duration = version === 1 ? Number(v.getBigUint64(box.start + 24)) : v.getUint32(box.start + 16);
        track.timescale = timescale;
        track.durationSeconds = duration / timescale;
      } else if (track && box.type === 'hdlr') {
        track.handler = String.fromCharCode(...b.subarray(box.start + 8, box.start + 12));
      } else if (track && box.type === 'stsd') {
        track.codec = String.fromCharCode(...b.subarray(box.start + 12, box.start + 16));
      } else if (track && box.type === 'stsz') {
        track.samples = v.getUint32(box.start + 8);
      } else if (track && box.type === 'stss') {
        track.syncSamples = v.getUint32(box.start + 4);
      }
    }
  };
  walk(0, b.length, undefined);
  return tracks;
}
