// The browser entry as a user's bundler sees it: test/browser/fixtures/app.js imports 'wasm-rtsp/browser' by name,
// is bundled at test time (esbuild and Vite JS APIs) into a temp dir whose node_modules/wasm-rtsp links to this
// checkout, and runs in headless Chromium from a static server. Needs `npm run build` first.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium, LAUNCH_TIMEOUT_MS, PAGE_TIMEOUT_MS, startStaticServer, takePageError, type Browser, type StaticServer } from './chromium.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = join(ROOT, 'test/browser/fixtures');
/** Bound of one bundler run on a loaded 2-core machine. */
const BUNDLE_TIMEOUT_MS = 60_000;

let dir: string;
let server: StaticServer;
let browser: Browser;
let setupError: unknown;

/** A temp project: the fixture files and node_modules/wasm-rtsp → this checkout (as `npm install wasm-rtsp` would). */
function makeProject(): string {
  const project = mkdtempSync(join(tmpdir(), 'wasm-rtsp-bundle-'));
  for (const f of ['app.js', 'app-file-loader.js', 'index.html']) copyFileSync(join(FIXTURES, f), join(project, f));
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(ROOT, join(project, 'node_modules/wasm-rtsp'), 'dir');
  return project;
}

/** Opens `path` of the static server and waits for the fixture to be ready. */
async function open(path: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${server.origin}${path}`);
  await page.waitForFunction('window.fixture !== undefined');
  return page;
}

beforeAll(async () => {
  try {
    for (const f of ['dist/browser/index.js', 'dist/browser/wasm-rtsp.wasm']) {
      if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` before this test`);
    }
    dir = makeProject();
    server = await startStaticServer([['/', dir]]);
    browser = await launchChromium();
  } catch (e) {
    setupError = e;
  }
}, LAUNCH_TIMEOUT_MS + PAGE_TIMEOUT_MS);

beforeEach(() => {
  // A failing beforeAll would count the tests as skipped; a missing browser must fail them.
  if (setupError !== undefined) throw setupError;
});

afterEach(() => {
  expect(browser.pageErrors, 'errors in the page').toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('bundled with esbuild', () => {
  /** esbuild does not follow new URL('…', import.meta.url): the bundle's default URL is next to the bundle. */
  it('the default URL is next to the bundle; missing, the CoreError names it; copied there, createCore() works', async () => {
    const { build } = await import('esbuild');
    const out = join(dir, 'esbuild');
    await build({
      entryPoints: [join(dir, 'app.js')], bundle: true, format: 'esm', platform: 'browser', outdir: out,
      logLevel: 'silent', absWorkingDir: dir,
    });
    copyFileSync(join(dir, 'index.html'), join(out, 'index.html'));
    const bundle = readFileSync(join(out, 'app.js'), 'utf8');
    expect(bundle).not.toMatch(/from\s*["']@assemblyscript|import\s*\(\s*["']@/);

    const page = await open('/esbuild/index.html');
    const expectedUrl = `${server.origin}/esbuild/wasm-rtsp.wasm`;
    expect(await page.evaluate('window.fixture.defaultUrl')).toBe(expectedUrl);
    const missing = await page.evaluate('window.fixture.load()') as Record<string, unknown>;
    expect(missing).toMatchObject({ ok: false, name: 'CoreError', code: 'LOAD_FAILED', url: expectedUrl, isCoreError: true });
    expect(missing.message).toContain(expectedUrl);
    expect(missing.message).toContain('HTTP 404');
    expect(takePageError(browser.pageErrors, '404')).toBeDefined();

    // The documented fix: copy dist/browser/wasm-rtsp.wasm next to the bundle. The failed URL is not cached.
    copyFileSync(join(ROOT, 'dist/browser/wasm-rtsp.wasm'), join(out, 'wasm-rtsp.wasm'));
    expect(await page.evaluate('window.fixture.load()')).toEqual({ ok: true, sequenceNumber: 7, memoryBytes: 1 << 20 });
    expect(server.served.filter((s) => s.path === '/esbuild/wasm-rtsp.wasm').map((s) => s.status)).toEqual([404, 200]);
    await page.close();
  }, BUNDLE_TIMEOUT_MS);

  it('with the file loader, importing wasm-rtsp/wasm emits the module and createCore({ wasm: url }) loads it', async () => {
    const { build } = await import('esbuild');
    const out = join(dir, 'esbuild-file');
    await build({
      entryPoints: { app: join(dir, 'app-file-loader.js') }, bundle: true, format: 'esm', platform: 'browser',
      outdir: out, loader: { '.wasm': 'file' }, logLevel: 'silent', absWorkingDir: dir,
    });
    copyFileSync(join(dir, 'index.html'), join(out, 'index.html'));
    const emitted = readdirSync(out).filter((f) => f.endsWith('.wasm'));
    expect(emitted).toHaveLength(1);
    const page = await open('/esbuild-file/index.html');
    expect(await page.evaluate('window.fixture.loadImported()')).toEqual({ ok: true, sequenceNumber: 7, memoryBytes: 1 << 20 });
    expect(server.served.filter((s) => s.path.endsWith('.wasm')).at(-1)).toMatchObject({
      path: `/esbuild-file/${emitted[0]}`, status: 200, type: 'application/wasm',
    });
    await page.close();
  }, BUNDLE_TIMEOUT_MS);
});

describe('bundled with Vite', () => {
  it('vite build emits the module found through new URL(…, import.meta.url) and createCore() loads it', async () => {
    const { build } = await import('vite');
    const out = join(dir, 'vite');
    await build({
      root: dir, configFile: false, logLevel: 'silent', base: './',
      build: { outDir: out, emptyOutDir: true, minify: false, rollupOptions: { input: join(dir, 'index.html') } },
    });
    const assets = readdirSync(join(out, 'assets'));
    const wasm = assets.filter((f) => f.endsWith('.wasm'));
    expect(wasm, `assets: ${assets.join(', ')}`).toHaveLength(1);
    expect(wasm[0]).toMatch(/^wasm-rtsp-.*\.wasm$/);
    const page = await open('/vite/index.html');
    expect(await page.evaluate('window.fixture.defaultUrl')).toBe(`${server.origin}/vite/assets/${wasm[0]}`);
    expect(await page.evaluate('window.fixture.load()')).toEqual({ ok: true, sequenceNumber: 7, memoryBytes: 1 << 20 });
    expect(server.served.filter((s) => s.path.endsWith('.wasm')).at(-1)).toMatchObject({
      path: `/vite/assets/${wasm[0]}`, status: 200, type: 'application/wasm',
    });
    await page.close();
  }, BUNDLE_TIMEOUT_MS);

  it('the Vite dev server serves the module from the package by the same new URL(…, import.meta.url)', async () => {
    const { createServer } = await import('vite');
    // fs.allow: the test's node_modules/wasm-rtsp is a link to this checkout, outside the project (an installed
    // package lives inside it and needs nothing).
    const vite = await createServer({
      root: dir, configFile: false, logLevel: 'silent', server: { port: 0, host: '127.0.0.1', fs: { allow: [dir, ROOT] } },
    });
    try {
      await vite.listen();
      const origin = vite.resolvedUrls!.local[0].replace(/\/$/, '');
      const page = await browser.newPage();
      await page.goto(`${origin}/index.html`);
      await page.waitForFunction('window.fixture !== undefined', undefined, { timeout: BUNDLE_TIMEOUT_MS });
      expect(await page.evaluate('window.fixture.defaultUrl')).toMatch(/\/dist\/browser\/wasm-rtsp\.wasm$/);
      expect(await page.evaluate('window.fixture.load()')).toEqual({ ok: true, sequenceNumber: 7, memoryBytes: 1 << 20 });
      await page.close();
    } finally {
      await vite.close();
    }
  }, BUNDLE_TIMEOUT_MS);
});
