/**
 * The logging and counting surface the core depends on. pino's Logger satisfies Logger.
 * This module imports nothing.
 */

/** A structured logger (pino-compatible subset). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Named monotonically increasing counters (security failures by code, messages, replies). */
export interface Counters {
  increment(name: string, by?: number): void;
  get(name: string): number;
  snapshot(): Record<string, number>;
}
