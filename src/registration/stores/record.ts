/**
 * What every registration backend shares about records: checking an update once (names by src/names.ts, sizes
 * bounded before anything is stored), facts as null-prototype objects, the numeric reading of a fact value, and
 * the stale cut-off. Backends differ only in how they keep the normalized record.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { RegisteredIdentity, RegisteredNode, RegistrationPage, RegistrationPageRequest, RegistrationUpdate, StaleAge } from '../../inter/registration.js';
import { isName, nameProblem, type NameKind } from '../../names.js';

/** Bounds on one registration: anything larger is refused before it is looked at further. */
export const REGISTRATION_LIMITS = Object.freeze({
  /** Facts per node. */
  facts: 10_000,
  /** Characters of one fact value. */
  factValueLength: 65_536,
  /** Entries of the agents, classes and collectives lists. */
  listLength: 10_000,
  /** Characters of senderProof. */
  senderProofLength: 64,
});

/** The senderProof given to records that predate proofs (directory files written before signers were kept). */
export const UNKNOWN_PROOF = 'unknown';

/** An update after checking: every list sorted and deduplicated, facts as sorted [name, value] pairs. */
export interface NormalizedUpdate {
  identity: string;
  collective: string;
  signer: string;
  senderProof: string;
  agents: string[];
  classes: string[];
  collectives: string[];
  facts: Array<[string, string]>;
  time: number;
  /** firstSeen and the registration count of a node the store does not know yet. */
  firstSeen: number;
  registrations: number;
}

const MAX_REPORTED = 5;
// String.prototype.isWellFormed is in Node 20 but not in the ES2022 typings this project compiles against.
const WELL_FORMED = (text: string): boolean => !text.includes('\u0000') && (text as unknown as { isWellFormed(): boolean }).isWellFormed();

/** A fact value numbers compare on, exactly as src/filter/fact.ts decides (both sides must pass it). */
export const NUMERIC_FACT = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** The number a fact value stands for in numeric comparisons, or null when it is compared lexically. */
export function factNumber(value: string): number | null {
  return NUMERIC_FACT.test(value.trim()) ? Number(value) : null;
}

/** A null-prototype copy of `entries`, so `constructor` or `__proto__` is a fact only when the node has one. */
export function factsObject(entries: Iterable<readonly [string, string]>): Record<string, string> {
  const facts = Object.create(null) as Record<string, string>;
  for (const [name, value] of entries) facts[name] = value;
  return facts;
}

function checkList(kind: NameKind, what: string, value: unknown, problems: string[]): string[] {
  if (!Array.isArray(value)) {
    problems.push(`${what}: expected a list of names`);
    return [];
  }
  if (value.length > REGISTRATION_LIMITS.listLength) {
    problems.push(`${what}: ${value.length} entries, at most ${REGISTRATION_LIMITS.listLength} are kept`);
    return [];
  }
  const names = new Set<string>();
  value.forEach((entry, index) => {
    const problem = nameProblem(kind, `${what}[${index}]`, entry);
    if (problem) problems.push(problem);
    else names.add(entry as string);
  });
  return [...names].sort();
}

function checkFacts(value: unknown, problems: string[]): Array<[string, string]> {
  if (value === undefined) return [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push('facts: expected a map of fact names to string values');
    return [];
  }
  const names = Object.keys(value);
  if (names.length > REGISTRATION_LIMITS.facts) {
    problems.push(`facts: ${names.length} facts, at most ${REGISTRATION_LIMITS.facts} are kept`);
    return [];
  }
  const facts: Array<[string, string]> = [];
  for (const name of names.sort()) {
    const fact = (value as Record<string, unknown>)[name];
    if (!isName('fact', name)) problems.push(nameProblem('fact', 'facts', name)!);
    else if (typeof fact !== 'string') problems.push(`facts.${name}: expected a string value, got ${typeof fact}`);
    else if (fact.length > REGISTRATION_LIMITS.factValueLength) problems.push(`facts.${name}: value of ${fact.length} characters, at most ${REGISTRATION_LIMITS.factValueLength}`);
    else if (!WELL_FORMED(fact)) problems.push(`facts.${name}: value holds a NUL character or an unpaired surrogate`);
    else facts.push([name, fact]);
  }
  return facts;
}

/**
 * Checks an update and returns it normalized; throws InvalidArgumentError naming the first few problems.
 * `now` is the time used when the update carries none.
 */
