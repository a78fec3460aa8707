// The command's set of running cameras, by name: where they come from (URLs or --config, this shard, this worker),
// how a batch of them starts (wasm cores, cameras, one wait for first answers, pipelines), and how a reload changes
// the set without touching the cameras it keeps.
//
// A pipeline needs every stream's caps (from the SDP) before it starts, so a batch — the cameras at start, or those a
// reload adds or changes — is started together (at most FIRST_ATTEMPTS_PER_SERVER first attempts at once per server)
// and its pipeline built once every camera of it has answered or failed once, or when the longest --timeout of the
// batch ran out after its last camera started; a camera of the batch that answers later gets a pipeline of its own.
// Until then a camera keeps only its frames since the latest keyframe (camera.ts). Cameras recording to a file get a pipeline per file (the muxer is pipeline-wide). A removed
// camera is torn down (TEARDOWN) and its branches go idle; a pipeline whose cameras are all gone is drained and
// stopped. Unchanged cameras keep their session, pipeline and recording.
//
// A camera whose branch GStreamer refuses fails alone: at build time the pipeline is built again without it; on a bus
// error from its branch the shared pipeline stops and its other cameras go on in a new one.

import { createCore } from '../core.js';
import { parseRtspUrl } from '../../core/rtsp/url.js';
import type { Core } from '../../core/core.js';
import { createGstSink, GstError, type GstBranch } from '../gst/index.js';
import { loadConfig, type CameraSpec, type FleetSettings } from '../fleet/config.js';
import { diffCameras, type CameraDiff } from '../fleet/diff.js';
import { filterShard, resolveShard, shardOf, type ResolvedShard } from '../fleet/shard.js';
import { planCores, specsFromArgs, UsageError, type Args } from './args.js';
import { keepPastBranch, Camera, cameraOfElement, connectToPipeline, type CameraState, type Pipeline } from './camera.js';
import { CameraRecording, checkRecording, recordName, START_UP_RECORD_CODES } from './record.js';
import { describe } from './summary.js';
import type { RecordError } from '../record/index.js';

/** How long a removed camera's pipeline may take to drain (EOS) before it is stopped. */
const REMOVED_PIPELINE_EOS_MS = 3000;

/**
 * Cameras of one server (host and port) that make their first attempt at once. A fleet behind one NVR or relay would
 * otherwise open hundreds of connections to it in the same millisecond: its accept queue (GStreamer's RTSP server
 * listens with a backlog of 5) overflows, the kernel drops the handshakes' last ACKs, and those cameras' OPTIONS wait
 * on TCP retransmits, many until --timeout and a retry (measured: 256 cameras on the test server played in 14–20 s,
 * ~100 of them after a timed-out first attempt). Cameras on distinct servers all start at once.
 */
export const FIRST_ATTEMPTS_PER_SERVER = 16;

/** What startPerServer needs of a camera. */
export interface Startable {
  readonly url: string;
  /** Resolves once the first attempt has ended (played, or failed). */
  readonly firstAnswer: Promise<void>;
  readonly played: boolean;
  start(): void;
}

/**
 * Starts `cams` with at most `limit` first attempts in flight per server (`skip`: a camera removed or a run stopped
 * meanwhile is not started). Once a camera of a server fails its first attempt, the rest of that server's cameras
 * start at once: a server that is down would otherwise hold the batch's pipeline up for a --timeout per `limit`
 * cameras. Resolves once every camera has been started (or skipped).
 */
export async function startPerServer<C extends Startable>(cams: readonly C[], limit: number, skip: (c: C) => boolean = () => false): Promise<void> {
  const byServer = new Map<string, C[]>();
  for (const c of cams) {
    // Host and port as the client will connect (the scheme's default port filled in: rtsp://h/ and rtsp://h:554/ are
    // one server); a URL the parser refuses keys on itself (its camera fails at once anyway).
    let key: string;
    try {
      const u = parseRtspUrl(c.url);
      key = `${u.host}:${u.port}`;
    } catch {
      key = c.url;
    }
    let queue = byServer.get(key);
    if (queue === undefined) byServer.set(key, (queue = []));
    queue.push(c);
  }
  await Promise.all([...byServer.values()].map(async (queue) => {
    let next = 0;
    let unlimited = false;
    const lane = async () => {
      while (next < queue.length) {
        if (unlimited) {
          while (next < queue.length) {
            const c = queue[next++]!;
            if (!skip(c)) c.start();
          }
          return;
        }
        const c = queue[next++]!;
        if (skip(c)) continue;
        c.start();
        await c.firstAnswer;
        if (!c.played) unlimited = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, lane));
  }));
}

