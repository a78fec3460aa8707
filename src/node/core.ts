// Loading the wasm core in Node: from the package's own build/ folder, compiled once per process.
import { readFile } from 'node:fs/promises';
import { compileCore, loadCore, type Core, type CoreOptions } from '../core/core.js';

/** Options of the Node createCore: the core options, plus which build to load. */
export interface NodeCoreOptions extends CoreOptions {
  /** Load build/debug.wasm (assertions on, names in stack traces) instead of build/release.wasm. */
  debug?: boolean;
}

const modules: { release?: Promise<WebAssembly.Module>; debug?: Promise<WebAssembly.Module> } = {};

/** URL of the package's compiled module (`build/release.wasm`, or `build/debug.wasm`). */
export function wasmUrl(debug = false): URL {
  return new URL(`../../build/${debug ? 'debug' : 'release'}.wasm`, import.meta.url);
}

function moduleFor(debug: boolean): Promise<WebAssembly.Module> {
  const key = debug ? 'debug' : 'release';
  let p = modules[key];
  if (!p) {
    p = readFile(wasmUrl(debug)).then((bytes) => compileCore(bytes));
    modules[key] = p;
    p.catch(() => { modules[key] = undefined; });
  }
  return p;
}

/** Creates a wasm core in Node. The module is read and compiled once per process and shared by every core. */
export async function createCore(options: NodeCoreOptions = {}): Promise<Core> {
  return loadCore(await moduleFor(options.debug ?? false), options);
}
