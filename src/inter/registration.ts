/**
 * The registration store contract: what a collector keeps about every node that registers, and how discovery
 * asks it which nodes match a request filter. Backends: `sqlite` (embedded, the default), `postgresql` (one
 * store shared by several collectors) and `directory` (one JSON file per node, for small setups).
 * This module imports nothing: the filter types mirror RequestFilter (src/inter/message.ts) structurally, so a
 * RequestFilter is a RegistrationFilter.
 */

/** The backends a registration store can use (`plugin.registration.store`). */
export type RegistrationBackend = 'sqlite' | 'postgresql' | 'directory';

/** Comparison operators of a fact condition (MCollective's set). */
export type RegistrationFactOperator = '==' | '=~' | '!=' | '<' | '>' | '<=' | '>=';

/** One fact condition: numeric when both sides are numbers, else lexical; `=~` and `/regex/` values match by regex. */
export interface RegistrationFactFilter {
  fact: string;
  operator: RegistrationFactOperator;
  value: string;
}

/**
 * A request filter as the store evaluates it (a RequestFilter fits): identity entries are alternatives, every
 * other entry must hold. Entries written `/pattern/` match by (linear-time) regex; a missing list is empty.
 */
export interface RegistrationFilter {
  identity?: readonly string[];
  agent?: readonly string[];
  cf_class?: readonly string[];
  fact?: readonly RegistrationFactFilter[];
  /** Compound expressions such as `country=uk and (role=web or /db/) and not environment=dev`. */
  compound?: readonly string[];
}

/** Which nodes a query considers, besides its filter. */
export interface RegistrationQuery {
  filter?: RegistrationFilter;
  /** Only nodes that registered membership of this collective. */
  collective?: string;
  /** Only nodes last seen at or after this time (milliseconds since the epoch): the active ones. */
  seenSince?: number;
}

/** How old a node must be to be stale: not seen for `intervals` registration intervals of `interval` seconds. */
export interface StaleAge {
  /** The nodes' registration interval in seconds (> 0). */
  interval: number;
  /** How many intervals a node may miss; 3 when omitted. */
  intervals?: number;
  /** "Now" in milliseconds since the epoch; the store's clock when omitted. */
  now?: number;
}

/** One registration to record (an upsert keyed by identity). */
export interface RegistrationUpdate {
  /** The node's identity (its proven senderid). */
  identity: string;
  /** The collective the registration arrived in. */
  collective: string;
  /** `cert=<name>` of the key that proved the registration. */
  signer: string;
  /** How the sender was proved (a SenderProof such as `certificate`; `unknown` for records imported from old files). */
  senderProof: string;
  agents: readonly string[];
  /** Flattened facts; own properties only are read. */
  facts?: Readonly<Record<string, string>>;
  classes?: readonly string[];
  /** The collectives the node joined; `[collective]` when omitted (agentlist registrations carry none). */
  collectives?: readonly string[];
  /** When it was received, in milliseconds since the epoch; now when omitted. */
  time?: number;
  /**
   * For imports from another store: the node's history there. Used only when this store does not know the node
   * yet; otherwise firstSeen is kept and the count goes up by one, as for any registration.
   */
  history?: { firstSeen: number; registrations: number };
}

/** What the store knows about one node. Lists are sorted and free of duplicates. */
export interface RegisteredNode {
  readonly identity: string;
  readonly collective: string;
  readonly signer: string;
  readonly senderProof: string;
  readonly agents: readonly string[];
  /** Flattened facts in a null-prototype object: only facts the node registered are properties of it. */
  readonly facts: Readonly<Record<string, string>>;
  readonly classes: readonly string[];
  readonly collectives: readonly string[];
  /** Milliseconds since the epoch, by the collector's clock. */
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** How many registrations were recorded for this node. */
  readonly registrations: number;
}

/** What discovery needs of one node: its identity, how its registration was proved, and when it was last seen. */
export interface RegisteredIdentity {
  readonly identity: string;
  /** `cert=<name>` of the key that proved the node's last registration. */
  readonly signer: string;
  /** How that key proved the identity (`certificate`, `key-name`, `mapping`; `shared`: a key several servers share). */
  readonly senderProof: string;
  readonly lastSeen: number;
}

/** Which page of a `find` to read. */
export interface RegistrationPageRequest {
  /** Only identities sorting after this one (identities are ASCII, compared byte by byte); the first page when omitted. */
  after?: string;
  /** The most nodes on the page: a whole number from 1 to MAX_FIND_PAGE (10,000). */
  limit: number;
}

/** One page of a `find`, sorted by identity. */
export interface RegistrationPage {
  readonly nodes: readonly RegisteredIdentity[];
  /** Whether more nodes match after the last one on this page (ask again with `after` set to it). */
  readonly more: boolean;
}

/**
 * A registration store. Every method is asynchronous and rejects with RegistrationStoreError when the storage
 * fails, InvalidArgumentError for a malformed update or argument, and FilterSyntaxError for a malformed filter.
 */
export interface RegistrationStore {
  /** Which backend this is. */
  readonly backend: RegistrationBackend;
  /** Where the data lives, for logs (a path, or a URL without its password). */
  readonly location: string;
  /**
   * Records a registration: creates the node or replaces its data, keeping firstSeen and counting registrations.
   * Resolves once the record is committed (registrations arriving together may share one transaction).
   */
  record(update: RegistrationUpdate): Promise<RegisteredNode>;
  /** One node, or undefined. */
  get(identity: string): Promise<RegisteredNode | undefined>;
  /** The identities of the nodes the query selects, sorted. */
  query(query?: RegistrationQuery): Promise<string[]>;
  /**
   * The nodes the query selects, a page at a time, with how each was proved: what discovery over the network
   * answers. Rejects with InvalidArgumentError for a malformed page request.
   */
  find(query?: RegistrationQuery, page?: RegistrationPageRequest): Promise<RegistrationPage>;
  /** How many nodes the query selects. */
  count(query?: RegistrationQuery): Promise<number>;
  /** The identities of the stale nodes, sorted. */
  stale(age: StaleAge): Promise<string[]>;
  /** Removes the stale nodes; resolves to their identities, sorted. */
  expire(age: StaleAge): Promise<string[]>;
  /** Forgets a node; true when it was known. */
  remove(identity: string): Promise<boolean>;
  /** Releases the database handle or connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

/**
 * What a collecting daemon offers the agents that use its registration store (`registration`,
 * `registration_query`), through NodeView.registration: the open store, recording with failure handling, and the
 * window in which a node counts as active.
 */
export interface RegistrationCollectorView {
  /** The store, open for the daemon's lifetime (the daemon closes it on stop). */
  readonly store: RegistrationStore;
  /** Seconds after its last registration a node is stale: discovery leaves it out (`plugin.registration.stale_after`). */
  readonly staleAfterSeconds: number;
  /**
   * Records a registration. Resolves to the stored record once it is committed, or to undefined when the store
   * failed (the collector counted and logged it; the sender gets no acknowledgement and sends it again); rejects
   * with InvalidArgumentError for a malformed registration.
   */
  record(update: RegistrationUpdate): Promise<RegisteredNode | undefined>;
}
