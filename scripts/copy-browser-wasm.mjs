// Copies the release module next to the browser entry (dist/browser/wasm-rtsp.wasm), where the entry's default
// `new URL('./wasm-rtsp.wasm', import.meta.url)` finds it: from a static server, and in bundlers that follow that
// pattern (Vite, Rollup, webpack 5). Run by `npm run build` after asc and tsc.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const from = `${root}build/release.wasm`;
const to = `${root}dist/browser/wasm-rtsp.wasm`;
if (!existsSync(from)) throw new Error(`${from} is missing: run npm run build:wasm first`);
mkdirSync(`${root}dist/browser`, { recursive: true });
copyFileSync(from, to);
