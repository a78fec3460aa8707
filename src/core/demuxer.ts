// STUB — replaced by the demuxer work. Contract used by core.ts:
import type { Core } from './core.js';
export interface DemuxerOptions { maxHeaderBytes?: number }
export class InterleavedDemuxer { constructor(readonly core: Core, options: DemuxerOptions) {} }
