/**
 * The collector side of registration, owned by a daemon that hosts the agents using the store (`registration`
 * stores what nodes send, `registration_query` answers discovery): the store opened once at start-up and closed
 * on stop, recording with storage failures counted and logged at a bounded rate (the node is then not
 * acknowledged and retries), and the expiry timer that removes nodes silent for `plugin.registration.expire_after`.
 */
import { ConfigError, InvalidArgumentError } from '../errors.js';
import type { ConfigView } from '../inter/config.js';
import type { Counters, Logger } from '../inter/logger.js';
import type { RegisteredNode, RegistrationCollectorView, RegistrationStore, RegistrationUpdate } from '../inter/registration.js';
import { LogLimiter } from '../util/log-limiter.js';
import { registrationAges, registrationStoreSettings, type RegistrationAges, type RegistrationStoreSettings } from './settings.js';
import { openRegistrationStore } from './stores/index.js';

/** The agents that need the store: a daemon hosting either opens it. */
export const STORE_AGENTS: readonly string[] = ['registration', 'registration_query'];

/** The expiry check runs every expire_after / 4, within these bounds (milliseconds). */
const EXPIRY_CHECK_MIN_MS = 1000;
const EXPIRY_CHECK_MAX_MS = 300_000;
/** Identities named in one expiry log line; the rest are counted. */
const LOGGED_IDENTITIES = 20;

/** Counters a collector keeps (in daemon_stats). */
export const COLLECTOR_COUNTER = {
  stored: 'registration.stored',
  storeFailures: 'registration.store_failures',
  expired: 'registration.expired',
  expiryFailures: 'registration.expiry_failures',
} as const;

/** Everything a collector runs with. */
export interface CollectorSettings extends RegistrationAges {
  store: RegistrationStoreSettings;
}

/** The collector settings of a configuration, or every problem with them. */
export function collectorSettings(config: ConfigView): { settings?: CollectorSettings; problems: string[] } {
  const problems: string[] = [];
  const ages = registrationAges(config, problems);
  const store = registrationStoreSettings(config);
  problems.push(...store.problems);
  return problems.length > 0 || !store.settings ? { problems } : { settings: { ...ages, store: store.settings }, problems };
}

/** What a collector reports through. */
export interface CollectorParts {
  logger: Logger;
  counters: Counters;
  /** The clock expiry measures ages by (milliseconds since the epoch); Date.now by default. */
  now?: () => number;
}

/** A daemon's open registration store, its recording and its expiry timer. */
export class RegistrationCollector implements RegistrationCollectorView {
  readonly staleAfterSeconds: number;
  private readonly limiter: LogLimiter;
  private timer: NodeJS.Timeout | undefined;
  private expiring: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(readonly store: RegistrationStore, private readonly settings: CollectorSettings, private readonly parts: CollectorParts) {
    this.staleAfterSeconds = settings.staleAfterSeconds;
    this.limiter = new LogLimiter(parts.logger);
  }

  /**
   * Opens the store the configuration names and starts expiry when `expire_after` is set. Rejects with
   * ConfigError listing every settings problem, or RegistrationStoreError when the store cannot be opened.
   */
  static async open(config: ConfigView, parts: CollectorParts): Promise<RegistrationCollector> {
    const { settings, problems } = collectorSettings(config);
    if (!settings) throw new ConfigError(problems);
    const logger = parts.logger.child({ component: 'registration-store' });
    const store = await openRegistrationStore(settings.store, {
      onCorrupt: (path, error) => logger.warn({ path }, `registration record ${path} is unreadable: ${error.message}`),
      onError: (error) => logger.warn({ err: error }, `registration store connection failed: ${error.message}`),
    });
    const collector = new RegistrationCollector(store, settings, { ...parts, logger });
    logger.info({ backend: store.backend, location: store.location, staleAfter: settings.staleAfterSeconds, expireAfter: settings.expireAfterSeconds ?? null },
      `registration store open: ${store.backend} ${store.location}`);
    collector.startExpiry();
    return collector;
  }

  async record(update: RegistrationUpdate): Promise<RegisteredNode | undefined> {
    try {
      const stored = await this.store.record(update);
      this.parts.counters.increment(COLLECTOR_COUNTER.stored);
      return stored;
    } catch (error) {
      if (error instanceof InvalidArgumentError) throw error;
      this.parts.counters.increment(COLLECTOR_COUNTER.storeFailures);
      this.limiter.log('error', COLLECTOR_COUNTER.storeFailures, { err: error, identity: update.identity },
        `could not store the registration of ${update.identity}; not acknowledged, the node sends it again: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Removes the nodes not seen for expire_after seconds now; resolves to their identities (none without expire_after). */
  expireNow(): Promise<string[]> {
    const run = this.expiring.then(() => this.expire());
    this.expiring = run.catch(() => undefined);
    return run;
  }

  private async expire(): Promise<string[]> {
    const after = this.settings.expireAfterSeconds;
    if (after === undefined || this.closed) return [];
    try {
      const expired = await this.store.expire({ interval: after, intervals: 1, now: (this.parts.now ?? Date.now)() });
      if (expired.length > 0) {
        this.parts.counters.increment(COLLECTOR_COUNTER.expired, expired.length);
        const shown = expired.slice(0, LOGGED_IDENTITIES).join(', ');
        const more = expired.length > LOGGED_IDENTITIES ? ` and ${expired.length - LOGGED_IDENTITIES} more` : '';
        this.parts.logger.info({ expired: expired.length, expireAfter: after }, `removed ${expired.length} node(s) not seen for ${after} s: ${shown}${more}`);
      }
      return expired;
    } catch (error) {
      this.parts.counters.increment(COLLECTOR_COUNTER.expiryFailures);
      this.limiter.log('error', COLLECTOR_COUNTER.expiryFailures, { err: error }, `could not expire stale registrations: ${(error as Error).message}`);
      return [];
    }
  }

  private startExpiry(): void {
    const after = this.settings.expireAfterSeconds;
    if (after === undefined) return;
    const every = Math.min(EXPIRY_CHECK_MAX_MS, Math.max(EXPIRY_CHECK_MIN_MS, (after * 1000) / 4));
    void this.expireNow();
    this.timer = setInterval(() => void this.expireNow(), every);
    // Expiry never keeps a process alive on its own.
    this.timer.unref();
  }

  /** Stops expiry, waits for writes in progress and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.expiring;
    this.limiter.close();
    await this.store.close();
  }
}
