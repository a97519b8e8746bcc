/** Loader hooks of module-log.ts: append the URL of every ES module (or CommonJS entry) loaded to the log file. */
import { appendFileSync } from 'node:fs';

let logPath = '';

/** Receives the log file's path from register(). */
export async function initialize(data: { logPath: string }): Promise<void> {
  logPath = data.logPath;
}

/** Records `url`, then loads it as usual. */
export async function load(url: string, context: unknown, nextLoad: (url: string, context: unknown) => Promise<unknown>): Promise<unknown> {
  appendFileSync(logPath, `${url}\n`);
  return nextLoad(url, context);
}
