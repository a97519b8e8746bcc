/**
 * Argument checks shared by the connectors in this repository (memory, amqp and stomp): names that end up in
 * broker destinations, publish requests and reply destinations are checked where they enter, and a bad
 * one is reported as an InvalidArgumentError naming the argument, counted and logged by the caller.
 */
import { InvalidArgumentError } from '../../../src/errors.js';
import type { PublishRequest } from '../../../src/inter/connector.js';
import type { Counters, Logger } from '../../../src/inter/logger.js';
import { checkName as checkRuleName, type NameKind } from '../../../src/names.js';
import type { ConnectorDriver } from './driver.js';

/**
 * Throws InvalidArgumentError unless `value` is a usable collective, agent or identity name (the rules of
 * src/names.ts): wildcards (`*`, `#`), separators (`/`) and whitespace would change routing on a broker.
 */
export function checkName(argument: 'collective' | 'agent' | 'identity' | `${string}.${'collective' | 'agent' | 'node'}`, value: unknown): string {
  const last = argument.slice(argument.lastIndexOf('.') + 1);
  return checkRuleName(last === 'node' ? 'identity' : (last as NameKind), argument, value);
}

/** Throws InvalidArgumentError naming `argument` when `driver` cannot carry `value` as a `kind` name (ConnectorDriver.nameProblem). */
export function checkCarried(driver: Pick<ConnectorDriver, 'nameProblem'>, connector: string, kind: 'collective' | 'identity', argument: string, value: string): void {
  const problem = driver.nameProblem?.(kind, value);
  if (problem !== undefined) throw new InvalidArgumentError(`${argument}: ${JSON.stringify(value)} cannot be used with the ${connector} connector: ${problem}`);
}

/** Throws InvalidArgumentError unless `value` is a byte array. */
export function checkBody(argument: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${argument} must be a Uint8Array, got ${describe(value)}`);
  }
  return value;
}

/** Throws InvalidArgumentError unless `value` is a finite number of seconds greater than zero. */
export function checkTtl(argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`${argument} must be a finite number of seconds > 0, got ${describe(value)}`);
  }
  return value;
}

/** Throws InvalidArgumentError unless `value` is a non-empty reply destination without control characters. */
export function checkReplyTo(argument: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 255 || /[\s\u0000-\u001f]/.test(value)) {
    throw new InvalidArgumentError(`${argument} must be a reply destination (1 to 255 printable characters), got ${describe(value)}`);
  }
  return value;
}

/** Throws InvalidArgumentError unless `handler` is a function. */
export function checkHandler(argument: string, value: unknown): void {
  if (typeof value !== 'function') {
    throw new InvalidArgumentError(`${argument} must be a function, got ${describe(value)}`);
  }
}

/** Checks every field of a publish request; throws on the first bad one, naming it. */
export function checkPublishRequest(request: unknown): PublishRequest {
  if (typeof request !== 'object' || request === null) {
    throw new InvalidArgumentError(`request must be an object, got ${describe(request)}`);
  }
  const r = request as Partial<PublishRequest>;
  checkName('request.collective', r.collective);
  checkName('request.agent', r.agent);
  checkBody('request.body', r.body);
  checkTtl('request.ttl', r.ttl);
  if (r.replyTo !== undefined) checkReplyTo('request.replyTo', r.replyTo);
  if (r.node !== undefined) checkName('request.node', r.node);
  return r as PublishRequest;
}

/** A short description of a value for error messages (never the value of a large buffer). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `${value.constructor.name}(${value.length})`;
  if (typeof value === 'string') return value.length > 60 ? `string(${value.length})` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'undefined') return String(value);
  return typeof value;
}

/**
 * Runs a connector's argument checks: a failure is counted as `<counterPrefix>.invalid_argument`, logged, and
 * rethrown as an InvalidArgumentError.
 */
export function guardArguments(check: () => void, counters: Counters, logger: Logger, counterPrefix: string): void {
  try {
    check();
  } catch (error) {
    counters.increment(`${counterPrefix}.invalid_argument`);
    logger.warn({ error: (error as Error).message }, 'invalid argument');
    throw error instanceof InvalidArgumentError ? error : new InvalidArgumentError((error as Error).message, { cause: error });
  }
}
