// Issue 15, 4: opened from another device over http, H.264 stayed black (WebCodecs exists only in secure contexts)
// and the page wrongly said "No WebCodecs in this browser". Here headless Chromium opens the relay at a non-loopback
// address of this machine (if it has one; else a name mapped to loopback, which Chromium also treats as insecure):
//   - over https (a certificate made for the test with openssl, accepted by its SPKI pin, never by ignoring every
//     certificate error), with the viewer login: a secure context, H.264 decoded with WebCodecs, raw video drawn;
//   - over plain http: the page and the H.264 tile say "needs a secure context (https or localhost)", not "no
//     WebCodecs", and raw video (no WebCodecs needed) is still drawn through the login-protected WebSocket.
// Needs `npm run build` first (the relay serves dist/browser).
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRelay, type RelayServer } from '../../src/node/relay/server.js';
import { startRtspServer, type RtspTestServer } from '../server/harness.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, LAUNCH_TIMEOUT_MS, PAGE_TIMEOUT_MS } from './chromium.js';

/** Bound of every wait for the page (the machine is shared and slow). */
const WAIT_MS = 45_000;
const CAMERA_H264 = 0;
const CAMERA_RAW = 1;
const LOGIN = { user: 'viewer', password: 'https-test-pw' };
/**
 * The "other device": a name Chromium maps to 127.0.0.1 — not "localhost", so not a secure context over http, just
 * like a LAN address. Network tests stay on loopback (they never bind or reach a machine's outside addresses).
 */
const MAPPED_NAME = 'relay-under-test.example';

let dir: string;
let rtsp: RtspTestServer;
let secure: RelayServer;
let plain: RelayServer;
let context: BrowserContext;
let userDataDir: string;
const pageErrors: string[] = [];
let setupError: unknown;
let certificate: Buffer;

/** A P-256 certificate for `address` (and loopback) made with openssl, and its SPKI pin for Chromium. */
function makeCertificate(address: string): { cert: Buffer; key: Buffer; spki: string } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const san = [`IP:${address}`, 'IP:127.0.0.1', 'DNS:localhost'].filter((v, i, a) => a.indexOf(v) === i).join(',');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=wasm-rtsp relay test', '-addext', `subjectAltName=${san}`, '-keyout', keyFile, '-out', certFile], { stdio: 'pipe' });
  const cert = readFileSync(certFile);
  const spkiDer = createPublicKey(cert).export({ type: 'spki', format: 'der' });
  return { cert, key: readFileSync(keyFile), spki: createHash('sha256').update(spkiDer).digest('base64') };
}

async function openPage(url: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(PAGE_TIMEOUT_MS);
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console.error: ${m.text()}`); });
  page.on('pageerror', (e) => pageErrors.push(`uncaught: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction('window.wasmRtspRelay?.ready === true', undefined, { timeout: WAIT_MS });
  return page;
}

function counters(page: Page, i: number): Promise<any> {
  return page.evaluate(`JSON.parse(JSON.stringify(window.wasmRtspRelay.cameras[${i}]))`);
}

