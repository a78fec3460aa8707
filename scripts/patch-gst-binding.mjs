#!/usr/bin/env node
// Mends a memory leak in gstreamer-superficial 1.7.4 and rebuilds its addon, wherever the binding is installed: in
// this repository (scripts/setup.sh runs it after `npm ci`) or in an application that installed wasm-rtsp from npm:
//
//   node node_modules/wasm-rtsp/scripts/patch-gst-binding.mjs     # prints "done" only once the new addon is built
//
// Reading a GObject property through the binding never releases the GValue it read into, nor the string GValue it
// transforms 64-bit integers and structures into: every read of appsrc's `current-level-bytes` (guint64) leaked
// ~32 bytes and every read of a sink's `stats` (GstStructure) ~450 bytes (measured: 500 000 reads, RSS +15.6 MB and
// +219 MB). GstSink reads the queue level every few pushes to bound and count its drops, and stats() reads the sinks'
// counters, so a long run grew by ~330 kB/min per 4 streams (npm run bench:soak). The two g_value_unset calls below are
// the fix.
//
// The binding is found the way wasm-rtsp's own code finds it (resolved from this file), so in an application it is
// the hoisted node_modules/gstreamer-superficial, not a copy under node_modules/wasm-rtsp. It is rebuilt in its own
// folder with its own install script (`node-gyp rebuild`; npm puts its bundled node-gyp on the PATH). An earlier
// version ran `npm rebuild gstreamer-superficial` from wasm-rtsp's folder, which in an application finds no such
// package there, rebuilds nothing and still succeeds: the sources were patched, the addon was not. Now the addon's
// SHA-256 must change when the sources were just patched, and a stamp beside it (the hash of the addon built from the patched sources) tells a later run
// that nothing is left to do; a patched source without a matching stamp is rebuilt.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const MARKER = '/* wasm-rtsp: GValue released (scripts/patch-gst-binding.mjs) */';
const ADDON = 'build/Release/gstreamer-superficial.node';
const STAMP = 'build/Release/wasm-rtsp-patched.json';

let dir;
try {
  dir = dirname(createRequire(import.meta.url).resolve('gstreamer-superficial/package.json'));
} catch {
  console.log('patch-gst-binding: gstreamer-superficial is not installed (optional): nothing to do');
  process.exit(0);
}

function fail(message) {
  console.error(`patch-gst-binding: ${message}`);
  process.exit(1);
}

/** Replaces `from` by `to` in `file` of the binding; fails loudly when the source is not the one this patch knows. */
function edit(file, from, to) {
  const path = join(dir, file);
  const text = readFileSync(path, 'utf8');
  if (text.includes(MARKER)) return false;
  if (!text.includes(from)) fail(`${path} is not the gstreamer-superficial 1.7.4 source this patch knows`);
  writeFileSync(path, text.replace(from, to));
  return true;
}

function addonHash() {
  const path = join(dir, ADDON);
  return existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : undefined;
}

function stampedHash() {
  try {
    return JSON.parse(readFileSync(join(dir, STAMP), 'utf8')).sha256;
  } catch {
    return undefined;
  }
}

const changed = [
  edit('GObjectWrap.cpp',
    '\t\tg_object_get_property(o, *name, &gv);\n\n\t\tinfo.GetReturnValue().Set(gvalue_to_v8(&gv));',
    `\t\tg_object_get_property(o, *name, &gv);\n\n\t\t${MARKER}\n\t\tLocal<Value> value = gvalue_to_v8(&gv);\n\t\tg_value_unset(&gv);\n\t\tinfo.GetReturnValue().Set(value);`),
  edit('GLibHelpers.cpp',
    '\t\tg_value_transform(gv, &b);\n\t\treturn gchararray_to_v8(&b);',
    `\t\tg_value_transform(gv, &b);\n\t\t${MARKER}\n\t\tLocal<Value> s = gchararray_to_v8(&b);\n\t\tg_value_unset(&b);\n\t\treturn s;`),
].some(Boolean);

const before = addonHash();
if (!changed && before !== undefined && before === stampedHash()) {
  console.log(`patch-gst-binding: already patched and rebuilt (${dir})`);
  process.exit(0);
}

console.log(`patch-gst-binding: rebuilding ${dir} with the leak mended…`);
// The binding's own install script, run by npm in the binding's folder: npm supplies node-gyp. Under `npm run`/`npx`,
// npm_execpath names the npm that runs us; otherwise the npm on the PATH.
const npmCli = process.env.npm_execpath;
const [command, prefix] = npmCli && /npm-cli\.c?js$/.test(npmCli) ? [process.execPath, [npmCli]] : ['npm', []];
try {
  execFileSync(command, [...prefix, 'run', 'install', '--ignore-scripts=false'], { cwd: dir, stdio: 'inherit' });
} catch (e) {
  fail(`the rebuild failed (${e.message}); the sources are patched: run "npm run install" in ${dir} once the build tools (python3, make, g++, libgstreamer1.0-dev) are there`);
}
const after = addonHash();
if (after === undefined) fail(`the rebuild left no addon at ${join(dir, ADDON)}`);
// Freshly patched sources must give another addon; sources patched earlier may rebuild into the same bytes.
if (changed && after === before) fail(`the addon at ${join(dir, ADDON)} is the same file as before the rebuild: it was not rebuilt`);
writeFileSync(join(dir, STAMP), JSON.stringify({ sha256: after, patched: MARKER }) + '\n');
console.log(`patch-gst-binding: done (${join(dir, ADDON)} rebuilt)`);
