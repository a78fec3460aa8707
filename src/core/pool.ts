// STUB — replaced by the pool work. Contract used by core.ts:
import type { Core } from './core.js';
export interface PoolOptions { limitBytes: number }
export class PacketPool { constructor(readonly core: Core, options: PoolOptions) {} }
