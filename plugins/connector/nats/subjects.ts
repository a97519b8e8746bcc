/**
 * The NATS subject layout, Choria's: broadcast requests on `<collective>.broadcast.agent.<agent>` (a plain
 * subscription on every node, never a queue group, so every node gets each one), directed requests on
 * `<collective>.node.<identity>`, and replies on `<collective>.reply.<identity>.<unique>`, a subject private to
 * one client's reply subscription (an unguessable last token; broker permissions can give each client
 * `<collective>.reply.<identity>.>` alone). Dots separate subject tokens: an identity keeps its dots (host names
 * read naturally: `mcollective.node.web1.example.net`), so the layout stays unambiguous only because a collective
 * is exactly one token; names with empty tokens (`a..b`, `web1.`) are not subjects at all.
 */
import { createHash, randomBytes } from 'node:crypto';

/** The longest reply subject made (the connectors' reply-destination bound). */
export const MAX_REPLY_SUBJECT = 255;

/** Broadcast requests for `agent` in `collective`. */
export function broadcastSubject(collective: string, agent: string): string {
  return `${collective}.broadcast.agent.${agent}`;
}

/** Requests directed at the node `identity` in `collective`. */
export function directedSubject(collective: string, identity: string): string {
  return `${collective}.node.${identity}`;
}

let replySequence = 0;

/**
 * A new reply subject for `identity` in `collective`: `<collective>.reply.<identity>.<pid>_<seq>_<random>`. An
 * identity too long to fit in MAX_REPLY_SUBJECT is replaced by the hex of its SHA-256 (first 32 characters).
 */
export function replySubject(collective: string, identity: string): string {
  replySequence += 1;
  const unique = `${process.pid}_${replySequence}_${randomBytes(8).toString('hex')}`;
  const full = `${collective}.reply.${identity}.${unique}`;
  if (full.length <= MAX_REPLY_SUBJECT) return full;
  return `${collective}.reply.${createHash('sha256').update(identity).digest('hex').slice(0, 32)}.${unique}`;
}

/** A reply subject: a collective token, `reply`, then one or more tokens of name characters. */
const REPLY_SUBJECT = /^\w[\w-]*\.reply(?:\.[\w-]+)+$/;

/**
 * Why `replyTo` is not a reply subject this connector publishes to, or undefined when it is. Only the reply
 * layout is accepted, so a request cannot make nodes publish their replies on a broadcast or directed subject.
 */
export function checkReplySubject(replyTo: string): string | undefined {
  return replyTo.length <= MAX_REPLY_SUBJECT && REPLY_SUBJECT.test(replyTo)
    ? undefined
    : 'a NATS reply subject looks like <collective>.reply.<identity>.<unique> (name characters, no wildcards or empty tokens)';
}

/**
 * Why a name that src/names.ts accepts cannot be part of a subject of this layout, or undefined when it can: a
 * collective must be one token (no dot), an identity must have no empty token (no `..`, no trailing dot).
 */
export function subjectNameProblem(kind: 'collective' | 'identity', value: string): string | undefined {
  if (kind === 'collective') return value.includes('.') ? 'a collective is one NATS subject token and cannot contain "."' : undefined;
  return value.includes('..') || value.endsWith('.') ? 'a NATS subject cannot have an empty token ("..", or a trailing ".")' : undefined;
}
