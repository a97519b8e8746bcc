/** Request identifiers: 32 lower-case hex characters, as MCollective's dash-less UUIDs. */
import { randomUUID } from 'node:crypto';

const REQUEST_ID_PATTERN = /^[0-9a-f]{32}$/;

/** A fresh random request id (a v4 UUID without its dashes). */
export function newRequestId(): string {
  return randomUUID().replaceAll('-', '');
}

/** Whether `value` has the shape of a request id. */
export function isRequestId(value: unknown): value is string {
  return typeof value === 'string' && REQUEST_ID_PATTERN.test(value);
}
