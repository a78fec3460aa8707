// The portable host of the wasm core: instantiates the module over a fixed-size memory, keeps typed views of it and
// hands out pools, demuxers and RTP parsing. No Node globals here (no Buffer, no process): this file runs in browsers.

import { CoreError } from './errors.js';
import { RTP_RECORD_BYTES } from './layout.js';
import { parseRtpHeader, type RtpHeader } from './rtp.js';
import { PacketPool, type PoolOptions } from './pool.js';
import { InterleavedDemuxer, type DemuxerOptions } from './demuxer.js';
import type { CoreExports } from './wasm.js';
import type { CoreMemory } from './memory.js';

/** Where the wasm module comes from: a compiled Module, its bytes, a fetch Response (or its promise) or a URL. */
export type WasmSource =
  | WebAssembly.Module
  | ArrayBuffer
  | ArrayBufferView
  | Response
  | PromiseLike<Response>
  | URL
  | string;

/** Options of createCore. */
export interface CoreOptions {
  /**
   * Size of the core's linear memory in bytes, rounded up to 64 KiB pages. Fixed for the core's life: pools, demuxers
   * and scratch buffers are carved out of it, and it never grows (a grow would detach every view). Default 32 MiB.
   */
  memoryBytes?: number;
}

/** Default linear memory: room for a few camera pools of a few MiB each. */
export const DEFAULT_MEMORY_BYTES = 32 * 1024 * 1024;
/** Largest memory a core may ask for (the 32-bit wasm address space less one page). */
export const MAX_MEMORY_BYTES = 65535 * 65536;
const PAGE_BYTES = 65536;
/** Scratch area for parseRtpHeader input that does not already live in the core's memory. */
const SCRATCH_BYTES = 65536;

const compiledBySource = new WeakMap<object, Promise<WebAssembly.Module>>();
const compiledByUrl = new Map<string, Promise<WebAssembly.Module>>();

/** Compiles (once per source object or URL) the module; a compiled Module is shared by every core made from it. */
export function compileCore(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return Promise.resolve(source);
  if (typeof source === 'string' || source instanceof URL) {
    const key = String(source);
    let p = compiledByUrl.get(key);
    if (!p) {
      p = compileUrl(key);
      compiledByUrl.set(key, p);
      p.catch(() => compiledByUrl.delete(key));
    }
    return p;
  }
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    let p = compiledBySource.get(source);
    if (!p) {
      const bytes = ArrayBuffer.isView(source)
        ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength)
        : new Uint8Array(source);
      p = WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
      compiledBySource.set(source, p);
    }
    return p;
  }
  return compileResponse(source as Response | PromiseLike<Response>);
}

/** What to do when the module is not where it was looked for (bundlers that do not copy it, e.g. esbuild). */
const WASM_URL_HINT = 'serve the package\'s wasm there, or pass its URL: createCore({ wasm: url })';

/** Fetches and compiles the module at `url`; every failure is a CoreError naming the URL (context.url). */
async function compileUrl(url: string): Promise<WebAssembly.Module> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (cause) {
    throw new CoreError('LOAD_FAILED', `fetching the wasm module from ${url} failed: ${(cause as Error).message}; ${WASM_URL_HINT}`, {
      cause, context: { url },
    });
  }
  return compileResponse(res, url);
}

async function compileResponse(response: Response | PromiseLike<Response>, requested?: string): Promise<WebAssembly.Module> {
  const res = await response;
  const url = res.url || requested || '';
  if (!res.ok) {
    throw new CoreError('LOAD_FAILED', `fetching the wasm module from ${url} failed: HTTP ${res.status}; ${WASM_URL_HINT}`, {
      context: { url, status: res.status },
    });
  }
  const type = res.headers.get('content-type') ?? '';
  try {
    if (typeof WebAssembly.compileStreaming === 'function' && type.startsWith('application/wasm')) {
      return await WebAssembly.compileStreaming(res);
    }
    return await WebAssembly.compile(await res.arrayBuffer());
  } catch (cause) {
    // A dev server's HTML fallback page instead of the module is the usual cause: say what came back.
    throw new CoreError('LOAD_FAILED', `compiling the wasm module from ${url} failed (content-type ${type || 'none'}): ${(cause as Error).message}`, {
      cause, context: { url, contentType: type },
    });
  }
}

