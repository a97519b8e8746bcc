/**
 * Bounds applied to every version 1 document before and while it is parsed, so the work spent on a hostile message
 * never grows past them: the size is checked before anything else, counts and depth as the structure is read.
 */

/** Bounds of one version 1 document (the outer hash, or the decrypted inner one). */
export interface V1Limits {
  /** Largest document in bytes. */
  readonly maxBytes: number;
  /** Most values a document may hold, counting every alias or link expansion again. */
  readonly maxItems: number;
  /** Deepest nesting of Arrays and Hashes. */
  readonly maxDepth: number;
}

/** Defaults: the daemon's default max_message_size, and far more values and depth than any MCollective message uses. */
export const DEFAULT_V1_LIMITS: V1Limits = Object.freeze({ maxBytes: 4 * 1024 * 1024, maxItems: 200_000, maxDepth: 64 });

/** Largest Bignum accepted, in bytes (2^512): far past any counter or size, small enough to convert cheaply. */
export const MAX_BIGNUM_BYTES = 64;
