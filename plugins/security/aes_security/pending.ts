/**
 * Requests this client is waiting on, with the reply key material each needs (the X25519 private key in
 * ephemeral mode lives only here, in memory, so a captured reply cannot be decrypted once it is forgotten).
 */
import type { KeyObject } from 'node:crypto';

/** Reply key material of one outstanding request. */
export interface PendingRequest {
  mode: 'rsa' | 'ephemeral';
  privateKey?: KeyObject;
  /** Our raw X25519 public key (part of the reply key derivation). */
  publicKey?: Uint8Array;
  expiresAt: number;
}

/** Bounded map of outstanding requests; entries expire on their own if the client never forgets them. */
export class PendingRequests {
  private readonly entries = new Map<string, PendingRequest>();

  /**
   * @param now clock in ms
   * @param capacity most outstanding requests kept; the oldest is dropped beyond it
   * @param graceMs how long after its ttl a request still accepts replies (clients wait for `-t` seconds)
   */
  constructor(private readonly now: () => number, private readonly capacity = 100000, private readonly graceMs = 600_000) {}

  /** Records a request's reply material. */
  add(requestid: string, material: { mode: 'rsa' } | { mode: 'ephemeral'; privateKey: KeyObject; publicKey: Uint8Array }, ttlSeconds: number): void {
    const now = this.now();
    for (const [id, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(id);
    }
    const entry: PendingRequest = { mode: material.mode, expiresAt: now + ttlSeconds * 1000 + this.graceMs };
    if (material.mode === 'ephemeral') {
      entry.privateKey = material.privateKey;
      entry.publicKey = material.publicKey;
    }
    this.entries.delete(requestid);
    this.entries.set(requestid, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** The request's material, or undefined when unknown, forgotten or expired. */
  get(requestid: string): PendingRequest | undefined {
    const entry = this.entries.get(requestid);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(requestid);
      return undefined;
    }
    return entry;
  }

  /** Forgets a request: later replies to it are refused. */
  delete(requestid: string): void {
    this.entries.delete(requestid);
  }
}
