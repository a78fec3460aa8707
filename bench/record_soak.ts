// `npm run soak:record -- --minutes M`: the command records the test server's H.264 (30 fps, a keyframe every 30
// frames) in short segments (--segment, default 5 s) for M minutes, then every segment is checked three ways:
//   - its samples: the sum of the file's stts sample durations (what a player plays), and its sample count;
//   - its metadata: the mdhd duration (what a player shows; MediaMTX issue #4188 had 5 s segments whose metadata said
//     22 s after a night) and the index's durationMs and frames;
//   - wall time: the gap between consecutive segment files' last writes (each is finalised right after the rotation
//     that ends it) against the segment's duration, and Σ durations against the run's wall-clock span.
// Prints the figures and writes bench/results/record_soak.json. BENCH_QUICK=1: 30 s.
//
// Options: --minutes M (default 5), --segment S (default 5), --cameras N (default 1).

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { boxes } from '../test/node/gst/mp4.js';
import { startRtspServer } from '../test/server/harness.js';
import { fmt, machine, QUICK, table, writeResults } from './lib/report.js';

const { values } = parseArgs({ options: { minutes: { type: 'string' }, segment: { type: 'string' }, cameras: { type: 'string' } }, allowPositionals: true });
const MINUTES = QUICK ? 0.5 : Number(values.minutes ?? 5);
const SEGMENT_S = Number(values.segment ?? 5);
const CAMERAS = Number(values.cameras ?? 1);
const CLI = fileURLToPath(new URL('../dist/node/cli/index.js', import.meta.url));

/** The samples and metadata of a closed MP4's (first) track, read from its boxes. */
function mp4Durations(file: string): { samples: number; samplesMs: number; metadataMs: number } {
  const b = readFileSync(file);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = { samples: 0, samplesMs: 0, metadataMs: 0 };
  let timescale = 0;
  let ticks = 0;
  const walk = (from: number, to: number): void => {
    for (const { type, start, end } of boxes(b, from, to)) {
      if (['moov', 'trak', 'mdia', 'minf', 'stbl'].includes(type)) walk(start, end);
      else if (type === 'mdhd' && timescale === 0) {
        const version = b[start]!;
        timescale = v.getUint32(start + (version === 1 ? 20 : 12));
        out.metadataMs = ((version === 1 ? Number(v.getBigUint64(start + 24)) : v.getUint32(start + 16)) * 1000) / timescale;
      } else if (type === 'stts' && ticks === 0) {
        const entries = v.getUint32(start + 4);
        for (let i = 0; i < entries; i++) {
          const count = v.getUint32(start + 8 + i * 8);
          out.samples += count;
          ticks += count * v.getUint32(start + 12 + i * 8);
        }
      }
    }
  };
  walk(0, b.length);
  out.samplesMs = timescale ? (ticks * 1000) / timescale : 0;
  return out;
}

interface IndexLine { path: string; state: string; startMs: number; durationMs: number | null; frames: number; reason: string; gapBeforeMs: number }

