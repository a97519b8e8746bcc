/** The codecs the fuzzer knows, by the name `--target` takes. Add a codec here (for example `legacy_v1`). */
import type { TargetFactory } from '../target.js';
import { createAesSecurityTarget } from './aes-security.js';

/** Target factories by name; the first is the default. */
export const TARGETS: Readonly<Record<string, TargetFactory>> = Object.freeze({
  aes_security: createAesSecurityTarget,
});

/** The default target's name. */
export const DEFAULT_TARGET = Object.keys(TARGETS)[0]!;