/**
 * The imports the module needs. asc's output (runtime "stub", importMemory, no abort/trace/seed imports: check
 * build/release.wat) imports only `env.memory`, so the module is instantiated with WebAssembly.instantiate directly,
 * without @assemblyscript/loader: nothing in the browser path imports a bare package name.
 */
function coreImports(memory: WebAssembly.Memory): WebAssembly.Imports {
  return { env: { memory } };
}

/** Instantiates a core from `source`. The Node and browser entries wrap this with their default source. */
export async function loadCore(source: WasmSource, options: CoreOptions = {}): Promise<Core> {
  const memoryBytes = options.memoryBytes ?? DEFAULT_MEMORY_BYTES;
  if (!Number.isFinite(memoryBytes) || memoryBytes < 2 * PAGE_BYTES || memoryBytes > MAX_MEMORY_BYTES) {
    throw new CoreError('BAD_OPTION', `memoryBytes must be between ${2 * PAGE_BYTES} and ${MAX_MEMORY_BYTES}`, {
      context: { memoryBytes },
    });
  }
  let module: WebAssembly.Module;
  try {
    module = await compileCore(source);
  } catch (cause) {
    if (cause instanceof CoreError) throw cause;
    throw new CoreError('LOAD_FAILED', `compiling the wasm module failed: ${(cause as Error).message}`, { cause });
  }
  const pages = Math.ceil(memoryBytes / PAGE_BYTES);
  // maximum == initial: the module itself cannot grow it either.
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const instance = await WebAssembly.instantiate(module, coreImports(memory));
  return new Core(module, instance.exports as unknown as CoreExports, memory);
}

/**
 * One instance of the wasm core over its own fixed linear memory. Several cores may exist at once (one per worker or
 * per group of cameras); they share the compiled module, not memory.
 */
export class Core implements CoreMemory {
  /** The compiled module (share it with `loadCore(core.module)` to make more cores without compiling). */
  readonly module: WebAssembly.Module;
  /** Raw exports of the instance: hot paths call these directly (no loader wrapper). */
  readonly exports: CoreExports;
  /** The core's linear memory: `memory.buffer.byteLength` is fixed for the core's life. */
  readonly memory: WebAssembly.Memory;
  /** Views over the whole memory, built once. Call `views()` first where user code may have detached them. */
  u8!: Uint8Array;
  u16!: Uint16Array;
  u32!: Uint32Array;
  i32!: Int32Array;
  dv!: DataView;
  /** The memory's ArrayBuffer as the views were built on: `new Uint8Array(buffer, at, n)` is the cheapest view of a
   * region (~40 ns, against ~75 for `subarray` or for reading WebAssembly.Memory's `buffer` accessor each time). */
  buffer!: ArrayBuffer;
  /** Address of the scratch input area and of the RTP record parseRtpHeader writes. */
  readonly scratchPtr: number;
  readonly recordPtr: number;
  private poisonedBy: unknown = undefined;

  constructor(module: WebAssembly.Module, exports: CoreExports, memory: WebAssembly.Memory) {
    this.module = module;
    this.exports = exports;
    this.memory = memory;
    this.rebuildViews();
    this.scratchPtr = this.alloc(SCRATCH_BYTES + RTP_RECORD_BYTES);
    this.recordPtr = this.scratchPtr + SCRATCH_BYTES;
  }

  private rebuildViews(): void {
    const buffer = this.memory.buffer;
    this.buffer = buffer;
    this.u8 = new Uint8Array(buffer);
    this.u16 = new Uint16Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.dv = new DataView(buffer);
  }

