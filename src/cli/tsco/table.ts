/**
 * `tsco rpc --table`: the replies as one table, a row per node: `Sender`, `Status` (`OK`, or the failure's status
 * and message), then a column per output (display names, declared order first, as labelledData gives them).
 * Scalars print as they are, lists and objects as compact JSON; line breaks in a value print as `\n`.
 */
import type { ActionDdl } from '../../agent/ddl.js';
import type { RpcReply } from '../../client/index.js';
import { StatusCode } from '../../inter/message.js';
import { senderLabel, statusText } from './output.js';
import { labelledData } from './rpc-format.js';
import { palette, type Palette } from './terminal.js';

/** A value as one table cell. */
export function cellText(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined ? '' : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
  return text.replace(/\r?\n/g, '\\n');
}

/** The replies as a table (header, rule, one row per reply); empty when there is no reply. */
export function formatTable(replies: readonly RpcReply[], action: ActionDdl | undefined, colors: Palette = palette(false)): string {
  if (replies.length === 0) return '';
  const columns: string[] = [];
  const seen = new Set<string>();
  const rows = replies.map((reply) => {
    const data = reply.statuscode === StatusCode.OK ? labelledData(reply, action) : {};
    for (const key of Object.keys(data)) {
      if (!seen.has(key)) columns.push(key);
      seen.add(key);
    }
    return { reply, data };
  });
  const header = ['Sender', 'Status', ...columns];
  const cells = rows.map(({ reply, data }) => [senderLabel(reply), statusText(reply), ...columns.map((column) => cellText(data[column]))]);
  const widths = header.map((title, index) => Math.max(title.length, ...cells.map((row) => row[index]!.length)));
  const line = (row: readonly string[], paint: (index: number, text: string) => string = (_, text) => text): string =>
    row.map((cell, index) => paint(index, index === row.length - 1 ? cell : cell.padEnd(widths[index]!))).join('  ').trimEnd();
  const out = [line(header), line(widths.map((width) => '-'.repeat(width)))];
  rows.forEach(({ reply }, rowIndex) => {
    const failed = reply.statuscode !== StatusCode.OK;
    out.push(line(cells[rowIndex]!, (index, text) => (index === 1 && failed ? colors.red(text) : text)));
  });
  return `${out.join('\n')}\n`;
}
