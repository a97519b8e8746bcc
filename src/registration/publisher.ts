/**
 * Registration: every `registerinterval` seconds (after a random splay of up to one interval when
 * `registration_splay` is set) the daemon sends an ordinary request to agent `registration` in
 * `registration_collective`, filtered to agent=registration, with the daemon's `ttl`, signed by the security
 * provider in role server, with a reply-to the daemon owns. Bodies:
 * `agentlist` -> the hosted agent names (MCollective's format);
 * `facts` -> `{agentlist, facts, classes, collectives}`.
 *
 * Delivery is acknowledged: a collecting registration agent that stored the record replies `{stored: true,
 * identity}`. An attempt without an acknowledgement within the bound (min(10 s, interval / 4)), or whose publish
 * failed, counts as failed and is retried with back-off while the next interval is further away than the delay
 * (at most MAX_ATTEMPTS attempts per round). A collector's refusal (non-OK status) fails the round without a retry.
 * When the connection returns after an outage (connector state `connected` after `reconnecting`), a round starts
 * at once instead of at the next interval. Counters: `registration.sent` (every attempt handed to the connector),
 * `registration.published`, `registration.acknowledged`, `registration.failed` (publish failed, no
 * acknowledgement, or refused), `registration.refused`, `registration.retried`, `registration.reconnect_rounds`.
 * Once nothing is in flight, sent == acknowledged + failed + unacknowledged. A registration in protocol version 1
 * (`plugin.aes.protocol = 1`, for Ruby MCollective collectors) cannot be acknowledged, as in MCollective: it counts
 * as `registration.unacknowledged` once published and is neither waited for nor retried.
 */
import { randomBytes } from 'node:crypto';
import type { Connector, ConnectorState } from '../inter/connector.js';
import type { Counters, Logger } from '../inter/logger.js';
import type { SecurityProvider } from '../inter/security.js';
import { LogLimiter } from '../util/log-limiter.js';
import { Acknowledgements, type AttemptOutcome } from './acknowledgements.js';

/** Registration body formats: `agentlist` (agent names, MCollective's default) or `facts` (also facts, classes, collectives). */
export type RegistrationKind = 'agentlist' | 'facts';

/** Attempts per round (the first and its retries). */
export const MAX_ATTEMPTS = 4;

/** The longest wait for an acknowledgement, in ms (shorter intervals wait a quarter of the interval). */
export const MAX_ACK_WAIT_MS = 10_000;

/** What the publisher needs. */
export interface RegistrationPublisherOptions {
  identity: string;
  collective: string;
  collectives: readonly string[];
  kind: RegistrationKind;
  /** Seconds between registrations (> 0). */
  interval: number;
  splay: boolean;
  ttl: number;
  provider: SecurityProvider;
  connector: Connector;
  logger: Logger;
  counters: Counters;
  agents: () => string[];
  facts: () => Record<string, string>;
  classes: () => readonly string[];
  /** Rate-limits the per-attempt lines; a limiter of its own by default. */
  limiter?: LogLimiter;
  /** Milliseconds an attempt waits for its acknowledgement; default min(10 s, interval / 4). */
  ackWaitMs?: number;
  /** For tests: a random number in [0, 1). */
  random?: () => number;
}

