/**
 * TEST DOUBLE ONLY (never shipped): a SecurityProvider with the aes_security contract's
 * observable behaviour and none of its cryptography, so the daemon pipeline can be tested in
 * isolation. Messages are JSON; a request is "signed" with an HMAC under a per-caller secret
 * the test hands both sides, so a forged or unknown sender fails like the real provider does.
 */
import { createHmac } from 'node:crypto';
import {
  BadSignatureError, ExpiredError, MalformedMessageError, ReplayedError, UnknownSenderError,
} from '../../src/errors.js';
import type { DecodedReply, DecodedRequest, OutgoingReply, OutgoingRequest } from '../../src/inter/message.js';
import type { SecurityProvider } from '../../src/inter/security.js';

interface WireRequest {
  kind: 'request';
  caller: string;
  mac: string;
  request: Required<Omit<OutgoingRequest, 'msgtime'>> & { msgtime: number };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function mac(secret: string, payload: unknown): string {
  return createHmac('sha256', secret).update(JSON.stringify(payload)).digest('hex');
}

/** A fake provider: `name` is this side's identity, `secrets` the callers it knows (name -> secret). */
export class FakeSecurity implements SecurityProvider {
  readonly name = 'fake_security';
  reloads = 0;
  private readonly seen = new Set<string>();

  constructor(
    private readonly identityName: string,
    private readonly secrets: Map<string, string>,
    private readonly now: () => number = Date.now,
  ) {}

  validate(): string[] {
    return this.secrets.has(this.identityName) ? [] : [`fake_security: no secret for own identity ${this.identityName}`];
  }

  callerid(): string {
    return `cert=${this.identityName}`;
  }

  encodeRequest(request: OutgoingRequest): Uint8Array {
    const full = { ...request, msgtime: request.msgtime ?? Math.floor(this.now() / 1000) };
    const wire: WireRequest = { kind: 'request', caller: this.identityName, mac: mac(this.secrets.get(this.identityName)!, full), request: full };
    return encoder.encode(JSON.stringify(wire));
  }

  decodeRequest(bytes: Uint8Array): DecodedRequest {
    let wire: WireRequest;
    try {
      wire = JSON.parse(decoder.decode(bytes)) as WireRequest;
    } catch (error) {
      throw new MalformedMessageError('not JSON', { cause: error });
    }
    if (wire?.kind !== 'request' || typeof wire.caller !== 'string') throw new MalformedMessageError('not a request');
    const secret = this.secrets.get(wire.caller);
    if (!secret) throw new UnknownSenderError(`no key for ${wire.caller}`);
    if (mac(secret, wire.request) !== wire.mac) throw new BadSignatureError(`signature of ${wire.caller} does not verify`);
    const { request } = wire;
    if (Math.floor(this.now() / 1000) - request.msgtime > request.ttl) throw new ExpiredError(`request ${request.requestid} expired`);
    const key = `${wire.caller}/${request.requestid}`;
    if (this.seen.has(key)) throw new ReplayedError(`request ${request.requestid} replayed`);
    this.seen.add(key);
    return { ...request, callerid: `cert=${wire.caller}`, senderProof: wire.caller === request.senderid ? 'key-name' : 'none', warnings: [], replyContext: wire.caller };
  }

  encodeReply(reply: OutgoingReply, request: DecodedRequest): Uint8Array {
    return encoder.encode(JSON.stringify({ kind: 'reply', to: request.replyContext, requestid: request.requestid, signer: this.identityName, reply: { ...reply, msgtime: reply.msgtime ?? Math.floor(this.now() / 1000) } }));
  }

  decodeReply(bytes: Uint8Array): DecodedReply {
    const wire = JSON.parse(decoder.decode(bytes)) as { kind: string; to: string; requestid: string; signer: string; reply: Required<OutgoingReply> };
    if (wire.kind !== 'reply') throw new MalformedMessageError('not a reply');
    return { requestid: wire.requestid, senderid: wire.reply.senderid, senderagent: wire.reply.senderagent, msgtime: wire.reply.msgtime, body: wire.reply.body, signer: `cert=${wire.signer}`, senderProof: wire.signer === wire.reply.senderid ? 'key-name' : 'none' };
  }

  forgetRequest(): void {}

  reload(): void {
    this.reloads++;
  }
}
