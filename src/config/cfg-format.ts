/**
 * MCollective's `key = value` format (server.cfg, client.cfg): one setting per line, `#` starts a
 * comment line, blank lines are ignored, whitespace around `=` is trimmed. Everything after the
 * first `=` is the value, `#` included (passwords may contain it), as MCollective reads it.
 */
import { KEY_PATTERN, type ParsedSource, type SourceEntry } from './entries.js';

/** Parses cfg text; `source` names the file in messages. */
export function parseCfg(text: string, source: string): ParsedSource {
  const entries: SourceEntry[] = [];
  const problems: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = index + 1;
    const content = lines[index]!.trim();
    if (content === '' || content.startsWith('#')) continue;
    const equals = content.indexOf('=');
    if (equals < 0) {
      problems.push(`${source}:${line}: expected "key = value", got ${JSON.stringify(content)}`);
      continue;
    }
    const key = content.slice(0, equals).trim();
    const value = content.slice(equals + 1).trim();
    if (!KEY_PATTERN.test(key)) {
      problems.push(`${source}:${line}: ${JSON.stringify(key)} is not a valid key (dotted words of letters, digits, "_" and "-")`);
      continue;
    }
    entries.push({ key, value, line });
  }
  return { entries, problems };
}