  /**
   * Returns the byte view of memory, rebuilding all views if the buffer was detached (only a `memory.grow`, even of 0
   * pages, by someone holding the Memory can do that: the core itself never grows).
   */
  views(): Uint8Array {
    // A detached buffer's views have length 0 (the memory never has 0 bytes): a check without WebAssembly.Memory's
    // `buffer` accessor, a call into the runtime that cost ~4 % of the main thread at 256 cameras (issue 12).
    if (this.u8.length === 0) this.rebuildViews();
    return this.u8;
  }

  /** A view of [at, at + length) of the memory (rebuilding the views first if the buffer was detached). */
  view(at: number, length: number): Uint8Array {
    if (this.u8.length === 0) this.rebuildViews();
    return new Uint8Array(this.buffer, at, length);
  }

  /** Size of the linear memory in bytes. */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes of linear memory reserved by pools, demuxers and scratch areas. */
  get reservedBytes(): number {
    return this.exports.region_reserved_bytes() >>> 0;
  }

  /**
   * Reserves `bytes` of linear memory (16-byte aligned, zeroed: pages never written stay unbacked, see
   * assembly/region.ts); throws CoreError('OUT_OF_MEMORY') when full.
   */
  alloc(bytes: number, what = 'buffer'): number {
    this.assertUsable();
    const ptr = this.exports.region_alloc(bytes) >>> 0;
    if (ptr === 0) {
      throw new CoreError('OUT_OF_MEMORY', `no room for a ${what} of ${bytes} bytes in the core's fixed memory; raise memoryBytes`, {
        context: { bytes, memoryBytes: this.memoryBytes, reservedBytes: this.reservedBytes, largestFree: this.exports.region_largest_free() >>> 0 },
      });
    }
    return ptr;
  }

  /** Returns memory reserved with alloc. */
  free(ptr: number): void {
    if (this.poisonedBy !== undefined) return;
    const status = this.exports.region_free(ptr);
    if (status !== 0) throw new CoreError('BAD_ARGUMENT', `free of ${ptr}: not a live block`, { context: { ptr, status } });
  }

  /** True when [ptr, ptr + length) lies in this core's memory. */
  contains(bytes: Uint8Array): boolean {
    return bytes.buffer === this.memory.buffer;
  }

  /** Parses one RTP packet. The bytes are read in place when they are a view of this core's memory, else copied once. */
  parseRtpHeader(bytes: Uint8Array): RtpHeader {
    return parseRtpHeader(this, bytes);
  }

  /**
   * Parses the RTP packet at `ptr` (`length` octets already in this core's memory) into the RTP record at
   * `recordPtr`, in place and without allocating: the hot-path form of parseRtpHeader for transports. Returns the
   * status: 0, or a negative RTP_* code (statusName names it). Read the record with RtpRecordView.
   */
  parseRtpAt(ptr: number, length: number, recordPtr: number): number {
    return this.exports.rtp_parse(ptr, length, recordPtr);
  }

  /** A packet pool with its own byte limit, carved out of this core's memory. */
  createPool(options: PoolOptions): PacketPool {
    return new PacketPool(this, options);
  }

  /** An interleaved RTSP/RTP demuxer (RFC 2326 §10.12) with its own state in this core's memory. */
  createDemuxer(options: DemuxerOptions = {}): InterleavedDemuxer {
    return new InterleavedDemuxer(this, options);
  }

  /**
   * Runs `fn` (a call into wasm) and marks the core unusable if it traps: a trap can leave the wasm state half
   * updated, so the instance is replaced, never reused.
   */
  guard<T>(fn: () => T): T {
    this.assertUsable();
    try {
      return fn();
    } catch (cause) {
      if (cause instanceof WebAssembly.RuntimeError) {
        this.poisonedBy = cause;
        throw new CoreError('TRAPPED', `the wasm core trapped and can no longer be used: ${cause.message}`, { cause });
      }
      throw cause;
    }
  }

  /** Throws CoreError('TRAPPED') once a call into this instance has trapped. */
  assertUsable(): void {
    if (this.poisonedBy !== undefined) {
      throw new CoreError('TRAPPED', 'this wasm core trapped earlier and can no longer be used; create a new one', {
        cause: this.poisonedBy,
      });
    }
  }
}
