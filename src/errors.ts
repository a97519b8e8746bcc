/**
 * The single error catalogue. Every failure the project reports has a class here with a stable
 * `code` (documented in docs/errors.md), a `name` equal to the class name, and an optional `cause`.
 */

/** Base class of every tscollective error. */
export class TscError extends Error {
  /** Stable machine-readable code, for example `TSC_SEC_EXPIRED`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

// ---- configuration -------------------------------------------------------------------------

/** The configuration has one or more problems; `problems` lists every one. */
export class ConfigError extends TscError {
  readonly problems: readonly string[];
  /** Warnings found along the way (unknown keys with their "did you mean"). */
  readonly warnings: readonly string[];
  /**
   * The configuration without its invalid settings (their defaults apply), when the loader could build one,
   * so later stages (provider, connector, daemon checks) can report their problems in the same list.
   */
  readonly partial?: unknown;
  constructor(problems: readonly string[], options?: { cause?: unknown; warnings?: readonly string[]; partial?: unknown }) {
    super('TSC_CONFIG_INVALID', `configuration has ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`, options);
    this.problems = problems;
    this.warnings = options?.warnings ?? [];
    if (options?.partial !== undefined) this.partial = options.partial;
  }
}

/** A plugin name (security provider, connector, serializer, ...) is not registered. */
export class UnknownPluginError extends TscError {
  constructor(kind: string, name: string, known: readonly string[]) {
    super('TSC_UNKNOWN_PLUGIN', `unknown ${kind} ${JSON.stringify(name)}; known: ${known.join(', ') || '(none)'}`);
  }
}

/** An argument to a function was not of the expected shape; the message names the argument. */
export class InvalidArgumentError extends TscError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TSC_INVALID_ARGUMENT', message, options);
  }
}

// ---- serialization ---------------------------------------------------------------------------

/** Data could not be serialized or deserialized (unsafe YAML tag, truncated msgpack, ...). */
export class SerializationError extends TscError {
  /** True when the data is well-formed so far but passes a structure limit (values, nesting, aliases). */
  readonly limitExceeded: boolean;
  constructor(message: string, options?: { cause?: unknown; limitExceeded?: boolean }) {
    super('TSC_SERIALIZATION', message, options);
    this.limitExceeded = options?.limitExceeded ?? false;
  }
}

// ---- security ----------------------------------------------------------------------------------

/** Base class of every message the security provider refuses. Decode APIs throw only these. */
export class SecurityError extends TscError {}

/** The request is older than its TTL. */
export class ExpiredError extends SecurityError {
  constructor(message: string) { super('TSC_SEC_EXPIRED', message); }
}

/** The request's msgtime is further in the future than the allowed clock skew. */
export class FutureDatedError extends SecurityError {
  constructor(message: string) { super('TSC_SEC_FUTURE_DATED', message); }
}

/** The request id was already seen from this caller within its validity window. */
export class ReplayedError extends SecurityError {
  constructor(message: string) { super('TSC_SEC_REPLAYED', message); }
}

/** The signature or authentication tag does not verify. */
export class BadSignatureError extends SecurityError {
  constructor(message: string, options?: { cause?: unknown }) { super('TSC_SEC_BAD_SIGNATURE', message, options); }
}

/** No usable public key is known for the sender (and none could be learned). */
export class UnknownSenderError extends SecurityError {
  constructor(message: string, options?: { cause?: unknown }) { super('TSC_SEC_UNKNOWN_SENDER', message, options); }
}

/** The sender's certificate does not verify against the configured CA, or its CN does not match. */
export class CaRejectedError extends SecurityError {
  constructor(message: string, options?: { cause?: unknown }) { super('TSC_SEC_CA_REJECTED', message, options); }
}

/**
 * The key that signed a message (or that a message carries to be learned) is revoked: its key id or certificate
 * serial is in `plugin.aes.revoked_keys`, or its certificate's serial is in the CA's CRL (`plugin.aes.ca_crl`).
 */
export class RevokedKeyError extends SecurityError {
  constructor(message: string) { super('TSC_SEC_REVOKED', message); }
}

