// A camera's index of segments: JSON lines next to its files, one record per change of a segment. A segment gets an
// 'open' record when its file is created and a 'closed' (or 'failed') record when it ends, so after a crash the
// index still names the file that was being written; the last record of a path is its state. Deleted segments get a
// 'deleted' record, and the file is rewritten without them (write to a temporary file, then rename: atomic) so it
// does not grow for ever. All I/O is synchronous on purpose: every recording pipeline holds a libuv pool thread for
// its bus, and an async fs call queued behind them could wait as long as the recording lasts.

import { appendFileSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';

/** Where a segment is. */
export type SegmentState = 'open' | 'closed' | 'failed' | 'deleted';

/** Why a segment started. */
export type SegmentReason = 'start' | 'rotate' | 'reconnect' | 'config' | 'resume';

/** One line of the index (see docs/recording.md). */
export interface SegmentRecord {
  /** The file, as the template rendered it (relative paths stay relative to the working directory). */
  path: string;
  camera: string;
  stream: string;
  state: SegmentState;
  /** Wall-clock time of the first frame: ISO 8601 and ms since the epoch. */
  start: string;
  startMs: number;
  /** 'sender': from the camera's RTCP sender reports; 'arrival': this host's clock when the frame arrived. */
  clock: 'sender' | 'arrival';
  /** From the PTS of the frames (the stream's clock), not from wall time; null while open. */
  durationMs: number | null;
  /** File size once closed (null while open). */
  bytes: number | null;
  /** Frames (samples) written; keyframes among them. */
  frames: number;
  keyframes: number;
  /** Time with no recording between the end of the previous segment and this one's start (an outage); 0 if none. */
  gapBeforeMs: number;
  /** Frames flagged as following lost packets (written; a decoder may show artefacts until the next keyframe). */
  discontinuities: number;
  /** Frames not written because the pipeline's queue was full, up to the next keyframe. */
  droppedFrames: number;
  reason: SegmentReason;
  /** 'failed': what went wrong. */
  error?: { code: string; message: string };
  /** Closed by a later run: the process that wrote it ended without closing it (duration unknown). */
  crashed?: boolean;
}

/** The index of one camera: in memory, and the file it mirrors. */
export class SegmentIndex {
  private readonly records = new Map<string, SegmentRecord>();

  /** Loads `file` if it exists; unreadable lines are skipped (a crash may have cut the last one). */
  constructor(readonly file: string) {
    if (!existsSync(file)) return;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        const r = JSON.parse(line) as SegmentRecord;
        if (typeof r?.path !== 'string' || typeof r.startMs !== 'number') continue;
        this.records.delete(r.path); // keep the order of the latest record
        if (r.state === 'deleted') continue;
        this.records.set(r.path, r);
      } catch {
        // a line cut by a crash
      }
    }
  }

  /** Live segments (not deleted), oldest record first. */
  segments(): SegmentRecord[] {
    return [...this.records.values()];
  }

  get(path: string): SegmentRecord | undefined {
    return this.records.get(path);
  }

  /** Appends `record` and makes it the path's state. */
  put(record: SegmentRecord): void {
    appendFileSync(this.file, JSON.stringify(record) + '\n');
    this.records.delete(record.path);
    if (record.state !== 'deleted') this.records.set(record.path, record);
  }

  /**
   * Segments left 'open' by a process that died: marked closed and `crashed`, with their size on disk (0 if gone).
   * Returns them.
   */
  closeCrashed(isOpenNow: (path: string) => boolean): SegmentRecord[] {
    const fixed: SegmentRecord[] = [];
    for (const r of this.records.values()) {
      if (r.state !== 'open' || isOpenNow(r.path)) continue;
      let bytes = 0;
      try { bytes = statSync(r.path).size; } catch { /* gone */ }
      fixed.push({ ...r, state: 'closed', crashed: true, bytes });
    }
    for (const r of fixed) this.put(r);
    return fixed;
  }

  /** Rewrites the file with the live records only (atomic rename). */
  compact(): void {
    const tmp = `${this.file}.tmp-${process.pid}`;
    writeFileSync(tmp, this.segments().map((r) => JSON.stringify(r) + '\n').join(''));
    renameSync(tmp, this.file);
  }
}

/** Retention limits: keep a camera's segments at most this old / this big in total. */
export interface RetentionLimits {
  retainSeconds?: number;
  retainBytes?: number;
}

/**
 * The segments to delete, oldest first: closed or failed ones (never `open`, never one still being closed) that
 * ended more than `retainSeconds` before `nowMs`, then the oldest ones while the total size (the open segment's
 * current size included) passes `retainBytes`.
 */
export function segmentsToDelete(segments: readonly SegmentRecord[], limits: RetentionLimits, nowMs: number,
  openBytes: number): SegmentRecord[] {
  const candidates = segments.filter((s) => s.state === 'closed' || s.state === 'failed').sort((a, b) => a.startMs - b.startMs);
  const out = new Set<SegmentRecord>();
  if (limits.retainSeconds !== undefined) {
    for (const s of candidates) {
      const end = s.startMs + (s.durationMs ?? 0);
      if (end < nowMs - limits.retainSeconds * 1000) out.add(s);
    }
  }
  if (limits.retainBytes !== undefined) {
    let total = openBytes;
    for (const s of segments) if (s.state !== 'open' && !out.has(s)) total += s.bytes ?? 0;
    for (const s of candidates) {
      if (total <= limits.retainBytes) break;
      if (out.has(s)) continue;
      out.add(s);
      total -= s.bytes ?? 0;
    }
  }
  return candidates.filter((s) => out.has(s));
}
