// Shared by the browser tests: a logging static server on 127.0.0.1 and Debian's headless Chromium through
// playwright-core. A browser that cannot start is an error (the tests fail), never a skip.
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium (scripts/setup.sh); CHROMIUM_PATH overrides it on other machines. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Bound of the browser's start, of one navigation and of one page.evaluate. */
export const LAUNCH_TIMEOUT_MS = 30_000;
export const PAGE_TIMEOUT_MS = 15_000;
/**
 * The flags for headless Chromium on a closed network: without the background-networking ones, Chromium keeps trying
 * to reach Google's hosts. playwright adds --headless and the --user-data-dir it is given.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** Content types the static server knows; anything else is a 404. */
export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** One request the static server answered. */
export interface Served { method: string; path: string; status: number; type: string }

/** A running static server. */
export interface StaticServer {
  readonly server: Server;
  readonly origin: string;
  /** Every request, in order. */
  readonly served: Served[];
  close(): Promise<void>;
}

/** Serves `routes` (URL prefix → folder) on 127.0.0.1, no caching, logging every request. Nothing else is reachable. */
export function startStaticServer(routes: Array<[string, string]>): Promise<StaticServer> {
  const served: Served[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    const reply = (status: number, type: string) => {
      served.push({ method: req.method ?? '', path, status, type });
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    };
    const route = routes.find(([prefix]) => path.startsWith(prefix));
    const file = route ? resolve(route[1], path.slice(route[0].length)) : undefined;
    const type = file ? CONTENT_TYPES[extname(file)] : undefined;
    if (req.method !== 'GET' || !route || !file || !type || !file.startsWith(resolve(route[1]) + sep)
      || !existsSync(file) || !statSync(file).isFile()) {
      reply(404, 'text/plain');
      res.end('not found');
      return;
    }
    reply(200, type);
    createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      ok({
        server, served, origin: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((done) => { server.closeAllConnections(); server.close(() => done()); }),
      });
    });
  });
}

/** A started Chromium with a persistent context in a temp profile, and the errors its pages reported. */
export interface Browser {
  readonly context: BrowserContext;
  /** console.error lines, uncaught exceptions and failed requests of every page opened with newPage(). */
  readonly pageErrors: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Starts headless Chromium; throws (never skips) when it is missing or cannot start. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's chromium (bash scripts/setup.sh does) or set CHROMIUM_PATH`);
  }
  const userDataDir = mkdtempSync(join(tmpdir(), 'wasm-rtsp-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: LAUNCH_TIMEOUT_MS,
    });
  } catch (e) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw new Error(`Chromium (${CHROMIUM_PATH}) could not start: ${(e as Error).message}`, { cause: e });
  }
  const pageErrors: string[] = [];
  let first: Page | undefined = context.pages()[0];
  return {
    context,
    pageErrors,
    async newPage() {
      const page = first ?? await context.newPage();
      first = undefined;
      page.setDefaultTimeout(PAGE_TIMEOUT_MS);
      page.on('console', (msg) => {
        if (msg.type() === 'error') pageErrors.push(`console.error: ${msg.text()} (${msg.location().url})`);
      });
      page.on('pageerror', (e) => pageErrors.push(`uncaught: ${e.message}`));
      page.on('requestfailed', (r) => pageErrors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
      return page;
    },
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Removes (and returns) the first page error matching every needle: for errors a test provokes on purpose. */
export function takePageError(pageErrors: string[], ...needles: string[]): string | undefined {
  const i = pageErrors.findIndex((e) => needles.every((n) => e.includes(n)));
  return i < 0 ? undefined : pageErrors.splice(i, 1)[0];
}
