/**
 * TEST DOUBLE ONLY (never shipped): a SecurityProvider with the aes_security contract's
 * observable behaviour and none of its cryptography, so the daemon pipeline can be tested in
 * isolation. Messages are JSON; a request is "signed" with an HMAC under a per-caller secret
 * the test hands both sides, so a forged or unknown sender fails like the real provider does.
 * The payload (filter and body) travels as a separate JSON text that is parsed only after the
 * signature verified and `options.precheck` passed (as the real provider decrypts and deserializes
 * only then); `deserialized` counts the payloads it parsed. The sender proof is exact: `key-name`
 * when the signer's name is the senderid, `shared` when the signer is one of `sharedKeys`, else `none`.
 */
import { createHmac } from 'node:crypto';
import {
  BadSignatureError, ExpiredError, MalformedMessageError, NotAddressedToUsError, ReplayedError, UnknownSenderError,
} from '../../src/errors.js';
import type { DecodedReply, DecodedRequest, OutgoingReply, OutgoingRequest } from '../../src/inter/message.js';
import type { DecodeRequestOptions, EncodedRequest, ReplyHandleLookup, SecurityProvider } from '../../src/inter/security.js';

type Envelope = Omit<Required<OutgoingRequest>, 'filter' | 'body'>;

interface WireRequest {
  kind: 'request';
  caller: string;
  mac: string;
  envelope: Envelope;
  /** JSON text of {filter, body}. */
  payload: string;
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
  /** Payloads parsed by decodeRequest (after the precheck). */
  deserialized = 0;
  private readonly seen = new Set<string>();

  constructor(
    private readonly identityName: string,
    private readonly secrets: Map<string, string>,
    private readonly now: () => number = Date.now,
    /** Key names several servers share (the seed's scenarios 3 and 4): their messages prove no sender name. */
    private readonly sharedKeys: ReadonlySet<string> = new Set(),
  ) {}

  validate(): string[] {
    return this.secrets.has(this.identityName) ? [] : [`fake_security: no secret for own identity ${this.identityName}`];
  }

  callerid(): string {
    return `cert=${this.identityName}`;
  }

  encodeRequest(request: OutgoingRequest): EncodedRequest {
    const { filter, body, ...rest } = request;
    const envelope: Envelope = { ...rest, msgtime: request.msgtime ?? Math.floor(this.now() / 1000) };
    const payload = JSON.stringify({ filter, body });
    const wire: WireRequest = { kind: 'request', caller: this.identityName, mac: mac(this.secrets.get(this.identityName)!, [envelope, payload]), envelope, payload };
    return { wire: encoder.encode(JSON.stringify(wire)), handle: { requestid: request.requestid } };
  }

  decodeRequest(bytes: Uint8Array, options: DecodeRequestOptions = {}): DecodedRequest {
    let wire: WireRequest;
    try {
      wire = JSON.parse(decoder.decode(bytes)) as WireRequest;
    } catch (error) {
      throw new MalformedMessageError('not JSON', { cause: error });
    }
    if (wire?.kind !== 'request' || typeof wire.caller !== 'string' || typeof wire.payload !== 'string') throw new MalformedMessageError('not a request');
    const secret = this.secrets.get(wire.caller);
    if (!secret) throw new UnknownSenderError(`no key for ${wire.caller}`);
    if (mac(secret, [wire.envelope, wire.payload]) !== wire.mac) throw new BadSignatureError(`signature of ${wire.caller} does not verify`);
    const { envelope } = wire;
    if (Math.floor(this.now() / 1000) - envelope.msgtime > envelope.ttl) throw new ExpiredError(`request ${envelope.requestid} expired`);
    const key = `${wire.caller}/${envelope.requestid}`;
    if (this.seen.has(key)) throw new ReplayedError(`request ${envelope.requestid} replayed`);
    this.seen.add(key);
    const callerid = `cert=${wire.caller}`;
    options.precheck?.({
      requestid: envelope.requestid, callerid, senderid: envelope.senderid, agent: envelope.agent, collective: envelope.collective,
      payloadBytes: Buffer.byteLength(wire.payload),
    });
    this.deserialized++;
    const { filter, body } = JSON.parse(wire.payload) as Pick<OutgoingRequest, 'filter' | 'body'>;
    return {
      ...envelope, filter, body, callerid, warnings: [], replyContext: wire.caller,
      senderProof: wire.caller === envelope.senderid ? 'key-name' : this.sharedKeys.has(wire.caller) ? 'shared' : 'none',
    };
  }

  encodeReply(reply: OutgoingReply, request: DecodedRequest): Uint8Array {
    return encoder.encode(JSON.stringify({ kind: 'reply', to: request.replyContext, requestid: request.requestid, signer: this.identityName, reply: { ...reply, msgtime: reply.msgtime ?? Math.floor(this.now() / 1000) } }));
  }

  decodeReply(bytes: Uint8Array, handles: ReplyHandleLookup): DecodedReply {
    const wire = JSON.parse(decoder.decode(bytes)) as { kind: string; to: string; requestid: string; signer: string; reply: Required<OutgoingReply> };
    if (wire.kind !== 'reply') throw new MalformedMessageError('not a reply');
    if (handles(wire.requestid)?.requestid !== wire.requestid) throw new NotAddressedToUsError(`reply to ${wire.requestid}, which this side is not waiting for`);
    if (!this.secrets.has(wire.signer)) throw new UnknownSenderError(`no key for the replier ${wire.signer}`);
    return { requestid: wire.requestid, senderid: wire.reply.senderid, senderagent: wire.reply.senderagent, msgtime: wire.reply.msgtime, body: wire.reply.body, signer: `cert=${wire.signer}`, senderProof: wire.signer === wire.reply.senderid ? 'key-name' : 'none' };
  }

  reload(): void {
    this.reloads++;
  }
}
