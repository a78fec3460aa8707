// The arguments of bench/ingest_child.ts, shared with its driver bench/ingest_perf.ts.

/** What the ingest child runs; see bench/ingest_child.ts. */
export const INGEST_VARIANTS = ['wasm-frames-gst', 'wasm-frames', 'wasm-packets-gst', 'wasm-packets', 'node-frames', 'node-packets'] as const;
export type IngestVariant = (typeof INGEST_VARIANTS)[number];

/** Arguments of the ingest child (one JSON argument). */
export interface IngestChildArgs {
  url: string;
  variant: IngestVariant;
  warmupMs: number;
  measureMs: number;
  /** The GStreamer depayloader of the packet-mode branch ('rtph264depay', 'rtpvrawdepay'). */
  depay: string;
  /** Appsrc bound of the GstSink branch (raw frames are ~1.8 MB each). */
  maxQueueBytes: number;
  /** Linear memory of the wasm core. */
  memoryBytes: number;
  /** Give up after this long without finishing. */
  timeoutMs: number;
  /** Write a V8 CPU profile (.cpuprofile, the format of `node --cpu-prof`) of the measured window here. */
  profilePath?: string;
}