/** The worker (0 to count-1) a camera runs in with --workers: rendezvous hashing, so a reload never moves a camera. */
export function workerOfCamera(name: string, count: number): number {
  // Salted: with --shard I/N and N workers, the shard's own hash would put every camera of shard I in one worker.
  return shardOf(`worker\u0000${name}`, count);
}

/** Where the cameras come from: the command line's URLs or the --config file, cut to this shard and worker. */
export class CameraSource {
  /** The file's process settings (metrics, workers, shard), after the last load. */
  settings: FleetSettings = {};
  /** The shard this process runs, after the last load. */
  shard: ResolvedShard | undefined;

  constructor(private readonly a: Args, private readonly urls: readonly string[] = a.urls, private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** Whether load() reads a file (and a reload can change anything). */
  get file(): string | undefined {
    return this.a.configFile;
  }

  /** The cameras this process (or worker) runs. Throws ConfigError (file, shard) or UsageError. */
  load(): CameraSpec[] {
    let specs: CameraSpec[];
    if (this.a.configFile !== undefined) {
      const config = loadConfig(this.a.configFile, { env: this.env });
      this.settings = config.settings;
      specs = config.cameras;
    } else {
      specs = specsFromArgs(this.a, this.urls);
    }
    this.shard = resolveShard({
      option: this.a.shard, env: this.env,
      file: this.a.configFile !== undefined ? { shard: this.settings.shard, source: this.a.configFile } : undefined,
    });
    specs = filterShard(specs, this.shard);
    const w = this.a.workerOf;
    return w ? specs.filter((s) => workerOfCamera(s.name, w.count) === w.index) : specs;
  }
}

/** What the fleet tells the run. */
export interface FleetHooks {
  log(line: string): void;
  /** A camera changed state (the run checks whether every camera has ended). */
  stateChanged(cam: Camera, state: CameraState, reason: string): void;
  /**
   * GStreamer refused or failed a pipeline. With `cam` and not `fatal`, the fleet fails that camera alone (the others
   * go on); `fatal` (an error that names no camera, at start or on the bus): the run exits 4.
   */
  gstreamerError(e: unknown, cam: Camera | undefined, fatal: boolean): void;
  /**
   * A camera's recording could not start, or ended on an error: `usage` when it is the user's to fix at start-up
   * (bad template, directory, existing file: the run exits 2); otherwise the camera has failed alone.
   */
  recordingFailed(e: unknown, cam: Camera, usage: boolean): void;
}

/** The running cameras by name, their cores and their pipelines. */
export class Fleet {
  /** Running cameras by name. */
  readonly live = new Map<string, Camera>();
  /** Every camera this run started, removed ones included (the summary lists them). */
  readonly all: Camera[] = [];
  readonly pipelines: Pipeline[] = [];
  private nextIndex = 0;

  constructor(private readonly signal: AbortSignal, private readonly hooks: FleetHooks) {}

  /** The running cameras, in the order they were started. */
  get cameras(): Camera[] {
    return [...this.live.values()];
  }

  /** The specs of the running cameras (what a reload compares the file with). */
  specs(): CameraSpec[] {
    return this.cameras.map((c) => c.spec);
  }

