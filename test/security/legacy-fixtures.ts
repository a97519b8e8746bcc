/** Shared fixtures of the protocol version 1 tests: the captured Ruby frames, their keys, Ruby's decoding. */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

const root = new URL('../../../', import.meta.url);

/** A file of the repository, by its path from the root. */
export function repoFile(path: string): Buffer {
  return readFileSync(new URL(path, root));
}

/** The two serializers the frames were captured in. */
export const SERIALIZERS = ['yaml', 'marshal'] as const;
/** The captured frames, per serializer. */
export const FRAMES = ['request-rpcutil-ping', 'request-discovery-ping', 'reply-rpcutil-ping', 'reply-discovery-pong'] as const;

/** A captured frame's body bytes. */
export function frame(serializer: string, name: string): Buffer {
  return repoFile(`test/fixtures/interop/${serializer}/${name}.body`);
}

/** Ruby's decoding of each frame of `serializer` (decoded.txt): name -> { bytes, kind, inspect }. */
export function rubyDecoding(serializer: string): Map<string, { bytes: number; kind: string; inspect: string }> {
  const out = new Map<string, { bytes: number; kind: string; inspect: string }>();
  for (const line of repoFile(`test/fixtures/interop/${serializer}/decoded.txt`).toString('utf8').split('\n')) {
    const match = /^(\S+)\.body \((\d+) bytes, (\w+)\): (.*)$/.exec(line);
    if (match) out.set(match[1]!, { bytes: Number(match[2]), kind: match[3]!, inspect: match[4]! });
  }
  return out;
}

const key = (file: string, isPrivate: boolean): KeyObject => {
  const pem = repoFile(`test/fixtures/interop/keys/${file}`);
  return isPrivate ? createPrivateKey(pem) : createPublicKey(pem);
};

/** The fixture keys: client alice and the server. */
export const KEYS = {
  alicePrivate: key('alice-private.pem', true),
  alicePublic: key('alice.pem', false),
  alicePem: repoFile('test/fixtures/interop/keys/alice.pem').toString('utf8'),
  serverPrivate: key('server-private.pem', true),
  serverPublic: key('server.pem', false),
};

/** A clock (ms) a few seconds after the frames were captured. */
export const CAPTURE_CLOCK_MS = 1796027195_000;

/** Resolves callerid names to the fixture keys, as a server's client_cert_dir would. */
export function callerKeys(name: string): KeyObject | null {
  return name === 'alice' ? KEYS.alicePublic : name === 'server' ? KEYS.serverPublic : null;
}
