#!/usr/bin/env node
// Mends a memory leak in gstreamer-superficial 1.7.4 and rebuilds it (run by scripts/setup.sh after `npm ci`).
//
// Reading a GObject property through the binding never releases the GValue it read into, nor the string GValue it
// transforms 64-bit integers and structures into: every read of appsrc's `current-level-bytes` (guint64) leaked
// ~32 bytes and every read of a sink's `stats` (GstStructure) ~450 bytes (measured: 500 000 reads, RSS +15.6 MB and
// +219 MB). GstSink reads the queue level every few pushes to bound and count its drops, and stats() reads the sinks'
// counters, so a long run grew by ~330 kB/min per 4 streams (npm run bench:soak). The two g_value_unset calls below are
// the fix; the patch is applied once (a marker comment says so) and the addon rebuilt with node-gyp.
//
//   node scripts/patch-gst-binding.mjs          # no-op when the binding is missing or already patched

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const MARKER = '/* wasm-rtsp: GValue released (scripts/patch-gst-binding.mjs) */';

let dir;
try {
  dir = dirname(createRequire(import.meta.url).resolve('gstreamer-superficial/package.json'));
} catch {
  console.log('patch-gst-binding: gstreamer-superficial is not installed (optional): nothing to do');
  process.exit(0);
}

/** Replaces `from` by `to` in `file` of the binding; fails loudly when the source is not the one this patch knows. */
function edit(file, from, to) {
  const path = join(dir, file);
  const text = readFileSync(path, 'utf8');
  if (text.includes(MARKER)) return false;
  if (!text.includes(from)) throw new Error(`patch-gst-binding: ${file} is not the gstreamer-superficial 1.7.4 source this patch knows`);
  writeFileSync(path, text.replace(from, to));
  return true;
}

const changed = [
  edit('GObjectWrap.cpp',
    '\t\tg_object_get_property(o, *name, &gv);\n\n\t\tinfo.GetReturnValue().Set(gvalue_to_v8(&gv));',
    `\t\tg_object_get_property(o, *name, &gv);\n\n\t\t${MARKER}\n\t\tLocal<Value> value = gvalue_to_v8(&gv);\n\t\tg_value_unset(&gv);\n\t\tinfo.GetReturnValue().Set(value);`),
  edit('GLibHelpers.cpp',
    '\t\tg_value_transform(gv, &b);\n\t\treturn gchararray_to_v8(&b);',
    `\t\tg_value_transform(gv, &b);\n\t\t${MARKER}\n\t\tLocal<Value> s = gchararray_to_v8(&b);\n\t\tg_value_unset(&b);\n\t\treturn s;`),
].some(Boolean);

if (!changed && existsSync(join(dir, 'build/Release/gstreamer-superficial.node'))) {
  console.log('patch-gst-binding: already patched');
  process.exit(0);
}
console.log('patch-gst-binding: rebuilding gstreamer-superficial with the leak mended…');
// npm's own node-gyp, through the package's install script (package.json allowScripts lets it run).
execFileSync('npm', ['rebuild', 'gstreamer-superficial'], { cwd: join(dirname(new URL(import.meta.url).pathname), '..'), stdio: 'inherit' });
console.log('patch-gst-binding: done');