  /**
   * Starts a batch of cameras and builds its pipelines once their first answers are in (or the batch's longest
   * timeout ran out, or the run stops). `fatal`: a pipeline that cannot be built ends the run (at start) instead of
   * failing only its cameras (on reload). Throws UsageError when the wasm memory cannot be had.
   */
  async add(specs: readonly CameraSpec[], fatal: boolean): Promise<Camera[]> {
    if (specs.length === 0) return [];
    // Recordings are checked before any camera connects: a bad template, directory or existing file is the user's
    // to fix (at start: exit 2; on reload: that camera fails alone).
    const refused = new Map<string, RecordError>();
    for (const s of specs) {
      const e = checkRecording(s);
      if (!e) continue;
      if (fatal) throw e;
      refused.set(s.name, e);
    }
    const cams: Camera[] = [];
    // One core (wasm memory) per group of cameras with the same pool size, split when 4 GiB is not enough.
    const byPool = new Map<number, CameraSpec[]>();
    for (const s of specs) byPool.set(s.poolLimitBytes, [...(byPool.get(s.poolLimitBytes) ?? []), s]);
    for (const [poolLimitBytes, group] of byPool) {
      const plan = planCores(group.length, poolLimitBytes);
      let k = 0;
      for (const c of plan.cores) {
        let core: Core;
        try {
          core = await createCore({ memoryBytes: c.memoryBytes });
        } catch (e) {
          throw new UsageError(`cannot reserve ${(c.memoryBytes / 2 ** 20).toFixed(0)} MiB of wasm memory for ${c.cameras} camera(s) ` +
            `(${(e as Error).message}): lower --pool-limit or run fewer cameras per process`, { option: '--pool-limit' });
        }
        for (let i = 0; i < c.cameras; i++) cams.push(new Camera(this.nextIndex++, group[k++]!, core, this.signal));
      }
    }
    for (const cam of cams) {
      cam.on('state', (state: CameraState, reason: string) => {
        // Printed with or without a terminal: a camera that stalls or drops is visible in any log.
        this.hooks.log(`${cam.name}: ${state === 'playing' ? reason : `${state}: ${reason}`}`);
        this.hooks.stateChanged(cam, state, reason);
      });
      cam.on('note', (text: string) => this.hooks.log(`${cam.name}: ${text}`));
      this.live.set(cam.name, cam);
      this.all.push(cam);
    }
    for (const cam of cams) {
      const e = refused.get(cam.name);
      if (!e) continue;
      this.hooks.recordingFailed(e, cam, false);
      cam.failWith(e);
    }
    const started = startPerServer(cams.filter((c) => !refused.has(c.name)), FIRST_ATTEMPTS_PER_SERVER,
      (c) => c.removed || this.signal.aborted);
    // The longest --timeout of the batch, from the moment its last camera started (a server's cameras start in turn).
    const timeoutMs = Math.max(...cams.map((c) => c.spec.timeoutMs));
    const deadline = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let waited = false;
    void started.then(() => {
      if (!waited) timer = setTimeout(() => deadline.abort(), timeoutMs);
    });
    await raceAbort(Promise.all(cams.map((c) => c.firstAnswer)).then(() => {}), AbortSignal.any([this.signal, deadline.signal]));
    waited = true;
    clearTimeout(timer);
    if (this.signal.aborted) return cams;
    const ready = cams.filter((c) => c.streams.length > 0 && !c.removed);
    for (const cam of cams) {
      if (ready.includes(cam) || cam.state === 'failed' || cam.removed) continue;
      this.hooks.log(`${cam.name}: not playing (${cam.lastError !== undefined ? describe(cam.lastError) : `no answer within --timeout ${cam.spec.timeoutMs / 1000} s`}); ` +
        'it keeps trying and gets a pipeline of its own when it answers');
      cam.once('firstPlay', () => {
        if (!this.signal.aborted && !cam.removed) this.startPipelines([cam], false);
      });
    }
    this.startPipelines(ready, fatal);
    return cams;
  }

  /** Stops the named cameras (TEARDOWN); pipelines left without a running camera are drained and stopped. */
  async remove(names: readonly string[]): Promise<void> {
    const cams = names.map((n) => this.live.get(n)).filter((c): c is Camera => c !== undefined);
    for (const c of cams) {
      c.removed = true;
      this.live.delete(c.name);
    }
    await Promise.all(cams.map((c) => c.stop()));
    await Promise.all(cams.map((c) => c.recording?.recorder.stop()));
    await Promise.all(this.pipelines
      .filter((p) => p.cameras.every((m) => m.camera.removed) && p.sink.currentState === 'playing')
      .map((p) => p.sink.close({ timeoutMs: REMOVED_PIPELINE_EOS_MS })));
  }

  /**
   * Brings the running set to `next`: removed and changed cameras stop, added and changed ones start (as one batch),
   * unchanged ones are not touched. Resolves once the new batch's pipelines are built.
   */
  async reload(next: readonly CameraSpec[]): Promise<CameraDiff> {
    const diff = diffCameras(this.specs(), next);
    await this.remove([...diff.removed.map((s) => s.name), ...diff.changed.map((c) => c.name)]);
    await this.add([...diff.added, ...diff.changed.map((c) => c.after)], false);
    return diff;
  }

