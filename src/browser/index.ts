// The browser entry: loads the module from a URL (by default the package's build/release.wasm next to this file, a
// pattern bundlers understand), a Response, bytes or a compiled Module.
import { loadCore, type Core, type CoreOptions, type WasmSource } from '../core/core.js';

export * from '../core/index.js';

/** Options of the browser createCore. */
export interface BrowserCoreOptions extends CoreOptions {
  /** Where the module comes from; default: the package's build/release.wasm, fetched. */
  wasm?: WasmSource;
}

/** Creates a wasm core in a browser or worker. The module is compiled once per URL or source and shared. */
export function createCore(options: BrowserCoreOptions = {}): Promise<Core> {
  return loadCore(options.wasm ?? new URL('../../build/release.wasm', import.meta.url), options);
}
