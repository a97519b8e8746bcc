/**
 * registration: receives other nodes' registration messages and records them in the collecting daemon's
 * registration store (sqlite, postgresql or directory: `plugin.registration.store`). Hosted only on a collector:
 * `plugin.registration.activate_agent = 1`, or a store named explicitly (store, store_dir, sqlite.path,
 * postgresql.url); a plain node never collects.
 * What reaches it passed the daemon's pipeline: the security provider authenticated the signer, the action
 * policy allowed it (agent `registration`, action `register`), the audit log recorded it, and its senderid is
 * bound to the signing key (proof `key-name`, `certificate`, `mapping`, or `shared`; `none` is refused before
 * this agent runs). A record is written only for that senderid and keeps the signer and the proof.
 * It acknowledges what it stored with `{stored: true, identity}` once the record is committed: the daemon replies
 * with it when the registration carries a reply-to (tscollective nodes do; MCollective ones do not and get no
 * reply). When the store fails, nothing is acknowledged and the node sends the registration again.
 *
 * Bodies: a list of agent names (`registration = agentlist`), or
 * `{agentlist, facts, classes, collectives}` (`registration = facts`).
 */
import { defineBuiltinAgent } from '../../src/agent/define.js';
import { collectorConfigured } from '../../src/registration/settings.js';

const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');
const isStringMap = (value: unknown): value is Record<string, string> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((item) => typeof item === 'string');

/** The registration contents of a body, or a reason it is not a registration. */
function readBody(body: unknown): { agents: string[]; facts?: Record<string, string>; classes?: string[]; collectives?: string[] } | string {
  if (isStringList(body)) return { agents: body };
  if (typeof body !== 'object' || body === null) return 'expected a list of agent names or {agentlist, facts, classes, collectives}';
  const { agentlist, facts, classes, collectives } = body as Record<string, unknown>;
  if (!isStringList(agentlist)) return 'agentlist: expected a list of strings';
  if (facts !== undefined && !isStringMap(facts)) return 'facts: expected a map of strings';
  if (classes !== undefined && !isStringList(classes)) return 'classes: expected a list of strings';
  if (collectives !== undefined && !isStringList(collectives)) return 'collectives: expected a list of strings';
  return { agents: agentlist, ...(facts ? { facts } : {}), ...(classes ? { classes } : {}), ...(collectives ? { collectives } : {}) };
}

export default defineBuiltinAgent({
  name: 'registration',
  version: '1.0.0',
  description: 'Stores registration data sent by nodes in the registration store (plugin.registration.store) and acknowledges what it stored',
  author: 'tscollective',
  license: 'Apache-2.0',
  timeout: 10,
  actions: {},
  receiveAction: 'register',
  activate: (_config, daemonConfig) => collectorConfigured(daemonConfig),
  async receive(body, context) {
    const contents = readBody(body);
    // The daemon logs and counts a receive failure (agent.registration.errors) and answers status 5.
    if (typeof contents === 'string') throw new Error(`malformed registration from ${context.senderid}: ${contents}`);
    const collector = context.node.registration?.();
    if (!collector) throw new Error('this daemon has no registration store open');
    const stored = await collector.record({
      identity: context.senderid,
      signer: context.callerid,
      senderProof: context.senderProof,
      collective: context.collective,
      ...contents,
    });
    // The store failed (counted and logged by the collector): no acknowledgement, so the node retries.
    if (!stored) return undefined;
    context.logger.debug({ sender: context.senderid, senderProof: context.senderProof }, 'registration stored');
    return { stored: true, identity: context.senderid };
  },
});