  /** Closes every recording (EOS through its open segment: a complete file, indexed). */
  async stopRecordings(): Promise<void> {
    await Promise.all(this.all.map((c) => c.recording?.recorder.stop()));
  }

  /**
   * Starts what takes the media of cameras that have answered: a recorder per recording camera, one pipeline for the
   * others.
   */
  private startPipelines(cams: readonly Camera[], fatal: boolean, resumed = false): void {
    for (const c of cams) if (c.records) this.startRecording(c, fatal);
    let group = cams.filter((c) => !c.records);
    if (group.length === 0) return;
    let p: Pipeline;
    try {
      p = this.buildPipeline(group);
    } catch (e) {
      // GStreamer refused the batch's pipeline: find the cameras whose own branches it refuses, fail them alone and
      // build the pipeline again without them. No culprit (the branches only clash together): the whole batch fails.
      const refused = this.refusedCameras(group);
      for (const [cam, err] of refused) {
        this.hooks.gstreamerError(err, cam, false);
        cam.failWith(err);
      }
      group = group.filter((c) => !refused.has(c));
      if (group.length === 0) return; // every camera of the batch failed alone: the run decides (exit 4 when none is left)
      try {
        if (refused.size === 0) throw e;
        p = this.buildPipeline(group);
      } catch (again) {
        this.hooks.gstreamerError(again, group.length === 1 ? group[0] : undefined, fatal);
        if (!fatal) for (const c of group) c.failWith(again);
        return;
      }
    }
    // Only the first error acts: the sink stops its pipeline on it, and what follows is its echo.
    let failed = false;
    p.sink.on('error', (e: GstError) => {
      const cam = cameraOfElement(p, e.element);
      if (failed || cam === undefined || this.signal.aborted) {
        this.hooks.gstreamerError(e, cam, !failed);
        failed = true;
        return;
      }
      failed = true;
      this.isolate(p, cam, e);
    });
    p.sink.on('warning', (e) => this.hooks.log(`GStreamer warning: ${describe(e)}`));
    p.sink.start();
    this.pipelines.push(p);
    // Only now: attach() hands over the media kept since each camera's first PLAY, which a sink not yet playing
    // refuses (it was counted as sinkClosed: ~100 frames per camera lost at start-up).
    for (const m of p.cameras) connectToPipeline(m.camera, p.sink, m.firstBranch, resumed);
  }

  /**
   * A bus error from one camera's branch: that camera fails alone (its error names it and the stream), the stopped
   * pipeline keeps only it, and the pipeline's other cameras go on in a new one (their RTSP sessions untouched; a
   * frame branch resumes at a keyframe).
   */
  private isolate(p: Pipeline, cam: Camera, e: GstError): void {
    const m = p.cameras.find((x) => x.camera === cam)!;
    const branch = /(\d+)$/.exec(e.element ?? '');
    const stream = branch ? cam.streams.find((s) => s.id === Number(branch[1]) - m.firstBranch) : undefined;
    const err = new GstError(e.code, `${stream ? `${stream.type}${stream.id}: ` : ''}${e.message}`, {
      element: e.element, cause: e, context: { ...e.context, camera: cam.name, ...(stream ? { stream: `${stream.type}${stream.id}` } : {}) },
    });
    this.hooks.gstreamerError(err, cam, false);
    cam.failWith(err);
    const rest = p.cameras.filter((x) => x.camera !== cam && !x.camera.removed && x.camera.state !== 'failed' && x.camera.state !== 'stopped');
    // What the others pushed into this pipeline stays in their summary (frames balance over every pipeline fed).
    const branches = p.sink.stats().branches;
    for (const r of rest) for (const s of r.camera.streams) {
      const b = branches[r.firstBranch + s.id];
      if (b) keepPastBranch(r.camera, s.id, b);
    }
    p.cameras.splice(0, p.cameras.length, m);
    void p.sink.close({ timeoutMs: 0 });
    if (rest.length === 0) return;
    this.hooks.log(`${rest.length} other camera${rest.length === 1 ? '' : 's'} of its pipeline go on in a new one: ${rest.map((x) => x.camera.name).join(', ')}`);
    this.startPipelines(rest.map((x) => x.camera), false, true);
  }

