/**
 * The same settings as a YAML file. Read from js-yaml's event stream rather than loaded as
 * objects, so every setting keeps its line number and no tag is ever constructed: scalars are
 * taken as text and typed by the schema, exactly like cfg values. Flat dotted keys
 * (`plugin.aes.send_pubkey: 1`) and nested maps (`plugin: {aes: {send_pubkey: 1}}`) both flatten
 * to dotted keys; a sequence becomes a list value. Tags and aliases are refused.
 */
import type * as JsYaml from 'js-yaml';
import type { Event, ScalarEvent } from 'js-yaml';
import { jsYaml } from '../util/lazy-require.js';
import { KEY_PATTERN, type ParsedSource, type SourceEntry } from './entries.js';

// js-yaml is loaded by the first YAML configuration read (parseYamlSettings), not by every program start.
let EVENT_ID: typeof JsYaml.EVENT_ID;
let SCALAR_STYLE: typeof JsYaml.SCALAR_STYLE;
let getScalarValue: typeof JsYaml.getScalarValue;

/** Plain scalars YAML reads as null; in a configuration they mean "empty". */
const NULL_WORDS = new Set(['~', 'null', 'Null', 'NULL']);

/** Maps source offsets to 1-based line numbers. */
class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  lineOf(offset: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.starts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    return low + 1;
  }
}

/** Walks the event stream of one document. */
class Flattener {
  private position = 0;
  readonly entries: SourceEntry[] = [];
  readonly problems: string[] = [];

  constructor(
    private readonly events: Event[],
    private readonly text: string,
    private readonly source: string,
    private readonly lines: LineIndex,
  ) {}

  private startOf(event: Event): number {
    switch (event.type) {
      case EVENT_ID.SCALAR:
        return event.valueStart;
      case EVENT_ID.SEQUENCE:
      case EVENT_ID.MAPPING:
        return event.start;
      case EVENT_ID.ALIAS:
        return event.anchorStart;
      default:
        return 0;
    }
  }

  private at(event: Event): string {
    return `${this.source}:${this.lines.lineOf(this.startOf(event))}`;
  }

  private next(): Event {
    const event = this.events[this.position++];
    if (!event) throw new Error('unbalanced YAML event stream');
    return event;
  }

  /** Skips a node (and its children) already reported as a problem. */
  private skip(event: Event): void {
    if (event.type !== EVENT_ID.SEQUENCE && event.type !== EVENT_ID.MAPPING) return;
    let depth = 1;
    while (depth > 0) {
      const inner = this.next();
      if (inner.type === EVENT_ID.SEQUENCE || inner.type === EVENT_ID.MAPPING) depth++;
      else if (inner.type === EVENT_ID.POP) depth--;
    }
  }

  /** A refusal shared by every node: tags and aliases have no place in a configuration. */
  private refused(event: Event): boolean {
    if (event.type === EVENT_ID.ALIAS) {
      this.problems.push(`${this.at(event)}: aliases are not supported in configuration files`);
      return true;
    }
    if ((event.type === EVENT_ID.SCALAR || event.type === EVENT_ID.SEQUENCE || event.type === EVENT_ID.MAPPING) && event.tagStart >= 0) {
      const tag = this.text.slice(event.tagStart, event.tagEnd);
      this.problems.push(`${this.at(event)}: YAML tags are not supported in configuration files, got ${tag}`);
      this.skip(event);
      return true;
    }
    return false;
  }

  private scalarText(event: ScalarEvent): string {
    const value = getScalarValue(this.text, event);
    return event.style === SCALAR_STYLE.PLAIN && NULL_WORDS.has(value) ? '' : value;
  }

  /** Reads the document's root, which must be a mapping (or empty). */
  document(): void {
    const root = this.next();
    if (root.type === EVENT_ID.POP) return;
    if (root.type === EVENT_ID.SCALAR && root.tagStart < 0 && getScalarValue(this.text, root).trim() === '') return;
    if (this.refused(root)) return;
    if (root.type !== EVENT_ID.MAPPING) {
      this.problems.push(`${this.at(root)}: the document must be a mapping of settings`);
      this.skip(root);
      return;
    }
    this.mapping('');
  }

  private mapping(prefix: string): void {
    for (;;) {
      const keyEvent = this.next();
      if (keyEvent.type === EVENT_ID.POP) return;
      const valueEvent = this.next();
      if (this.refused(keyEvent)) {
        if (!this.refused(valueEvent)) this.skip(valueEvent);
        continue;
      }
      if (keyEvent.type !== EVENT_ID.SCALAR) {
        this.problems.push(`${this.at(keyEvent)}: a setting name must be a plain word`);
        this.skip(keyEvent);
        this.skip(valueEvent);
        continue;
      }
      const name = getScalarValue(this.text, keyEvent).trim();
      const key = prefix === '' ? name : `${prefix}.${name}`;
      if (!KEY_PATTERN.test(name)) {
        this.problems.push(`${this.at(keyEvent)}: ${JSON.stringify(key)} is not a valid key (dotted words of letters, digits, "_" and "-")`);
        if (!this.refused(valueEvent)) this.skip(valueEvent);
        continue;
      }
      this.value(key, keyEvent, valueEvent);
    }
  }

  private value(key: string, keyEvent: ScalarEvent, valueEvent: Event): void {
    if (this.refused(valueEvent)) return;
    const line = this.lines.lineOf(keyEvent.valueStart);
    if (valueEvent.type === EVENT_ID.SCALAR) {
      this.entries.push({ key, value: this.scalarText(valueEvent), line });
    } else if (valueEvent.type === EVENT_ID.MAPPING) {
      this.mapping(key);
    } else if (valueEvent.type === EVENT_ID.SEQUENCE) {
      const items: string[] = [];
      for (;;) {
        const item = this.next();
        if (item.type === EVENT_ID.POP) break;
        if (this.refused(item)) continue;
        if (item.type !== EVENT_ID.SCALAR) {
          this.problems.push(`${this.at(item)}: ${key}: list items must be plain values`);
          this.skip(item);
          continue;
        }
        items.push(this.scalarText(item));
      }
      this.entries.push({ key, value: items, line });
    }
  }
}

/** Parses YAML settings; `source` names the file in messages. */
export function parseYamlSettings(text: string, source: string): ParsedSource {
  ({ EVENT_ID, SCALAR_STYLE, getScalarValue } = jsYaml());
  const lines = new LineIndex(text);
  let events: Event[];
  try {
    events = jsYaml().parseEvents(text, { filename: source });
  } catch (error) {
    const mark = (error as { mark?: { line?: number } }).mark;
    const reason = (error as { reason?: string }).reason ?? (error as Error).message;
    const line = typeof mark?.line === 'number' ? `:${mark.line + 1}` : '';
    return { entries: [], problems: [`${source}${line}: YAML syntax error: ${reason}`] };
  }
  const documents = events.filter((event) => event.type === EVENT_ID.DOCUMENT).length;
  if (documents > 1) return { entries: [], problems: [`${source}: expected one YAML document, found ${documents}`] };
  if (documents === 0) return { entries: [], problems: [] };
  const flattener = new Flattener(events.slice(1), text, source, lines);
  flattener.document();
  return { entries: flattener.entries, problems: flattener.problems };
}
