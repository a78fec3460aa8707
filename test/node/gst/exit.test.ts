// The process exits once a GstSink is closed (the bus poll gives its pool thread back), and a missing binding is a
// clear GST_UNAVAILABLE: each case runs a small script with node + tsx in a child process.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { GstSink } from '../../../src/node/gst/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GST_INDEX = fileURLToPath(new URL('../../../src/node/gst/index.ts', import.meta.url));
/** tsx's own start-up is ~1 s here; the sink part must add little to it. */
const EXIT_WITHIN_MS = 8_000;
const dir = mkdtempSync(join(tmpdir(), 'wasm-rtsp-gst-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PRELUDE = `
import { createGstSink, GstSink } from ${JSON.stringify(GST_INDEX)};
const stream = { type: 'video', payloadType: 96, encodingName: 'H264', clockRate: 90000, fmtp: { 'packetization-mode': '1' } };
// RTP packets carrying an H.264 access unit delimiter (NAL type 9): valid for rtph264depay, nothing to decode.
const packet = (seq: number) => new Uint8Array([0x80, 0x60, seq >> 8, seq & 255, 0, 0, 0, seq, 0, 0, 0, 1, 0x09, 0xf0]);
const report = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\\n');
`;

/** Runs `body` as an .mts with tsx; resolves with its exit code, stdout lines parsed as JSON, and the time it took. */
function runScript(name: string, body: string, env: Record<string, string> = {}) {
  const file = join(dir, `${name}.mts`);
  writeFileSync(file, PRELUDE + body);
  return new Promise<{ code: number | null; signal: string | null; out: any[]; stderr: string; ms: number }>((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_WITHIN_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const out = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      resolve({ code, signal, out, stderr, ms: Date.now() - started });
    });
  });
}

describe.skipIf(!GstSink.available().ok)('GstSink and process exit', () => {
  it('exits on its own after close(); close() twice is the same promise and a no-op', async () => {
    const r = await runScript('close-twice', `
      const sink = createGstSink({ branches: [{ stream }, { stream }] });
      sink.start();
      for (let i = 0; i < 200; i++) { sink.pushBytes(0, packet(i)); sink.pushBytes(1, packet(i)); }
      await new Promise((r) => setTimeout(r, 200));
      const a = sink.close();
      const b = sink.close();
      await a;
      await sink.close();
      const pushAfter = sink.pushBytes(0, packet(1));
      report({ same: a === b, state: sink.currentState, pushAfter, stats: sink.stats() });
      // no process.exit(): the test is that nothing keeps the event loop alive
    `);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(r.out[0]).toMatchObject({ same: true, state: 'closed', pushAfter: false });
    expect(r.out[0].stats.branches[0]).toMatchObject({ pushedPackets: 200, rejectedPackets: 1, sinkBuffers: 0 });
  });

  it('exits when the sink is closed without ever starting, and when it is started and never pushed to', async () => {
    const r = await runScript('idle', `
      const never = createGstSink({ branches: [{ stream }] });
      await never.close();
      const idle = createGstSink({ branches: [{ stream, tail: { launch: 'fakesink name=sink0' } }] });
      idle.start();
      await idle.close({ timeoutMs: 2000 });
      report({ never: never.currentState, idle: idle.currentState, rendered: idle.stats().branches[0].sinkBuffers });
    `);
    expect(r.code, r.stderr).toBe(0);
    expect(r.out[0]).toEqual({ never: 'closed', idle: 'closed', rendered: 0 });
  });

  it('exits after a pipeline error stopped the pipeline, even if close() is never called', async () => {
    const r = await runScript('error', `
      const sink = createGstSink({ branches: [{ stream, tail: 'record' }], record: { location: '/nonexistent-dir/x.mp4' } });
      sink.on('error', (e) => report({ code: e.code, element: e.element, state: sink.currentState }));
      sink.start();
    `);
    expect(r.code, r.stderr).toBe(0);
    expect(r.out[0]).toEqual({ code: 'GST_PIPELINE_ERROR', element: 'recordfile', state: 'failed' });
  });

  it('reports GST_UNAVAILABLE with what to install when the binding cannot be loaded', async () => {
    const r = await runScript('unavailable', `
      const available = GstSink.available();
      let error: any;
      try { createGstSink({ branches: [{ stream }] }); } catch (e) { error = e; }
      report({ available, code: error?.code, name: error?.name });
    `, { WASM_RTSP_GST_ADDON: '/nonexistent/gstreamer-superficial.node' });
    expect(r.code, r.stderr).toBe(0);
    const [{ available, code, name }] = r.out;
    expect(available.ok).toBe(false);
    expect(available.message).toContain('/nonexistent/gstreamer-superficial.node');
    expect(available.message).toContain('libgstreamer1.0-dev');
    expect(available.message).toContain('npm rebuild gstreamer-superficial');
    expect(code).toBe('GST_UNAVAILABLE');
    expect(name).toBe('GstError');
  });
});
