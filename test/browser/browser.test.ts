// The browser entry in a real browser: Debian's headless Chromium, driven by playwright-core, loads the built
// dist/browser/index.js as plain ES modules (no import map) from a static server on 127.0.0.1 and runs the core there (page side:
// test/browser/page/checks.js). Needs `npm run build` first and /usr/bin/chromium (scripts/setup.sh installs it).
// No skip: without a browser this test fails, saying why.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium, LAUNCH_TIMEOUT_MS, PAGE_TIMEOUT_MS, startStaticServer, type Browser, type Served, type StaticServer } from './chromium.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** URL prefix → folder of the repo it serves. Nothing else is reachable. */
const ROUTES: Array<[string, string]> = [
  ['/page/', join(ROOT, 'test/browser/page')],
  ['/dist/', join(ROOT, 'dist')],
  ['/build/', join(ROOT, 'build')],
];

let statics: StaticServer | undefined;
let browser: Browser | undefined;
let page: Page;
/** Every request the static server answered (its log), and the page's errors. */
let served: Served[] = [];
let pageErrors: string[] = [];

/** Runs one check of page/checks.js in the page and returns its JSON result. */
function check<T = any>(name: string): Promise<T> {
  return page.evaluate(`window.wasmRtspChecks.${name}()`) as Promise<T>;
}

/**
 * Starts the server and the browser and opens the page. Its error is kept and thrown by every test (beforeEach): a
 * failing beforeAll would leave the tests counted as skipped, and a missing browser must count as a failure.
 */
async function setUp(): Promise<void> {
  for (const f of ['dist/browser/index.js', 'dist/browser/wasm-rtsp.wasm', 'build/release.wasm']) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run \`npm run build\` before this test`);
  }
  statics = await startStaticServer(ROUTES);
  served = statics.served;
  browser = await launchChromium();
  pageErrors = browser.pageErrors;
  page = await browser.newPage();
  await page.goto(`${statics.origin}/page/index.html`);
  try {
    await page.waitForFunction('window.wasmRtspChecks !== undefined');
  } catch (e) {
    throw new Error(`the page's module did not load: ${pageErrors.join('; ') || (e as Error).message}`, { cause: e });
  }
}

let setupError: unknown;

beforeAll(async () => {
  try {
    await setUp();
  } catch (e) {
    setupError = e;
  }
}, LAUNCH_TIMEOUT_MS + 2 * PAGE_TIMEOUT_MS);

beforeEach(() => {
  if (setupError !== undefined) throw setupError;
});

afterAll(async () => {
  await browser?.close();
  await statics?.close();
});

afterEach(() => {
  expect(pageErrors, 'errors in the page').toEqual([]);
});