  /**
   * The cameras whose branches GStreamer refuses on their own (built alone, then stopped), each with a GST_LAUNCH
   * error naming the camera and, when one stream alone is refused, the stream.
   */
  private refusedCameras(cams: readonly Camera[]): Map<Camera, GstError> {
    const refused = new Map<Camera, GstError>();
    const probe = (branches: GstBranch[]): unknown => {
      try {
        void createGstSink({ branches }).close();
        return undefined;
      } catch (e) {
        return e;
      }
    };
    for (const cam of cams) {
      const branches = this.branchesOf(cam);
      const whole = probe(branches);
      if (whole === undefined) continue;
      const i = branches.findIndex((b) => probe([b]) !== undefined);
      const stream = i >= 0 ? `${cam.streams[i]!.type}${cam.streams[i]!.id}` : undefined;
      const cause = (i >= 0 ? probe([branches[i]!]) : whole) as Error;
      refused.set(cam, new GstError('GST_LAUNCH', `GStreamer refused the branch of ${cam.name}${stream ? ` ${stream}` : ''}: ` +
        `${cause?.message ?? String(cause)}`, { cause, context: { camera: cam.name, ...(stream ? { stream } : {}) } }));
    }
    return refused;
  }

  /**
   * The camera's Recorder: started now that the camera plays (its streams are known). An error at its start that is
   * the user's to fix ends the run when `fatal` (start-up); any other error that ends the recording (a stream the
   * container refuses) fails this camera alone. Errors the recorder survives (a failed segment, a snapshot) are
   * logged with camera and file.
   */
  private startRecording(cam: Camera, fatal: boolean): void {
    const spec = cam.spec.record!;
    let rec: CameraRecording;
    try {
      rec = new CameraRecording(cam, spec.path);
    } catch (e) {
      this.hooks.recordingFailed(e, cam, fatal && START_UP_RECORD_CODES.has((e as RecordError).code));
      cam.failWith(e);
      return;
    }
    cam.recording = rec;
    const r = rec.recorder;
    r.on('error', (e: RecordError) => this.hooks.log(`${cam.name}: recording: ${describe(e)}`));
    r.on('warning', (e: RecordError) => this.hooks.log(`${cam.name}: recording: ${describe(e)}`));
    r.on('close', (reason: RecordError | undefined) => {
      if (reason === undefined || cam.removed) return;
      this.hooks.recordingFailed(reason, cam, false);
      cam.failWith(reason);
    });
    r.start().then(() => {
      const stream = r.recordedStream!;
      this.hooks.log(`${cam.name}: recording ${stream.type}${stream.id} (${stream.encodingName}) to ${spec.path}` +
        `${spec.segmentMs !== undefined ? `, ${spec.segmentMs / 1000} s segments` : ''} (index ${r.indexPath})`);
    }, (e: unknown) => {
      if (cam.state === 'stopped' || cam.removed || this.signal.aborted) return;
      const usage = fatal && START_UP_RECORD_CODES.has((e as RecordError).code);
      this.hooks.recordingFailed(e, cam, usage);
      cam.failWith(e);
    });
  }

  /**
   * One pipeline with a branch per stream of each camera (the binding's bus polling holds one thread per pipeline);
   * the cameras are connected once it plays (startPipelines).
   */
  private buildPipeline(cams: readonly Camera[]): Pipeline {
    const branches: GstBranch[] = [];
    const members: Pipeline['cameras'] = [];
    for (const camera of cams) {
      members.push({ camera, firstBranch: branches.length });
      branches.push(...this.branchesOf(camera));
    }
    const sink = createGstSink({ branches, maxQueueBytes: cams[0]!.spec.queueLimitBytes });
    return { sink, cameras: members };
  }

  /** A branch per stream of the camera (stream id = index). */
  private branchesOf(camera: Camera): GstBranch[] {
    return camera.streams.map((stream) => {
      // {camera} and {stream} in --pipeline: a file sink there writes a file per camera and stream.
      const launch = camera.spec.pipeline?.replaceAll('{camera}', recordName(camera.spec)).replaceAll('{stream}', `${stream.type}${stream.id}`);
      return {
        stream, input: camera.usesFrames(stream) ? 'frames' : 'packets', maxQueueBytes: camera.spec.queueLimitBytes,
        tail: launch !== undefined ? { launch } : 'decode',
      } satisfies GstBranch;
    });
  }
}

/** Resolves when `p` does or `signal` aborts, whichever is first. */
export function raceAbort(p: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
