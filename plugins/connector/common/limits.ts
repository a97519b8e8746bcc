/**
 * `max_message_size`: the largest message body (bytes) every connector accepts or sends. The top-level setting
 * is declared in src/config/core-schema.ts; this module reads it for the connectors, with the schema's default
 * and bounds, so a connector built from a partial or hand-made ConfigView still gets a usable limit.
 */
import { coreSchema } from '../../../src/config/core-schema.js';
import type { ConfigView } from '../../../src/inter/config.js';

const spec = coreSchema.keys['max_message_size']!;

/** The default limit (4 MiB). */
export const DEFAULT_MAX_MESSAGE_SIZE = Number(spec.default);
/** The smallest limit the setting accepts (AMQP's minimum frame size). */
export const MIN_MAX_MESSAGE_SIZE = spec.min ?? 4096;
/** The largest limit the setting accepts. */
export const MAX_MAX_MESSAGE_SIZE = spec.max ?? 64 * 1024 * 1024;

/** Whether `value` is a usable limit. */
export function validMaxMessageSize(value: number): boolean {
  return Number.isInteger(value) && value >= MIN_MAX_MESSAGE_SIZE && value <= MAX_MAX_MESSAGE_SIZE;
}

/** Reads `max_message_size` from `config`; a bad value is a problem (pushed) and the default applies. */
export function readMaxMessageSize(config: ConfigView, problems: string[]): number {
  const raw = config.raw('max_message_size')?.trim();
  if (raw === undefined || raw === '') return DEFAULT_MAX_MESSAGE_SIZE;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !validMaxMessageSize(value)) {
    problems.push(`max_message_size (${config.origin('max_message_size')}) must be an integer between ${MIN_MAX_MESSAGE_SIZE} and ${MAX_MAX_MESSAGE_SIZE} bytes, got ${JSON.stringify(raw)}`);
    return DEFAULT_MAX_MESSAGE_SIZE;
  }
  return value;
}
