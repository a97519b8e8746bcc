/**
 * Settings of the AMQP 0-9-1 connector (`plugin.amqp.*`). Brokers come from one of three forms:
 * `url` (amqp:// or amqps://), the single-broker shorthand `host`/`port`/`user`/`password` with
 * `ssl`, `ssl.ca|cert|key`, or MCollective's pool (`pool.size`, `pool.N.*`). The pool, reconnect,
 * heartbeat and timeout keys are the shared ones of plugins/connector/pool.
 */
import { existsSync } from 'node:fs';
import type { ConfigSchema, ConfigView } from '../../../src/inter/config.js';
import { DEFAULT_AMQP_PORT, TTL_GRACE_SECONDS, type PoolHost, type PoolOptions, poolSettingSpecs, readPoolOptions } from '../pool/options.js';
export { DEFAULT_AMQP_PORT };

/** Default AMQP-over-TLS port. */
export const DEFAULT_AMQPS_PORT = 5671;

/** Default of `ttl_grace`: MCollective's grace, shared by every connector. */
export const DEFAULT_TTL_GRACE_SECONDS = TTL_GRACE_SECONDS;

/** The checked settings of an AMQP connector. */
export interface AmqpOptions extends PoolOptions {
  /** Verify the broker's certificate against the CA (ssl.verify); only for testing when false. */
  sslVerify: boolean;
  /** Seconds added to a message's TTL before it expires (`ttl_grace`). */
  ttlGraceSeconds: number;
  /** Unacknowledged deliveries the broker may push per subscription (`prefetch`). */
  prefetch: number;
}

/** Keys of the single-broker shorthand; `ssl.ca|cert|key` apply to it and to `url` alike. */
const SHORTHAND_KEYS = ['host', 'port', 'user', 'password', 'ssl'] as const;

/** The TLS file keys of the shorthand and `url` forms (the pool form has `pool.N.ssl.*`). */
const TLS_FILE_KEYS = [['sslCa', 'ssl.ca'], ['sslCert', 'ssl.cert'], ['sslKey', 'ssl.key']] as const;

/** The `plugin.amqp.*` keys, for registerConfigSchema. */
export const amqpConfigSchema: ConfigSchema = {
  namespace: 'amqp',
  keys: {
    ...poolSettingSpecs({ port: DEFAULT_AMQP_PORT, vhost: '/' }),
    url: { type: 'string', doc: 'Broker URL, amqp://user:password@host:port/vhost or amqps://... (instead of host/port or pool.N.*).' },
    host: { type: 'string', doc: 'Broker host (single-broker shorthand for pool.1.host).' },
    port: { type: 'integer', min: 1, max: 65535, doc: `Broker port (default ${DEFAULT_AMQP_PORT}, ${DEFAULT_AMQPS_PORT} with ssl).` },
    user: { type: 'string', doc: 'User name (default guest).' },
    password: { type: 'string', doc: 'Password (default guest).' },
    ssl: { type: 'boolean', default: false, doc: 'Connect over TLS (single-broker shorthand for pool.1.ssl).' },
    'ssl.ca': { type: 'path', doc: 'PEM CA bundle that signed the broker\'s certificate (system CAs when absent).' },
    'ssl.cert': { type: 'path', doc: 'PEM client certificate for mutual TLS (needs ssl.key).' },
    'ssl.key': { type: 'path', doc: 'PEM private key of the client certificate (needs ssl.cert).' },
    'ssl.verify': { type: 'boolean', default: true, doc: 'Verify the broker\'s certificate and host name; disable only for testing.' },
    ttl_grace: { type: 'number', default: DEFAULT_TTL_GRACE_SECONDS, min: 0, doc: 'Seconds added to each message\'s TTL before the broker drops it (MCollective: 10).' },
    prefetch: { type: 'integer', default: 16, min: 1, max: 65535, doc: 'Unacknowledged messages the broker may push per subscription.' },
  },
};

