// The one error class of the fleet layer: a configuration (file, --shard, environment) that cannot be run as given.

import { WasmRtspError } from '../../core/errors.js';

/** One problem found in a configuration, with where it is. */
export interface ConfigIssue {
  /** The configuration file, or the option / environment variable the value came from (`--shard`, `WASM_RTSP_SHARD`). */
  source: string;
  /** 1-based line and column in `source` when it is a file. */
  line?: number;
  column?: number;
  /** Key path of the value, e.g. `cameras[2].transport` ('' for the whole document). */
  path: string;
  /** What is wrong and, where it helps, what to write instead. Never holds a password. */
  message: string;
  /** The camera (its name) the problem is in, when it is in one. */
  camera?: string;
}

/**
 * A configuration that cannot be run as given (the CLI exits 2). `issues` lists every problem found (a file is checked
 * whole, so one run shows them all); the message has one `file:line:column: path: problem` line per issue.
 */
export class ConfigError extends WasmRtspError {
  /** Every problem found, in file order. */
  readonly issues: readonly ConfigIssue[];

  constructor(issues: ConfigIssue[], options: { cause?: unknown } = {}) {
    const first = issues[0];
    super('CONFIG', issues.map(formatIssue).join('\n'), {
      context: { source: first?.source, line: first?.line, column: first?.column, path: first?.path },
      cause: options.cause,
    });
    this.issues = Object.freeze(issues.slice());
  }

  /** The file or option of the first issue. */
  get source(): string | undefined {
    return this.issues[0]?.source;
  }

  /** The 1-based line of the first issue, when it is in a file. */
  get line(): number | undefined {
    return this.issues[0]?.line;
  }

  /** The key path of the first issue. */
  get path(): string | undefined {
    return this.issues[0]?.path;
  }
}

/** `file:line:column: path: message` (the form editors and terminals turn into links). */
export function formatIssue(issue: ConfigIssue): string {
  let where = issue.source;
  if (issue.line !== undefined) where += `:${issue.line}` + (issue.column !== undefined ? `:${issue.column}` : '');
  const camera = issue.camera !== undefined ? ` (camera ${issue.camera})` : '';
  return `${where}: ${issue.path ? issue.path + camera + ': ' : ''}${issue.message}`;
}
