// The browser entry: loads the module from a URL, a Response, bytes or a compiled Module. Plain ES modules with no
// bare import specifiers, so a static server can serve dist/ as is (no import map, no bundler).
//
// The default URL is `new URL('./wasm-rtsp.wasm', import.meta.url)`: the module sits next to this file (the build
// copies build/release.wasm to dist/browser/wasm-rtsp.wasm). Bundlers that understand that pattern (Vite, Rollup,
// webpack 5, Parcel) emit the file and rewrite the URL; esbuild does not, so its users copy the file next to their
// bundle or pass `createCore({ wasm: url })`. A module that is not found fails with CoreError('LOAD_FAILED') whose
// message and `context.url` name the URL that was tried. See docs/browser.md.
import { loadCore, type Core, type CoreOptions, type WasmSource } from '../core/core.js';

export * from '../core/index.js';

/** File name of the module next to this entry (dist/browser/), and of the file to copy next to an esbuild bundle. */
export const WASM_FILE_NAME = 'wasm-rtsp.wasm';

/** Options of the browser createCore. */
export interface BrowserCoreOptions extends CoreOptions {
  /** Where the module comes from; default: wasm-rtsp.wasm next to this file (`defaultWasmUrl()`), fetched. */
  wasm?: WasmSource;
}

/** The URL createCore() fetches when no `wasm` is given. */
export function defaultWasmUrl(): URL {
  // Written out (not built from WASM_FILE_NAME) so that bundlers see a static `new URL('…', import.meta.url)`.
  return new URL('./wasm-rtsp.wasm', import.meta.url);
}

/** Creates a wasm core in a browser or worker. The module is compiled once per URL or source and shared. */
export function createCore(options: BrowserCoreOptions = {}): Promise<Core> {
  return loadCore(options.wasm ?? defaultWasmUrl(), options);
}