/** The message is encrypted to someone else, or answers a request this client did not send (or forgot). */
export class NotAddressedToUsError extends SecurityError {
  constructor(message: string) { super('TSC_SEC_NOT_FOR_US', message); }
}

/**
 * A reply (or a server-initiated request such as registration) claims a sender identity that its signing key is not
 * bound to: the signer's name is not senderid, its certificate does not name it, and no mapping allows it.
 */
export class IdentityMismatchError extends SecurityError {
  constructor(message: string) { super('TSC_SEC_IDENTITY_MISMATCH', message); }
}

/**
 * Pre-authorization refused a request before its payload was decrypted and deserialized: the payload is large and no
 * policy line could allow the (verified) caller to call the agent at all, whatever the action and facts.
 */
export class PreauthorizationError extends SecurityError {
  constructor(message: string) { super('TSC_SEC_UNAUTHORIZED', message); }
}

/**
 * A server could not record an accepted request in its replay journal (disk full, I/O error, unopenable file):
 * the request is refused, because running it could not be protected against a replay after a restart.
 */
export class ReplayJournalError extends SecurityError {
  constructor(message: string, options?: { cause?: unknown }) { super('TSC_SEC_REPLAY_JOURNAL', message, options); }
}

/**
 * A message is bigger than `max_message_size`, or its payload holds more values or deeper nesting than
 * `plugin.aes.max_payload_items` / `max_payload_depth` allow; refused before it is decrypted or deserialized.
 */
export class PayloadLimitError extends SecurityError {
  constructor(message: string) { super('TSC_SEC_PAYLOAD_LIMIT', message); }
}

/**
 * A protocol version 1 (MCollective 2.x `aes_security`) message this side does not accept: legacy mode is off
 * (`plugin.aes.legacy = 0`), or the caller is not one `plugin.aes.legacy_callers` lets use version 1.
 */
export class LegacyRefusedError extends SecurityError {
  constructor(message: string) { super('TSC_SEC_LEGACY_REFUSED', message); }
}

/** The message could not be parsed: wrong framing, missing or mistyped fields, unsupported version. */
export class MalformedMessageError extends SecurityError {
  constructor(message: string, options?: { cause?: unknown }) { super('TSC_SEC_MALFORMED', message, options); }
}

/** A key file is missing, unreadable, unparseable, too weak or too widely readable. */
export class KeyFileError extends TscError {
  constructor(message: string, options?: { cause?: unknown }) { super('TSC_KEY_FILE', message, options); }
}

// ---- middleware -------------------------------------------------------------------------------

/**
 * Why a connection attempt failed, as far as the connector can tell: nothing listens (`refused`), the host name
 * does not resolve (`unresolved`), no answer in time (`timeout`), the TLS handshake failed on either side (`tls`),
 * the broker refused the credentials or the virtual host (`auth`), anything else (`other`).
 */
export type ConnectFailureReason = 'refused' | 'unresolved' | 'timeout' | 'tls' | 'auth' | 'other';

/** The connector could not reach any broker, or lost the connection for longer than allowed. */
export class ConnectionError extends TscError {
  /** Why the attempt failed, when the connector knows (set on the errors of single attempts and on give-ups). */
  readonly reason: ConnectFailureReason | undefined;
  constructor(message: string, options?: { cause?: unknown; reason?: ConnectFailureReason }, code = 'TSC_CONNECTION') {
    super(code, message, options);
    this.reason = options?.reason;
  }
}

/** The code of a BrokerUnavailableError for each reason. */
const BROKER_UNAVAILABLE_CODES: Readonly<Record<ConnectFailureReason, string>> = Object.freeze({
  refused: 'TSC_BROKER_REFUSED',
  unresolved: 'TSC_BROKER_UNRESOLVED',
  timeout: 'TSC_BROKER_TIMEOUT',
  tls: 'TSC_BROKER_TLS',
  auth: 'TSC_BROKER_AUTH',
  other: 'TSC_BROKER_UNAVAILABLE',
});