describe('the browser entry in headless Chromium', () => {
  it('runs in a browser page, not in Node: no Buffer, no process', async () => {
    const env = await check('environment');
    expect(env).toMatchObject({
      buffer: 'undefined', process: 'undefined', require: 'undefined', window: 'object', document: 'object',
      compileStreaming: 'function',
    });
    expect(env.userAgent).toMatch(/HeadlessChrome\//);
  });

  it('loaded dist/browser/index.js as plain ES modules from a static server: no import map, nothing from node_modules', () => {
    const paths = served.filter((s) => s.status === 200).map((s) => `${s.path} ${s.type}`);
    expect(paths).toContain('/dist/browser/index.js text/javascript; charset=utf-8');
    expect(paths).toContain('/dist/core/core.js text/javascript; charset=utf-8');
    expect(served.filter((s) => s.path.startsWith('/node_modules/'))).toEqual([]);
    expect(readFileSync(join(ROOT, 'test/browser/page/index.html'), 'utf8')).not.toContain('importmap');
    expect(served.filter((s) => s.status !== 200)).toEqual([]);
  });

  it('createCore() fetches dist/browser/wasm-rtsp.wasm (next to the entry) by its default URL, as application/wasm', async () => {
    const before = served.length;
    expect(await check('loadDefault')).toEqual({ sequenceNumber: 7, memoryBytes: 32 * 1024 * 1024 });
    expect(served.slice(before)).toEqual([
      { method: 'GET', path: '/dist/browser/wasm-rtsp.wasm', status: 200, type: 'application/wasm' },
    ]);
  });

  it('createCore loads from a fetch Response, from bytes and from a compiled Module', async () => {
    const before = served.length;
    const r = await check('loadOtherSources');
    const works = { sequenceNumber: 7, memoryBytes: 1 << 20 };
    expect(r).toMatchObject({ response: works, buffer: works, view: works, module: works });
    expect(r.moduleIsShared).toBe(true);
    expect(r.separateMemories).toBe(true);
    expect(r.wasmBytes).toBe(statSync(join(ROOT, 'build/release.wasm')).size);
    expect(r.missing).toMatchObject({ name: 'CoreError', code: 'LOAD_FAILED', isWasmRtspError: true });
    expect(r.missing.message).toContain('HTTP 404');
    // The error names the URL it tried, in the message and in context.url, for a Response and for a URL.
    const origin = statics!.origin;
    expect(r.missing.url).toBe(`${origin}/build/no-such.wasm`);
    expect(r.missing.message).toContain(`${origin}/build/no-such.wasm`);
    expect(r.missingUrl).toMatchObject({ name: 'CoreError', code: 'LOAD_FAILED', url: `${origin}/build/no-such-either.wasm` });
    expect(r.missingUrl.message).toContain(`${origin}/build/no-such-either.wasm`);
    expect(r.missingUrl.message).toContain('createCore({ wasm: url })');
    // Two fetches of the module (the Response, the bytes) and the two that had to fail.
    expect(served.slice(before).map((s) => `${s.path} ${s.status}`)).toEqual([
      '/build/release.wasm 200', '/build/release.wasm 200', '/build/no-such.wasm 404', '/build/no-such-either.wasm 404',
    ]);
    // The 404s are expected here: Chromium reports them on the console, which afterEach would count.
    for (const name of ['no-such.wasm', 'no-such-either.wasm']) {
      const i = pageErrors.findIndex((e) => e.includes('404') && e.includes(name));
      expect(i).toBeGreaterThanOrEqual(0);
      pageErrors.splice(i, 1);
    }
  });

  it('a module URL where nothing listens: CoreError LOAD_FAILED naming the URL, not a bare TypeError', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', () => ok()));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((ok) => probe.close(() => ok()));
    const url = `http://127.0.0.1:${port}/wasm-rtsp.wasm`;
    const r = await page.evaluate(([u]) => (window as any).wasmRtspChecks.loadUnreachable(u), [url]);
    expect(r).toMatchObject({ name: 'CoreError', code: 'LOAD_FAILED', url, isWasmRtspError: true });
    expect(r.message).toContain(url);
    expect(r.message).toContain('createCore({ wasm: url })');
    // Chromium reports the refused connection (console and failed request); it is the point of this test.
    const reported = pageErrors.filter((e) => e.includes(url));
    expect(reported.length).toBeGreaterThanOrEqual(1);
    pageErrors.splice(0, pageErrors.length, ...pageErrors.filter((e) => !e.includes(url)));
  });

  it('parseRtpHeader reads CSRCs and RFC 8285 extensions, and throws RtpParseError on truncated packets', async () => {
    const { header, truncated } = await check('parseRtp');
    expect(header).toEqual({
      version: 2, padding: true, extension: true, csrcCount: 2, marker: true, payloadType: 96,
      sequenceNumber: 0x1234, timestamp: 0xdeadbeef, ssrc: 0x11223344, csrcs: [0xaabbccdd, 0x01020304],
      extensionProfile: 0xbede,
      headerExtensions: [{ id: 1, data: [0xaa, 0xbb] }, { id: 2, data: [0xcc] }],
      payloadOffset: 32, payloadLength: 4, paddingLength: 2,
    });
    expect(truncated.fixedHeader).toMatchObject({
      name: 'RtpParseError', code: 'RTP_TOO_SHORT', isRtpParseError: true, isWasmRtspError: true,
    });
    expect(truncated.fixedHeader.message).toContain('11 octets');
    expect(truncated.csrcs).toMatchObject({ code: 'RTP_CSRC_TRUNCATED', isRtpParseError: true });
    expect(truncated.extension).toMatchObject({ code: 'RTP_EXTENSION_TRUNCATED', isRtpParseError: true });
  });

  it('the demuxer finds RTP frames and an RTSP message in a stream pushed in 7-octet chunks', async () => {
    const r = await check('demux');
    const expected = [
      { kind: 'frame', channel: 0, status: 0, length: 32, inCoreMemory: true,
        sequenceNumber: 100, marker: false, payloadLength: 20, firstPayloadOctet: 0xa1 },
      { kind: 'message', headerLength: r.describeBytes - r.rtsp.sdp.bodyBytes, bodyLength: r.rtsp.sdp.bodyBytes,
        bytes: r.describeBytes },
      { kind: 'frame', channel: 0, status: 0, length: 312, inCoreMemory: true,
        sequenceNumber: 101, marker: true, payloadLength: 300, firstPayloadOctet: 0xb2 },
      // 8 octets on an RTP channel: reported with the parser's status, not dropped.
      { kind: 'frame', channel: 0, status: -10, length: 8, inCoreMemory: true },
    ];
    expect(r.chunked.pushes).toBe(Math.ceil(r.streamBytes / 7));
    expect(r.chunked.events).toEqual(expected);
    expect(r.whole.pushes).toBe(1);
    expect(r.whole.events).toEqual(expected);
    for (const run of [r.chunked, r.whole]) {
      expect(run.stats).toMatchObject({ frames: 3, messages: 1, garbageBytes: 0, bytes: r.streamBytes, rtpErrors: 1 });
    }
  });

  it('parseRtspMessage and parseSdp read the DESCRIBE reply the demuxer reported', async () => {
    const { rtsp } = await check('demux');
    expect(rtsp).toEqual({
      kind: 'response', version: 'RTSP/1.0', statusCode: 200, reason: 'OK', cseq: '2',
      contentType: 'application/sdp', contentBase: 'rtsp://127.0.0.1:8554/cam/', bodyIsSdp: true,
      sdp: {
        version: 0, sessionName: 'cam', control: '*', mediaCount: 1, type: 'video', protocol: 'RTP/AVP', formats: [96],
        control0: 'trackID=0', rtpmap96: { encodingName: 'H264', clockRate: 90000 }, bodyBytes: rtsp.sdp.bodyBytes,
        fmtp96: { 'packetization-mode': '1', 'profile-level-id': '42e01f' },
      },
    });
    expect(rtsp.sdp.bodyBytes).toBeGreaterThan(100);
  });

  it('a pool lease is a view of core memory that throws LeaseReleasedError once released', async () => {
    const r = await check('pool');
    expect(r.before).toEqual({ length: 1400, viewLength: 1400, inCoreMemory: true, byteOffset: true, written: 0x5a, inUse: 1 });
    expect(r.released).toBe(true);
    expect(r.afterRelease).toMatchObject({
      name: 'LeaseReleasedError', code: 'LEASE_RELEASED', isLeaseReleasedError: true, isWasmRtspError: true,
    });
    expect(r.stats).toEqual({ inUse: 0, acquires: 1, releases: 1 });
  });
});
