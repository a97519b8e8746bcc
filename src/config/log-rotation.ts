/**
 * `max_log_size` and `keeplogs`: size-based rotation of the log file, read and checked the same way for the
 * daemon and for tsco. MCollective's defaults (2 MiB, 5 files) apply when they are not set; `max_log_size = 0`
 * leaves rotation to logrotate (config/logrotate/tscollective, which signals the daemon to reopen its log).
 */
import type { ConfigView } from '../inter/config.js';
import { DEFAULT_LOG_ROTATION, type LogRotation } from '../util/log-file.js';
import { checkedNumber } from './checked.js';

/** The smallest max_log_size other than 0: smaller is a unit mistake (`2` meaning 2 MiB) that rotates every line. */
export const MIN_LOG_SIZE = 4096;

/** Reads `max_log_size` and `keeplogs`; every problem is added to `problems` (then the defaults apply). */
export function readLogRotation(config: ConfigView, problems: string[]): LogRotation {
  const before = problems.length;
  const maxBytes = checkedNumber(config, 'max_log_size', DEFAULT_LOG_ROTATION.maxBytes, 0, problems, true);
  const keep = checkedNumber(config, 'keeplogs', DEFAULT_LOG_ROTATION.keep, 0, problems, true);
  if (problems.length > before) return { ...DEFAULT_LOG_ROTATION };
  if (maxBytes > 0 && maxBytes < MIN_LOG_SIZE) {
    problems.push(`${config.origin('max_log_size')}: max_log_size: ${maxBytes} bytes would rotate the log every few lines; `
      + `it is a size in bytes (MCollective's default is ${DEFAULT_LOG_ROTATION.maxBytes}): use at least ${MIN_LOG_SIZE}, or 0 to leave rotation to logrotate`);
  }
  if (maxBytes > 0 && keep === 0) {
    problems.push(`${config.origin('keeplogs')}: keeplogs: 0 with max_log_size = ${maxBytes} would throw the log away at every rotation; `
      + 'keep at least 1 rotated file, or set max_log_size = 0 to leave rotation to logrotate');
  }
  return { maxBytes, keep };
}
