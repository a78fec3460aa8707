// The portable entry (dist/core, what browsers and bundlers get) must not need Node: it is loaded here in a child
// Node process whose `Buffer` and `process` globals were deleted before the first import, and it must still load the
// module from bytes and parse. test/browser/ runs the same entry in headless Chromium.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('portable core', () => {
  it('has no Node imports or Node globals in src/core', () => {
    for (const file of sourceFiles(join(root, 'src/core'))) {
      const text = readFileSync(file, 'utf8').replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
      expect(text, file).not.toMatch(/from\s+['"]node:|require\(|\bBuffer\b|\bprocess\.|\b__dirname\b/);
    }
  });

  it('loads and parses with Buffer and process removed from the global scope', () => {
    const script = `
      const wasm = new Uint8Array(await (await import('node:fs/promises')).readFile(${JSON.stringify(join(root, 'build/release.wasm'))}));
      const coreUrl = ${JSON.stringify(new URL('dist/core/index.js', `file://${root}/`).href)};
      const write = process.stdout.write.bind(process.stdout);
      // Node defines fetch/Response lazily through its bundled undici, which itself needs Buffer: load them first, as a
      // browser has them built in (the loader checks \`instanceof Response\`).
      void globalThis.Response; void globalThis.fetch;
      delete globalThis.Buffer;
      delete globalThis.process;
      if (typeof Buffer !== 'undefined' || typeof process !== 'undefined') throw new Error('globals still present');
      const { loadCore } = await import(coreUrl);
      const core = await loadCore(wasm, { memoryBytes: 1 << 20 });
      const pkt = new Uint8Array([0x80, 0xe0, 0x12, 0x34, 0, 0, 0x10, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]);
      const h = core.parseRtpHeader(pkt);
      let error;
      try { core.parseRtpHeader(pkt.subarray(0, 11)); } catch (e) { error = e.code; }
      write(JSON.stringify({ seq: h.sequenceNumber, pt: h.payloadType, marker: h.marker, ssrc: h.ssrc, payloadLength: h.payloadLength, error }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(JSON.parse(out)).toEqual({ seq: 0x1234, pt: 96, marker: true, ssrc: 0xdeadbeef, payloadLength: 3, error: 'RTP_TOO_SHORT' });
  });
});