/**
 * A connector gave up connecting: the attempts (max_reconnect_attempts), a client's connect budget, or a
 * permanent refusal (authentication, TLS) from every broker of the pool. The code says why (`reason`), the
 * message names the broker and what it said, on one line.
 */
export class BrokerUnavailableError extends ConnectionError {
  /** `host:port` of the broker tried last. */
  readonly broker: string;
  /** Connection attempts made. */
  readonly attempts: number;
  constructor(message: string, details: { reason: ConnectFailureReason; broker: string; attempts: number }, options?: { cause?: unknown }) {
    super(message, { ...options, reason: details.reason }, BROKER_UNAVAILABLE_CODES[details.reason]);
    this.broker = details.broker;
    this.attempts = details.attempts;
  }
}

/**
 * A message is larger than `max_message_size`: a publish of such a body fails at once with this error. Inbound
 * ones are dropped by the connector before their body is buffered, counted (`connector.<name>.oversize`), never thrown.
 */
export class MessageTooLargeError extends TscError {
  constructor(message: string) { super('TSC_MESSAGE_TOO_LARGE', message); }
}

/** A publish could not be handed to the broker (disconnected past the wait bound, nacked, closed). */
export class PublishError extends TscError {
  constructor(message: string, options?: { cause?: unknown }) { super('TSC_PUBLISH', message, options); }
}

// ---- RPC ------------------------------------------------------------------------------------

/** A client-side RPC failure (no responses, discovery failed, bad arguments). */
export class RpcError extends TscError {
  constructor(message: string, options?: { cause?: unknown }) { super('TSC_RPC', message, options); }
}

// ---- daemon, agents, filters, authorization, registration ------------------------------------

/** A filter string (fact filter, compound expression, /regex/) does not parse; the message says where. */
export class FilterSyntaxError extends TscError {
  constructor(message: string, options?: { cause?: unknown }) { super('TSC_FILTER_SYNTAX', message, options); }
}

/** An agent definition (defineAgent) or an agent module is invalid; `problems` lists every one. */
export class AgentDefinitionError extends TscError {
  readonly problems: readonly string[];
  constructor(agent: string, problems: readonly string[], options?: { cause?: unknown }) {
    super('TSC_AGENT_DEFINITION', `agent ${JSON.stringify(agent)} is invalid:\n  - ${problems.join('\n  - ')}`, options);
    this.problems = problems;
  }
}

/**
 * An agent description (DDL) is invalid: one from an agent module, an external agent's JSON file, the client's cache
 * or a server's reply. `problems` lists every one; `source` names where it came from.
 */
export class AgentDescriptionError extends TscError {
  readonly problems: readonly string[];
  readonly source: string;
  constructor(source: string, problems: readonly string[], options?: { cause?: unknown }) {
    super('TSC_AGENT_DESCRIPTION', `agent description from ${source} is invalid:\n  - ${problems.join('\n  - ')}`, options);
    this.problems = problems;
    this.source = source;
  }
}

/** An action reported a non-OK RPC status on purpose (ctx.fail); `statuscode` is the RPC status. */
export class ActionFailedError extends TscError {
  readonly statuscode: number;
  constructor(statuscode: number, message: string, options?: { cause?: unknown }) {
    super('TSC_ACTION_FAILED', message, options);
    this.statuscode = statuscode;
  }
}

/** An action policy file does not parse; the message names the file and line. */
export class PolicyError extends TscError {
  constructor(message: string, options?: { cause?: unknown }) { super('TSC_POLICY', message, options); }
}

/** A facts or classes source could not be read or parsed. */
export class FactsError extends TscError {
  constructor(message: string, options?: { cause?: unknown }) { super('TSC_FACTS', message, options); }
}

/** The registration store could not read or write a node record. */
export class RegistrationStoreError extends TscError {
  constructor(message: string, options?: { cause?: unknown }) { super('TSC_REGISTRATION_STORE', message, options); }
}

/** The daemon's Prometheus endpoint (`plugin.prometheus.port`) could not listen: address in use, not local, or no permission. */
export class MetricsEndpointError extends TscError {
  constructor(message: string, options?: { cause?: unknown }) { super('TSC_METRICS_ENDPOINT', message, options); }
}
