/**
 * The message headers every connector writes and reads besides the body: `mc_sender` (the publisher's identity,
 * as MCollective's connectors send it) and `mc_expires` (the absolute expiry in ms since the epoch, on the
 * publisher's clock, so a receiver can drop a message that waited too long on its side of the broker).
 */

/** Header carrying the publisher's identity. */
export const SENDER_HEADER = 'mc_sender';

/** Header carrying the absolute expiry, ms since the epoch. */
export const EXPIRES_HEADER = 'mc_expires';

/** Parses a header holding milliseconds since the epoch; undefined when absent or not a positive integer. */
export function parseEpochMs(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,16}$/.test(value)) return undefined;
  const ms = Number(value);
  return ms > 0 ? ms : undefined;
}