beforeAll(async () => {
  try {
    dir = mkdtempSync(join(tmpdir(), 'wasm-rtsp-relay-tls-'));
    const address = '127.0.0.1';
    const { cert, key, spki } = makeCertificate(address);
    certificate = cert;
    rtsp = await startRtspServer({ sessionTimeout: 60 });
    const urls = [rtsp.url('/h264'), rtsp.url('/raw')];
    secure = await startRelay({ urls, port: 0, host: address, tls: { cert, key }, auth: LOGIN });
    plain = await startRelay({ urls, port: 0, allowHosts: [MAPPED_NAME], auth: LOGIN });
    userDataDir = mkdtempSync(join(tmpdir(), 'wasm-rtsp-chromium-'));
    const args = [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${spki}`];
    args.push(`--host-resolver-rules=MAP ${MAPPED_NAME} 127.0.0.1`);
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH, headless: true, args, timeout: LAUNCH_TIMEOUT_MS,
      httpCredentials: { username: LOGIN.user, password: LOGIN.password },
    });
  } catch (e) {
    setupError = e;
  }
}, LAUNCH_TIMEOUT_MS + 30_000);

beforeEach(() => {
  if (setupError !== undefined) throw setupError;
});

afterAll(async () => {
  await context?.close();
  await secure?.close();
  await plain?.close();
  await rtsp?.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the relay over https (issue 15, 4)', () => {
  it('from another address over https with the login: a secure context, H.264 decoded with WebCodecs, raw drawn', async () => {
    expect(secure.url).toMatch(/^https:\/\//);
    const page = await openPage(secure.url);
    expect(await page.evaluate('window.isSecureContext')).toBe(true);
    const support = await page.evaluate('window.wasmRtspRelay.support') as Record<string, unknown>;
    expect(support).toMatchObject({ secureContext: true, webCodecs: true });
    console.log(`relay-https: over https this Chromium answers H.264 ${String(support.h264)}, H.265 ${String(support.h265)}`);
    await page.waitForFunction(`window.wasmRtspRelay.cameras[${CAMERA_RAW}].framesDrawn >= 5`, undefined, { timeout: WAIT_MS, polling: 250 });
    if (support.h264 === true) {
      await page.waitForFunction(`window.wasmRtspRelay.cameras[${CAMERA_H264}].framesDrawn >= 10`, undefined, { timeout: WAIT_MS, polling: 250 });
      expect(await counters(page, CAMERA_H264)).toMatchObject({ mode: 'webcodecs', encodingName: 'H264', decodeErrors: 0, firstFrameWasKeyframe: true });
    } else {
      // This Chromium lacks H.264 even in a secure context: the tile says so with the evidence.
      await page.waitForFunction(`window.wasmRtspRelay.cameras[${CAMERA_H264}].mode === 'unsupported'`, undefined, { timeout: WAIT_MS });
      expect(await page.textContent(`#camera-${CAMERA_H264} .notes`)).toContain('isConfigSupported');
    }
    // The WebSockets went through the login (the page's cached Basic credentials) and the Origin check.
    expect(secure.requests()).toMatchObject({ forbiddenOrigin: 0, forbiddenHost: 0, handlerErrors: 0 });
    expect(secure.stats()[CAMERA_H264].clients.length).toBe(1);
    await page.close();
    expect(pageErrors).toEqual([]);
  }, 3 * WAIT_MS);

  it('over plain http from another address: "needs a secure context (https or localhost)", not "no WebCodecs"', async () => {
    const url = `http://${MAPPED_NAME}:${plain.port}/`;
    const page = await openPage(url);
    expect(await page.evaluate('window.isSecureContext')).toBe(false);
    const support = await page.evaluate('window.wasmRtspRelay.support') as Record<string, unknown>;
    expect(support).toMatchObject({ secureContext: false, webCodecs: false });
    const text = await page.textContent('#support');
    expect(text).toContain('needs a secure context (https or localhost)');
    expect(text).toContain('--tls-cert');
    expect(text).not.toMatch(/no WebCodecs in this browser/i);
    await page.waitForFunction(`window.wasmRtspRelay.cameras[${CAMERA_H264}].mode === 'unsupported'`, undefined, { timeout: WAIT_MS, polling: 250 });
    const notes = await page.textContent(`#camera-${CAMERA_H264} .notes`);
    expect(notes).toContain('needs a secure context (https or localhost)');
    expect(notes).toContain('H264 is not decoded here');
    // Raw video needs no WebCodecs: it is drawn, through the login-protected WebSocket over ws://.
    await page.waitForFunction(`window.wasmRtspRelay.cameras[${CAMERA_RAW}].framesDrawn >= 5`, undefined, { timeout: WAIT_MS, polling: 250 });
    expect(plain.requests()).toMatchObject({ forbiddenOrigin: 0, forbiddenHost: 0, handlerErrors: 0 });
    await page.close();
    expect(pageErrors).toEqual([]);
  }, 3 * WAIT_MS);

  it('without the login the page is refused (401) over http and over https (the certificate verifies as issued)', async () => {
    const r = await fetch(new URL('/cameras.json', plain.url));
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Basic /);
    const status = await new Promise<number | undefined>((ok, fail) => {
      httpsGet(new URL('/cameras.json', secure.url), { ca: certificate }, (res) => { res.resume(); ok(res.statusCode); }).on('error', fail);
    });
    expect(status).toBe(401);
  });
});