const server = await startRtspServer({ sessionTimeout: 10 });
const dir = mkdtempSync(join(tmpdir(), 'wasm-rtsp-record-soak-'));
try {
  const urls = Array.from({ length: CAMERAS }, (_, i) => `${server.url('/h264')}#name=soak${i}`);
  console.log(`recording ${CAMERAS} camera(s) for ${MINUTES} min in ${SEGMENT_S} s segments into ${dir} …`);
  const t0 = Date.now();
  const child = spawn(process.execPath, [CLI, ...urls, '--record', join(dir, '{camera}/%Y%m%d-%H%M%S.mp4'), '--segment', String(SEGMENT_S),
    '--duration', String(MINUTES * 60), '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const wallMs = Date.now() - t0;
  if (code !== 0) throw new Error(`the command exited ${code}`);
  const summary = JSON.parse(out) as { cameras: Array<{ name: string; recording: { index: string; framesWritten: number } }> };
  const results = [];
  for (const cam of summary.cameras) {
    const byPath = new Map<string, IndexLine>();
    for (const line of readFileSync(cam.recording.index, 'utf8').split('\n').filter(Boolean)) {
      const r = JSON.parse(line) as IndexLine;
      byPath.delete(r.path);
      byPath.set(r.path, r);
    }
    const segs = [...byPath.values()];
    const rows = segs.map((s) => ({ ...s, ...mp4Durations(s.path), mtimeMs: statSync(s.path).mtimeMs }));
    const rotated = rows.slice(0, -1); // the last one ends at the stop, not at a rotation
    const abs = (xs: number[]) => Math.max(0, ...xs.map(Math.abs));
    const fileVsIndex = abs(rows.map((r) => r.samplesMs - r.durationMs!));
    const metaVsSamples = abs(rows.map((r) => r.metadataMs - r.samplesMs));
    const framesVsIndex = abs(rows.map((r) => r.samples - r.frames));
    const vsSegment = abs(rotated.map((r) => r.durationMs! - SEGMENT_S * 1000));
    const wallGaps = rows.slice(1).map((r, i) => r.mtimeMs - rows[i]!.mtimeMs - r.durationMs!);
    const sumMs = rows.reduce((a, r) => a + r.durationMs!, 0);
    const spanMs = rows.at(-1)!.startMs + rows.at(-1)!.durationMs! - rows[0]!.startMs;
    const gaps = rows.reduce((a, r, i) => a + (i > 0 ? r.gapBeforeMs : 0), 0);
    const result = {
      camera: cam.name, segments: rows.length, closed: rows.filter((r) => r.state === 'closed').length,
      framesWritten: cam.recording.framesWritten, framesInFiles: rows.reduce((a, r) => a + r.samples, 0),
      maxFileVsIndexMs: fileVsIndex, maxMetadataVsSamplesMs: metaVsSamples, maxFramesVsIndex: framesVsIndex,
      maxRotatedVsSegmentMs: vsSegment, minRotatedMs: Math.min(...rotated.map((r) => r.durationMs!)), maxRotatedMs: Math.max(...rotated.map((r) => r.durationMs!)),
      maxWallVsDurationMs: abs(wallGaps), sumDurationsMs: sumMs, indexSpanMs: spanMs, gapsMs: gaps, wallMs,
    };
    results.push(result);
  }
  console.log(table([
    ['camera', 'segments', 'frames written / in files', 'file vs index (max ms)', 'metadata vs samples (max ms)', 'rotated: min–max ms',
      'wall vs duration (max ms)', 'Σ durations / index span / run (s)'],
    ...results.map((r) => [r.camera, `${r.segments} (${r.closed} closed)`, `${r.framesWritten} / ${r.framesInFiles}`, fmt(r.maxFileVsIndexMs, 3),
      fmt(r.maxMetadataVsSamplesMs, 3), `${fmt(r.minRotatedMs, 1)}–${fmt(r.maxRotatedMs, 1)}`, fmt(r.maxWallVsDurationMs, 0),
      `${fmt(r.sumDurationsMs / 1000, 3)} / ${fmt(r.indexSpanMs / 1000, 3)} / ${fmt(r.wallMs / 1000, 1)}`]),
  ]));
  const ok = results.every((r) => r.closed === r.segments && r.framesWritten === r.framesInFiles && r.maxFileVsIndexMs < 1 &&
    r.maxMetadataVsSamplesMs < 1 && r.maxFramesVsIndex === 0 && r.maxRotatedVsSegmentMs < 1 && r.maxWallVsDurationMs < 1000);
  console.log(ok ? 'exact: every segment\'s samples, metadata and index agree; rotated segments are the segment length'
    : 'MISMATCH: see the table');
  console.log(`results: ${writeResults('record_soak', { machine: machine(), minutes: MINUTES, segmentS: SEGMENT_S, cameras: CAMERAS, results, ok })}`);
  process.exitCode = ok ? 0 : 1;
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
