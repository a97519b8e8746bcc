/**
 * The Prometheus text exposition (format 0.0.4) of a daemon's counters: the daemon_stats counters as
 * `tscollective_daemon_<name>_total`, security failures and warnings by error code, replies by RPC status,
 * every other counter (connector, registration, audit, replay journal, ...) as `tscollective_events_total`
 * labelled with its name, and a few gauges about the daemon and its process.
 */
import { COUNTER } from '../daemon/stats.js';

/** What one scrape shows. */
export interface MetricsSnapshot {
  /** Counters.snapshot(): every counter by name. */
  counters: Readonly<Record<string, number>>;
  identity: string;
  version: string;
  /** Seconds since the epoch when the daemon started. */
  starttime: number;
  agents: number;
  inFlight: number;
}

type CounterName = (typeof COUNTER)[keyof typeof COUNTER];

/** HELP text of each daemon_stats counter (a new counter does not compile until it is described here). */
const DAEMON_COUNTER_HELP: Readonly<Record<CounterName, string>> = {
  total: 'Messages received.',
  validated: 'Messages decoded and authenticated by the security provider.',
  unvalidated: 'Messages refused by the security provider (by code in tscollective_security_failures_total).',
  ttlexpired: 'Messages older than their TTL.',
  replayed: 'Messages seen before (replays).',
  filtered: 'Requests that did not match this node\'s filter (dropped without a reply).',
  passed: 'Requests that matched the filter and went on to authorization and the agent.',
  unauthorized: 'Requests refused by the authorization provider.',
  replies: 'Replies published.',
  reply_failures: 'Replies that could not be encoded or published.',
  misrouted: 'Requests for agents this node does not host or collectives it is not in.',
  bad_filter: 'Requests whose filter does not parse.',
  refused_stopping: 'Requests that arrived while the daemon was stopping.',
  preauthorization_refused: 'Large requests refused by pre-authorization before decryption.',
  unbound_sender: 'Data messages (registration) whose sender id is not bound to the signing key.',
};

/** The metric name of a daemon_stats counter: `total` is the count of messages. */
export function daemonCounterMetric(name: CounterName): string {
  return `tscollective_daemon_${name === 'total' ? 'messages' : name}_total`;
}

const SECURITY_FAILURE = /^security\.(TSC_[A-Z0-9_]+)$/;
const SECURITY_WARNING = /^security\.warning\.(TSC_[A-Z0-9_]+)$/;
const STATUS = /^status\.(\d+)$/;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(values: Record<string, string>): string {
  const text = Object.entries(values).map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(',');
  return text === '' ? '' : `{${text}}`;
}

function number(value: number): string {
  return Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
}

/** Collects samples by metric family, each family with one HELP and TYPE line. */
class Exposition {
  private readonly families = new Map<string, { help: string; type: 'counter' | 'gauge'; samples: string[] }>();

  add(name: string, type: 'counter' | 'gauge', help: string, value: number, labelValues: Record<string, string> = {}): void {
    let family = this.families.get(name);
    if (!family) {
      family = { help, type, samples: [] };
      this.families.set(name, family);
    }
    family.samples.push(`${name}${labels(labelValues)} ${number(value)}`);
  }

  text(): string {
    const lines: string[] = [];
    for (const [name, family] of this.families) {
      lines.push(`# HELP ${name} ${family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${family.type}`, ...family.samples);
    }
    return `${lines.join('\n')}\n`;
  }
}

/** The exposition of one scrape. */
export function renderMetrics(snapshot: MetricsSnapshot): string {
  const out = new Exposition();
  out.add('tscollective_info', 'gauge', 'This daemon: its identity and version (the value is always 1).', 1, { identity: snapshot.identity, version: snapshot.version });
  out.add('tscollective_start_time_seconds', 'gauge', 'When the daemon started, in seconds since the epoch.', snapshot.starttime);
  out.add('tscollective_agents', 'gauge', 'Agents hosted.', snapshot.agents);
  out.add('tscollective_requests_in_flight', 'gauge', 'Requests being processed.', snapshot.inFlight);

  const daemonCounters = new Set<string>(Object.values(COUNTER));
  for (const name of Object.values(COUNTER)) {
    out.add(daemonCounterMetric(name), 'counter', DAEMON_COUNTER_HELP[name], snapshot.counters[name] ?? 0);
  }
  for (const [name, value] of Object.entries(snapshot.counters)) {
    if (daemonCounters.has(name)) continue;
    const warning = SECURITY_WARNING.exec(name);
    const failure = SECURITY_FAILURE.exec(name);
    const status = STATUS.exec(name);
    if (warning) out.add('tscollective_security_warnings_total', 'counter', 'Security warnings (accepted messages) by error code.', value, { code: warning[1]! });
    else if (failure) out.add('tscollective_security_failures_total', 'counter', 'Messages refused by the security provider, by error code.', value, { code: failure[1]! });
    else if (status) out.add('tscollective_replies_by_status_total', 'counter', 'Replies by RPC status code.', value, { status: status[1]! });
    else out.add('tscollective_events_total', 'counter', 'Every other counter of the daemon (connector, registration, audit, replay journal, agents), by name.', value, { counter: name });
  }

  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  out.add('process_cpu_seconds_total', 'counter', 'User and system CPU time spent, in seconds.', (cpu.user + cpu.system) / 1e6);
  out.add('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', memory.rss);
  out.add('process_start_time_seconds', 'gauge', 'When the process started, in seconds since the epoch.', Math.round(Date.now() / 1000 - process.uptime()));
  out.add('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use, in bytes.', memory.heapUsed);
  return out.text();
}
