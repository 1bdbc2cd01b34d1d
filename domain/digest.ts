import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * SHA-256 of a string as hex, for code that runs inside the workflow sandbox, where Node's crypto module is
 * not available: @noble/hashes is pure JavaScript and deterministic.
 */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256Of(text));
}

/** SHA-256 of a string's UTF-8 bytes. */
export function sha256Of(text: string): Uint8Array {
  return sha256(utf8ToBytes(text));
}