/** Reads `plugin.amqp.*`; never throws, returns every problem and warning. */
export function readAmqpOptions(config: ConfigView): { options: AmqpOptions; problems: string[]; warnings: string[] } {
  const prefix = 'plugin.amqp.';
  const key = (name: string): string => `${prefix}${name}`;
  const pool = readPoolOptions(config, prefix, { port: DEFAULT_AMQP_PORT, vhost: '/' });
  const usesPool = config.keys(key('pool.')).length > 0;
  const usesUrl = config.has(key('url'));
  const usesShorthand = SHORTHAND_KEYS.some((name) => config.has(key(name)));
  const problems: string[] = [];
  const warnings = [...pool.warnings];

  const string = (name: string): string | undefined => {
    const value = config.has(key(name)) ? config.raw(key(name))?.trim() : undefined;
    return value === '' ? undefined : value;
  };
  const boolean = (name: string, fallback: boolean): boolean => {
    const raw = string(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'y', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'n', 'off'].includes(raw)) return false;
    problems.push(`${key(name)} (${config.origin(key(name))}) must be a boolean (1/0, true/false, yes/no), got ${JSON.stringify(config.raw(key(name)))}`);
    return fallback;
  };
  const number = (name: string, fallback: number, check: (n: number) => boolean, what: string): number => {
    const raw = string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || !check(value)) {
      problems.push(`${key(name)} (${config.origin(key(name))}) must be ${what}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  };

  const forms = [usesUrl && 'url', usesShorthand && 'host/port/ssl', usesPool && 'pool.N.*'].filter(Boolean);
  if (forms.length > 1) problems.push(`plugin.amqp: set the broker with only one of url, host/port/ssl or pool.N.* (found ${forms.join(' and ')})`);

  let hosts = pool.options.hosts;
  if (usesPool || (!usesUrl && !usesShorthand)) {
    // The pool form, or nothing at all (the pool reader reports the missing pool.1.host).
    problems.push(...pool.problems);
    for (const [, name] of TLS_FILE_KEYS) {
      if (config.has(key(name))) problems.push(`${key(name)} applies to url or host; with a pool use ${key(`pool.N.${name}`)}`);
    }
  } else {
    problems.push(...pool.problems.filter((p) => !p.startsWith(key('pool.'))));
    const host = usesUrl ? hostFromUrl(string('url') ?? '', config.origin(key('url')), problems) : shorthandHost();
    // Checked even when the URL is unusable, so every problem shows at once.
    addTlsFiles(host ?? { index: 1, host: '', port: 0, ssl: true });
    hosts = host ? [host] : [];
  }

  function addTlsFiles(entry: PoolHost): void {
    for (const [field, name] of TLS_FILE_KEYS) {
      const path = string(name);
      if (path === undefined) continue;
      entry[field] = path;
      if (!entry.ssl) problems.push(`${key(name)} is set but TLS is off (set ${key('ssl')} = 1 or use an amqps:// url)`);
      if (!existsSync(path)) problems.push(`${key(name)} (${config.origin(key(name))}): file ${path} does not exist`);
    }
    if ((entry.sslCert === undefined) !== (entry.sslKey === undefined)) problems.push(`${key('ssl.cert')} and ${key('ssl.key')} must be set together`);
  }

  function shorthandHost(): PoolHost {
    const ssl = boolean('ssl', false);
    const entry: PoolHost = {
      index: 1,
      host: string('host') ?? '',
      port: number('port', ssl ? DEFAULT_AMQPS_PORT : DEFAULT_AMQP_PORT, (n) => Number.isInteger(n) && n >= 1 && n <= 65535, 'a port number (1-65535)'),
      ssl,
    };
    if (entry.host === '') problems.push(`${key('host')} is missing (or set ${key('url')} or ${key('pool.1.host')})`);
    const user = string('user'), password = string('password');
    if (user !== undefined) entry.user = user;
    if (password !== undefined) entry.password = password;
    return entry;
  }

  const sslVerify = boolean('ssl.verify', true);
  if (!sslVerify) warnings.push(`${key('ssl.verify')} is off: the broker's certificate is not checked (testing only)`);
  const options: AmqpOptions = {
    ...pool.options,
    hosts,
    sslVerify,
    ttlGraceSeconds: number('ttl_grace', DEFAULT_TTL_GRACE_SECONDS, (n) => n >= 0, 'a number of seconds >= 0'),
    prefetch: number('prefetch', 16, (n) => Number.isInteger(n) && n >= 1 && n <= 65535, 'an integer between 1 and 65535'),
  };
  if (usesUrl) {
    const urlVhost = vhostFromUrl(string('url') ?? '');
    if (urlVhost !== undefined && config.has(key('vhost')) && urlVhost !== options.vhost) {
      problems.push(`${key('url')} names vhost ${JSON.stringify(urlVhost)} but ${key('vhost')} is ${JSON.stringify(options.vhost)}`);
    } else if (urlVhost !== undefined) {
      options.vhost = urlVhost;
    }
  }
  return { options, problems, warnings };
}

/** Parses an amqp:// or amqps:// URL into a pool host; pushes a problem and returns undefined when bad. */
export function hostFromUrl(url: string, origin: string, problems: string[]): PoolHost | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    problems.push(`plugin.amqp.url (${origin}) is not a URL: ${JSON.stringify(redact(url))}`);
    return undefined;
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
    problems.push(`plugin.amqp.url (${origin}) must start with amqp:// or amqps://, got ${parsed.protocol}//`);
    return undefined;
  }
  if (parsed.hostname === '') {
    problems.push(`plugin.amqp.url (${origin}) has no host`);
    return undefined;
  }
  const ssl = parsed.protocol === 'amqps:';
  const host: PoolHost = {
    index: 1,
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? (ssl ? DEFAULT_AMQPS_PORT : DEFAULT_AMQP_PORT) : Number(parsed.port),
    ssl,
  };
  if (parsed.username !== '') host.user = decodeURIComponent(parsed.username);
  if (parsed.password !== '') host.password = decodeURIComponent(parsed.password);
  return host;
}

/** The vhost named by an amqp URL's path (`/` when absent), or undefined when the URL has none. */
export function vhostFromUrl(url: string): string | undefined {
  try {
    const path = new URL(url).pathname;
    return path === '' || path === '/' ? undefined : decodeURIComponent(path.slice(1));
  } catch {
    return undefined;
  }
}

/** The URL with its password replaced, for messages. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}
