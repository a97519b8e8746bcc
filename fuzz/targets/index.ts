/** The codecs the fuzzer knows, by the name `--target` takes. */
import type { TargetFactory } from '../target.js';
import { createAesSecurityTarget } from './aes-security.js';
import { createLegacyV1Target } from './legacy-v1.js';

/** Target factories by name; the first is the default. */
export const TARGETS: Readonly<Record<string, TargetFactory>> = Object.freeze({
  aes_security: createAesSecurityTarget,
  legacy_v1: createLegacyV1Target,
});

/** The default target's name. */
export const DEFAULT_TARGET = Object.keys(TARGETS)[0]!;
