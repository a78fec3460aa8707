// STUB — replaced by the RTP parsing work. Contract used by core.ts:
import type { Core } from './core.js';
import { WasmRtspError } from './errors.js';

export interface RtpHeaderExtension { id: number; data: Uint8Array }
export interface RtpHeader {
  version: number; padding: boolean; extension: boolean; csrcCount: number; marker: boolean; payloadType: number;
  sequenceNumber: number; timestamp: number; ssrc: number; csrcs: number[]; extensionProfile: number;
  headerExtensions: RtpHeaderExtension[]; payloadOffset: number; payloadLength: number; paddingLength: number;
}
export class RtpParseError extends WasmRtspError {}
export function parseRtpHeader(core: Core, bytes: Uint8Array): RtpHeader {
  throw new RtpParseError('NOT_IMPLEMENTED', 'not implemented');
}
