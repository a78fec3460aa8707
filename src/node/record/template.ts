// Path templates of recordings: `{camera}`, `{stream}` and strftime fields, e.g.
// `rec/{camera}/%Y%m%d/{stream}-%H%M%S.mp4` → `rec/door/20261206/video0-223015.mp4`. The time is the segment's start.
// The extension chooses the container (containerFor). A template is checked once, when the recorder is made, so a
// typo fails at start and not at the first rotation an hour later.

import { extname } from 'node:path';

/** strftime fields a template may use; every other `%x` is refused (BAD_TEMPLATE). */
const STRFTIME_FIELDS = new Set(['Y', 'y', 'm', 'd', 'H', 'M', 'S', 'j', 'z', 's', '%']);
/** Named fields a template may use. */
const NAMED_FIELDS = new Set(['camera', 'stream']);
/** Characters kept as they are in a rendered camera or stream name; anything else becomes '_' (no '/', no '..'). */
const UNSAFE_NAME_CHARS = /[^A-Za-z0-9._-]/g;

/** A container the recorder writes, chosen by the file's extension. */
export interface Container {
  /** The extension, lower case, with its dot. */
  extension: '.mp4' | '.mkv' | '.ts';
  /** Codecs (FrameCodec names) the muxer takes from frame branches. */
  codecs: readonly string[];
}

/** The containers by extension: fragmented MP4, Matroska, MPEG-TS, each readable up to the point a crash cut it. */
export const CONTAINERS: Readonly<Record<string, Container>> = {
  '.mp4': { extension: '.mp4', codecs: ['H264', 'H265', 'AAC'] },
  '.mkv': { extension: '.mkv', codecs: ['H264', 'H265', 'AAC', 'RAW'] },
  '.ts': { extension: '.ts', codecs: ['H264', 'H265', 'AAC'] },
};

/** Thrown by the functions of this file; the recorder wraps it into a RecordError with the camera's name. */
export class TemplateError extends Error {
  constructor(readonly code: 'BAD_TEMPLATE' | 'BAD_EXTENSION', message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** `name` made safe as one path component: unsafe characters → '_', never empty, never '.' or '..'. */
export function safeName(name: string): string {
  const s = name.replace(UNSAFE_NAME_CHARS, '_');
  return s === '' || s === '.' || s === '..' ? s.replace(/\./g, '_') || '_' : s;
}

/** Checks every field of `template` and its extension; returns the container. */
export function checkTemplate(template: string): Container {
  if (typeof template !== 'string' || template.trim() === '' || template.includes('\0')) {
    throw new TemplateError('BAD_TEMPLATE', `the path template must be a non-empty string, not ${JSON.stringify(template)}`);
  }
  for (const m of template.matchAll(/\{([^}]*)\}|%(.?)/g)) {
    if (m[1] !== undefined && !NAMED_FIELDS.has(m[1])) {
      throw new TemplateError('BAD_TEMPLATE', `unknown field {${m[1]}} in ${JSON.stringify(template)}: use {camera}, {stream} and strftime fields`);
    }
    if (m[2] !== undefined && !STRFTIME_FIELDS.has(m[2])) {
      throw new TemplateError('BAD_TEMPLATE', `unknown strftime field %${m[2]} in ${JSON.stringify(template)}: the recorder knows %${[...STRFTIME_FIELDS].join(' %')}`);
    }
  }
  const extension = extname(template).toLowerCase();
  const container = CONTAINERS[extension];
  if (!container) {
    throw new TemplateError('BAD_EXTENSION', `no container for the extension ${JSON.stringify(extension)} of ${JSON.stringify(template)}: ` +
      'use .mp4 (fragmented MP4), .mkv (Matroska) or .ts (MPEG-TS)');
  }
  return container;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Renders `template` for a segment starting at `timeMs` (ms since the epoch), in local time or UTC. */
export function renderTemplate(template: string, fields: { camera: string; stream: string }, timeMs: number, utc = false): string {
  const t = new Date(timeMs);
  const get = utc
    ? { Y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate(), H: t.getUTCHours(), M: t.getUTCMinutes(), S: t.getUTCSeconds() }
    : { Y: t.getFullYear(), m: t.getMonth() + 1, d: t.getDate(), H: t.getHours(), M: t.getMinutes(), S: t.getSeconds() };
  const yearStart = utc ? Date.UTC(get.Y, 0, 1) : new Date(get.Y, 0, 1).getTime();
  const dayStart = utc ? Date.UTC(get.Y, get.m - 1, get.d) : new Date(get.Y, get.m - 1, get.d).getTime();
  const offsetMin = utc ? 0 : -t.getTimezoneOffset();
  return template.replace(/\{(camera|stream)\}|%(.)/g, (_all, named: string | undefined, f: string | undefined) => {
    if (named !== undefined) return safeName(fields[named as 'camera' | 'stream']);
    switch (f) {
      case 'Y': return String(get.Y);
      case 'y': return pad(get.Y % 100);
      case 'm': return pad(get.m);
      case 'd': return pad(get.d);
      case 'H': return pad(get.H);
      case 'M': return pad(get.M);
      case 'S': return pad(get.S);
      case 'j': return pad(Math.round((dayStart - yearStart) / 86_400_000) + 1, 3);
      case 'z': return (offsetMin < 0 ? '-' : '+') + pad(Math.floor(Math.abs(offsetMin) / 60)) + pad(Math.abs(offsetMin) % 60);
      case 's': return String(Math.floor(timeMs / 1000));
      default: return '%';
    }
  });
}

function directoryBefore(template: string, firstField: number): string {
  const head = firstField < 0 ? template : template.slice(0, firstField);
  const slash = head.lastIndexOf('/');
  if (slash < 0) return '.';
  return slash === 0 ? '/' : head.slice(0, slash);
}

/**
 * The directory every file of the template lies under: its directory part before the first field of any kind. It
 * must exist and be writable when recording starts; folders below it ({camera}/, dated ones) are made as needed.
 */
export function fixedDirectory(template: string): string {
  return directoryBefore(template, template.search(/\{|%[^%]/));
}

/**
 * Where a camera's index goes ("next to its files"): the template's directory part before its first time field,
 * with {camera} and {stream} filled in (`rec/{camera}/%Y%m%d/…` → `rec/door`).
 */
export function indexDirectory(template: string, fields: { camera: string; stream: string }): string {
  return renderTemplate(directoryBefore(template, template.search(/%[^%]/)), fields, 0);
}

/** `path` with `-n` before its extension: the name used when `path` exists and overwriting is off. */
export function numbered(path: string, n: number): string {
  const ext = extname(path);
  return `${path.slice(0, path.length - ext.length)}-${n}${ext}`;
}
