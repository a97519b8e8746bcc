/** The fleet of the registration bench: node `index` with 60 facts, about 10 classes and 8 agents, the same every run. */
import type { RegistrationUpdate } from '../src/inter/registration.js';

const NOW = Date.now();

/** Deterministic pseudo-random numbers, so every backend sees the same fleet. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COUNTRIES = ['uk', 'de', 'us', 'fr', 'nl'];
const ROLES = ['web', 'db', 'cache', 'queue', 'batch', 'proxy', 'search', 'mail', 'dns', 'monitor'];
const AGENTS = ['rpcutil', 'discovery', 'package', 'service', 'puppet', 'filemgr', 'nrpe', 'process', 'shell', 'iptables', 'nettest', 'facts', 'registration', 'sshkey', 'cron'];

/** Node `index` with 60 facts, about 10 classes and 8 agents; `generation` changes the volatile facts. */
export function registration(index: number, generation = 0): RegistrationUpdate {
  const random = generator(index * 7919 + 17);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const identity = `node${String(index).padStart(5, '0')}.example.com`;
  const role = pick(ROLES);
  const facts: Record<string, string> = {
    hostname: identity.split('.')[0]!, fqdn: identity, domain: 'example.com', country: pick(COUNTRIES), role,
    environment: pick(['production', 'staging', 'dev']), datacenter: pick(['dc1', 'dc2', 'dc3', 'dc4']),
    os: pick(['debian', 'ubuntu', 'centos']), osfamily: pick(['Debian', 'RedHat']), kernelrelease: pick(['5.10.0-28', '6.1.0-18', '4.18.0-513']),
    processorcount: String(pick([2, 4, 8, 16, 32])), memorysize_mb: String(pick([2048, 4096, 8192, 16384, 65536])),
    ipaddress: `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`, macaddress: `02:00:00:${(index >> 16).toString(16)}:${((index >> 8) & 255).toString(16)}:${(index & 255).toString(16)}`,
    uptime_seconds: String(Math.floor(random() * 10_000_000) + generation * 300), memoryfree_mb: String(Math.floor(random() * 60000) + generation),
    load_average: (random() * 4).toFixed(2), puppet_last_run: String(1_700_000_000 + generation * 1800),
  };
  for (let i = 0; Object.keys(facts).length < 60; i++) facts[`custom.fact_${String(i).padStart(2, '0')}`] = random() < 0.5 ? String(Math.floor(random() * 1000)) : pick(['alpha', 'beta', 'gamma', 'delta', 'on', 'off']);
  const classes = ['base', `role::${role}`, `profile::${pick(ROLES)}`, `profile::${pick(ROLES)}`, ...Array.from({ length: 6 }, () => `module_${Math.floor(random() * 40)}`)];
  const agents = ['rpcutil', 'discovery', ...Array.from({ length: 6 }, () => pick(AGENTS))];
  return {
    identity, collective: 'mcollective', signer: `cert=${identity}`, senderProof: 'certificate', agents, classes, facts,
    collectives: ['mcollective', facts['country']!], time: NOW - 1000 + generation,
  };
}

