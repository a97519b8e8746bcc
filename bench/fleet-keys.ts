/**
 * Keys of the fleet bench: one RSA pair for the client (`fleet-client`) and one per virtual server
 * (`fleet-node-<i>`), generated once into a cache directory and reused by later runs (generating a thousand
 * 2048-bit pairs takes tens of seconds), and the per-run trust directories built from them.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairFiles } from '../src/keys/index.js';

/** A named key pair's files. */
export interface FleetPair {
  name: string;
  privatePath: string;
  publicPath: string;
}

/** Where generated keys are kept between runs (TSC_FLEET_KEYS overrides it). */
export function fleetKeyCache(): string {
  return process.env.TSC_FLEET_KEYS ?? join(tmpdir(), 'tscollective-fleet-keys');
}

/** The identity (and key name) of virtual server `index`. */
export function nodeName(index: number): string {
  return `fleet-node-${index}`;
}

/** The client's identity and key name. */
export const CLIENT_NAME = 'fleet-client';

/** A key pair's files, as generateKeyPairFiles names them in `dir`. */
function pairIn(dir: string, name: string): FleetPair {
  return { name, privatePath: join(dir, `${name}-private.pem`), publicPath: join(dir, `${name}.pem`) };
}

/** The client's pair and `count` server pairs, generating the missing ones (a few at a time). */
export async function fleetKeys(count: number, dir = fleetKeyCache(), log: (line: string) => void = () => {}): Promise<{ client: FleetPair; nodes: FleetPair[] }> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const names = [CLIENT_NAME, ...Array.from({ length: count }, (_, index) => nodeName(index))];
  const missing = names.filter((name) => !existsSync(join(dir, `${name}-private.pem`)) || !existsSync(join(dir, `${name}.pem`)));
  if (missing.length > 0) log(`generating ${missing.length} RSA key pair(s) into ${dir} (once; later runs reuse them)`);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < missing.length; index = next++) await generateKeyPairFiles(missing[index]!, { dir });
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  const [client, ...nodes] = names.map((name) => pairIn(dir, name));
  return { client: client!, nodes };
}

/** Copies the public keys of `pairs` into `dir` (a trust directory of the run). */
export function trustDirectory(dir: string, pairs: readonly FleetPair[]): string {
  mkdirSync(dir, { recursive: true });
  for (const pair of pairs) copyFileSync(pair.publicPath, join(dir, `${pair.name}.pem`));
  return dir;
}
