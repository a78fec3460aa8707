// The package as users import it: the exports map resolves each entry to the built files, with types beside them.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));

describe('package entries', () => {
  it('has a types file and a built file for every entry of the exports map', () => {
    for (const [entry, target] of Object.entries<Record<string, string> | string>(pkg.exports)) {
      const targets = typeof target === 'string' ? { default: target } : target;
      for (const [condition, file] of Object.entries(targets)) {
        expect(existsSync(`${root}/${file}`), `${entry} → ${condition}: ${file}`).toBe(true);
      }
    }
  });

  it('resolves the Node entry, with the client and createCore', async () => {
    const m = await import('wasm-rtsp');
    expect(typeof m.createCore).toBe('function');
    expect(typeof m.RtspClient).toBe('function');
    const core = await m.createCore({ memoryBytes: 1 << 20 });
    expect(core.parseRtpHeader(new Uint8Array([0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])).sequenceNumber).toBe(1);
  });

  it('resolves the portable entry without anything that needs Node', async () => {
    const m: Record<string, unknown> = await import('wasm-rtsp/core');
    expect(typeof m.loadCore).toBe('function');
    expect(typeof m.parseRtspMessage).toBe('function');
    expect(m.RtspClient).toBeUndefined();
    expect(m.createCore).toBeUndefined();
  });

  it('resolves the browser entry', async () => {
    const m = await import('wasm-rtsp/browser');
    expect(typeof m.createCore).toBe('function');
  });

  it('names its bin', () => {
    expect(pkg.bin['wasm-rtsp']).toBe('dist/node/cli/index.js');
    expect(existsSync(`${root}/${pkg.bin['wasm-rtsp']}`)).toBe(true);
  });
});