export function normalizeUpdate(update: RegistrationUpdate, now = Date.now()): NormalizedUpdate {
  if (typeof update !== 'object' || update === null) throw new InvalidArgumentError('registration: expected an object');
  const problems: string[] = [];
  const name = (kind: NameKind, what: string, value: unknown): string => {
    const problem = nameProblem(kind, what, value);
    if (problem) problems.push(problem);
    return value as string;
  };
  const identity = name('identity', 'identity', update.identity);
  const collective = name('collective', 'collective', update.collective);
  const signer = name('callerid', 'signer', update.signer);
  const proof = update.senderProof;
  if (typeof proof !== 'string' || proof === '' || proof.length > REGISTRATION_LIMITS.senderProofLength || !/^[a-z][a-z-]*$/.test(proof)) {
    problems.push(`senderProof: expected a proof name such as "certificate", got ${JSON.stringify(proof)?.slice(0, 80)}`);
  }
  const agents = checkList('agent', 'agents', update.agents, problems);
  const classes = checkList('className', 'classes', update.classes ?? [], problems);
  const collectives = checkList('collective', 'collectives', update.collectives ?? [update.collective], problems);
  const facts = checkFacts(update.facts, problems);
  const time = update.time ?? now;
  if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) problems.push(`time: expected milliseconds since the epoch, got ${String(time)}`);
  const { firstSeen = time, registrations = 1 } = update.history ?? {};
  if (typeof firstSeen !== 'number' || !Number.isSafeInteger(firstSeen) || firstSeen < 0 || firstSeen > time) {
    problems.push(`history.firstSeen: expected milliseconds since the epoch, not after time, got ${String(firstSeen)}`);
  }
  if (typeof registrations !== 'number' || !Number.isSafeInteger(registrations) || registrations < 1 || registrations > 2 ** 31 - 2) {
    problems.push(`history.registrations: expected a positive count, got ${String(registrations)}`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, MAX_REPORTED).join('; ');
    const more = problems.length > MAX_REPORTED ? ` (and ${problems.length - MAX_REPORTED} more)` : '';
    throw new InvalidArgumentError(`registration of ${JSON.stringify(String(update.identity).slice(0, 255))} refused: ${shown}${more}`);
  }
  return { identity, collective, signer, senderProof: proof, agents, classes, collectives, facts, time, firstSeen, registrations };
}

/** The record a normalized update becomes, given what the store kept from earlier registrations. */
export function recordOf(update: NormalizedUpdate, firstSeen: number, registrations: number): RegisteredNode {
  return {
    identity: update.identity,
    collective: update.collective,
    signer: update.signer,
    senderProof: update.senderProof,
    agents: update.agents,
    facts: factsObject(update.facts),
    classes: update.classes,
    collectives: update.collectives,
    firstSeen,
    lastSeen: update.time,
    registrations,
  };
}

/** The time before which a node is stale; throws InvalidArgumentError for a non-positive interval or count. */
export function staleCutoff(age: StaleAge): number {
  const { interval, intervals = 3, now = Date.now() } = age;
  if (!(typeof interval === 'number' && interval > 0 && Number.isFinite(interval))) {
    throw new InvalidArgumentError(`interval: expected a positive number of seconds, got ${String(interval)}`);
  }
  if (!(typeof intervals === 'number' && intervals > 0 && Number.isFinite(intervals))) {
    throw new InvalidArgumentError(`intervals: expected a positive number, got ${String(intervals)}`);
  }
  if (!Number.isFinite(now)) throw new InvalidArgumentError(`now: expected milliseconds since the epoch, got ${String(now)}`);
  return now - intervals * interval * 1000;
}

/** Checks an identity argument (get, remove). */
export function checkIdentity(identity: unknown): string {
  const problem = nameProblem('identity', 'identity', identity);
  if (problem) throw new InvalidArgumentError(problem);
  return identity as string;
}

/** The most nodes one page of `find` holds. */
export const MAX_FIND_PAGE = 10_000;

/** Checks a page request (the whole first page of MAX_FIND_PAGE nodes when omitted); throws InvalidArgumentError. */
export function checkPage(page: RegistrationPageRequest | undefined): { after: string | undefined; limit: number } {
  if (page === undefined) return { after: undefined, limit: MAX_FIND_PAGE };
  if (typeof page !== 'object' || page === null) throw new InvalidArgumentError('page: expected {after?, limit}');
  const { after, limit } = page;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_FIND_PAGE) {
    throw new InvalidArgumentError(`page.limit: expected a whole number from 1 to ${MAX_FIND_PAGE}, got ${String(limit).slice(0, 40)}`);
  }
  if (after !== undefined) {
    const problem = nameProblem('identity', 'page.after', after);
    if (problem) throw new InvalidArgumentError(problem);
  }
  return { after, limit };
}

/** The page `find` returns from up to limit + 1 selected rows (the extra one only says there are more). */
export function pageOf(rows: readonly RegisteredIdentity[], limit: number): RegistrationPage {
  return { nodes: rows.slice(0, limit), more: rows.length > limit };
}
