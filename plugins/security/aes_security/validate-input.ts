/** Checks of what enters the provider from callers (outgoing requests) and from the wire (filters). */
import { InvalidArgumentError, MalformedMessageError } from '../../../src/errors.js';
import type { FactFilter, OutgoingRequest, RequestFilter } from '../../../src/inter/message.js';
import { NAME_RULES, isName } from '../../../src/names.js';

const OPERATORS = new Set(['==', '=~', '!=', '<', '>', '<=', '>=']);
const FILTER_LISTS = ['cf_class', 'agent', 'identity', 'compound'] as const;

/** Throws InvalidArgumentError naming the first field of `request` that is not valid. */
export function checkOutgoingRequest(request: OutgoingRequest): void {
  if (typeof request !== 'object' || request === null) throw new InvalidArgumentError('"request" expected an object');
  const bad = (field: string, expected: string) => new InvalidArgumentError(`"request.${field}" expected ${expected}, got ${JSON.stringify(request[field as keyof OutgoingRequest])}`);
  if (!isName('requestid', request.requestid)) throw bad('requestid', NAME_RULES.requestid.description);
  if (!isName('identity', request.senderid)) throw bad('senderid', `an identity (${NAME_RULES.identity.description})`);
  if (!isName('agent', request.agent)) throw bad('agent', `an agent name (${NAME_RULES.agent.description})`);
  if (!isName('collective', request.collective)) throw bad('collective', `a collective name (${NAME_RULES.collective.description})`);
  if (!Number.isInteger(request.ttl) || request.ttl < 1 || request.ttl > 604800) throw bad('ttl', 'an integer number of seconds 1..604800');
  if (request.msgtime !== undefined && (!Number.isInteger(request.msgtime) || request.msgtime < 0)) throw bad('msgtime', 'integer epoch seconds');
  try {
    checkFilter(request.filter);
  } catch (error) {
    throw new InvalidArgumentError(`"request.filter": ${(error as Error).message}`);
  }
}

/** A type-checked RequestFilter; throws MalformedMessageError naming the bad part. */
export function checkFilter(value: unknown): RequestFilter {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MalformedMessageError('filter must be a map');
  const input = value as Record<string, unknown>;
  const filter: RequestFilter = { fact: [], cf_class: [], agent: [], identity: [], compound: [] };
  for (const list of FILTER_LISTS) {
    const entries = input[list] ?? [];
    if (!Array.isArray(entries) || !entries.every((e) => typeof e === 'string')) {
      throw new MalformedMessageError(`filter.${list} must be a list of strings`);
    }
    filter[list] = entries as string[];
  }
  const facts = input.fact ?? [];
  if (!Array.isArray(facts)) throw new MalformedMessageError('filter.fact must be a list');
  filter.fact = facts.map((fact, index): FactFilter => {
    const f = fact as Record<string, unknown>;
    if (typeof f !== 'object' || f === null || typeof f.fact !== 'string' || typeof f.value !== 'string' || !OPERATORS.has(f.operator as string)) {
      throw new MalformedMessageError(`filter.fact[${index}] must be {fact, operator (== =~ != < > <= >=), value}`);
    }
    return { fact: f.fact, operator: f.operator as FactFilter['operator'], value: f.value };
  });
  return filter;
}