/** The registration body for `kind`. */
export function registrationBody(kind: RegistrationKind, options: Pick<RegistrationPublisherOptions, 'agents' | 'facts' | 'classes' | 'collectives'>): unknown {
  if (kind === 'agentlist') return options.agents();
  return { agentlist: options.agents(), facts: options.facts(), classes: [...options.classes()], collectives: [...options.collectives] };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** Sends acknowledged registrations on a timer, after reconnections, and retries the unacknowledged ones. */
export class RegistrationPublisher {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private round = 0;
  private nextRoundAt = 0;
  private lastState: ConnectorState;
  private readonly limiter: LogLimiter;
  private readonly ownLimiter: boolean;
  private readonly acks: Acknowledgements;
  private readonly onState = (state: ConnectorState): void => this.stateChanged(state);

  constructor(private readonly options: RegistrationPublisherOptions) {
    this.ownLimiter = options.limiter === undefined;
    this.limiter = options.limiter ?? new LogLimiter(options.logger);
    this.lastState = options.connector.state;
    this.acks = new Acknowledgements({ ...options, limiter: this.limiter });
  }

  /** Milliseconds an attempt waits for its acknowledgement: min(10 s, interval / 4) unless configured. */
  get ackWaitMs(): number {
    return this.options.ackWaitMs ?? Math.max(1, Math.min(MAX_ACK_WAIT_MS, Math.round((this.options.interval * 1000) / 4)));
  }

  /** Subscribes the acknowledgement destination, then sends the first registration after the splay (at once without). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.lastState = this.options.connector.state;
    await this.acks.open();
    this.options.connector.on('state', this.onState);
    const splay = this.options.splay ? (this.options.random ?? Math.random)() * this.options.interval : 0;
    this.options.logger.info({ interval: this.options.interval, splay: Math.round(splay), collective: this.options.collective, ackWaitMs: this.ackWaitMs }, 'registration enabled');
    this.schedule(splay * 1000);
  }

  /** Stops: no further rounds or retries; attempts still waiting count as failed. */
  async stop(): Promise<void> {
    this.running = false;
    this.round++;
    clearTimeout(this.timer);
    this.options.connector.off('state', this.onState);
    await this.acks.close('the daemon is stopping');
    if (this.ownLimiter) this.limiter.close();
  }

  /** Starts a round now (and the next one a full interval later). */
  registerNow(reason: string): void {
    if (!this.running) return;
    this.schedule(0, reason);
  }

  private schedule(delayMs: number, reason = 'interval'): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.nextRoundAt = Date.now() + this.options.interval * 1000;
      this.schedule(this.options.interval * 1000);
      void this.runRound(reason);
    }, delayMs);
    this.timer.unref();
  }

  private stateChanged(state: ConnectorState): void {
    const previous = this.lastState;
    this.lastState = state;
    if (state !== 'connected' || (previous !== 'reconnecting' && previous !== 'disconnected')) return;
    this.options.counters.increment('registration.reconnect_rounds');
    this.options.logger.info({}, 'connection returned: registering now');
    this.registerNow('reconnected');
  }

  /** One round: attempts with back-off until acknowledged, refused, out of attempts, or the next round is near. */
  private async runRound(reason: string): Promise<void> {
    const round = ++this.round;
    const { counters, logger } = this.options;
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) counters.increment('registration.retried');
      const outcome = await this.attemptOnce(attempt, reason);
      if (outcome.kind !== 'failed' || round !== this.round || !this.running) return;
      const delay = this.ackWaitMs * 2 ** (attempt - 1);
      if (attempt >= MAX_ATTEMPTS || Date.now() + delay >= this.nextRoundAt) {
        this.limiter.log('warn', 'registration.gave_up', { attempts: attempt, collective: this.options.collective },
          `registration not acknowledged after ${attempt} attempt(s); next registration in ${Math.max(0, Math.round((this.nextRoundAt - Date.now()) / 1000))}s`);
        return;
      }
      await sleep(delay);
      if (round !== this.round || !this.running) return;
      logger.debug({ attempt: attempt + 1 }, 'retrying the registration');
    }
  }

  /** Builds, signs and publishes one registration and waits for its acknowledgement (counted either way). */
  private async attemptOnce(attempt: number, reason: string): Promise<AttemptOutcome> {
    const { identity, collective, ttl, provider, connector, counters } = this.options;
    const requestid = randomBytes(16).toString('hex');
    const replyTo = this.acks.replyTo;
    counters.increment('registration.sent');
    const waiting = this.acks.expect(requestid);
    try {
      const { wire: body, handle, oneWay } = provider.encodeRequest({
        requestid,
        senderid: identity,
        agent: 'registration',
        collective,
        filter: { fact: [], cf_class: [], agent: ['registration'], identity: [], compound: [] },
        ttl,
        body: registrationBody(this.options.kind, this.options),
      });
      if (!oneWay) this.acks.keep(handle, ttl);
      await connector.publishRequest({ collective, agent: 'registration', body, ttl, ...(replyTo ? { replyTo } : {}) });
      counters.increment('registration.published');
      if (oneWay) waiting.published();
      else waiting.arm(this.ackWaitMs);
    } catch (error) {
      waiting.cancel(`could not be sent: ${(error as Error).message}`);
    }
    const outcome = await waiting.outcome;
    const fields = { requestid, collective, attempt, reason };
    if (outcome.kind === 'unacknowledged') {
      counters.increment('registration.unacknowledged');
      this.options.logger.debug(fields, 'registration published (this protocol has no acknowledgement)');
    } else if (outcome.kind === 'acknowledged') {
      counters.increment('registration.acknowledged');
      this.options.logger.debug({ ...fields, signer: outcome.signer }, 'registration acknowledged');
    } else if (outcome.kind === 'refused') {
      counters.increment('registration.failed');
      counters.increment('registration.refused');
      this.limiter.log('error', 'registration.refused', { ...fields, signer: outcome.signer, statuscode: outcome.statuscode },
        `registration refused by ${outcome.signer}: ${outcome.statusmsg}`);
    } else {
      counters.increment('registration.failed');
      this.limiter.log('warn', 'registration.failed', fields, `registration attempt ${attempt} failed: ${outcome.reason}`);
    }
    return outcome;
  }
}
