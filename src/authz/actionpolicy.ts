/**
 * The `action_policy` authorization provider (`rpcauthorization = 1`,
 * `rpcauthprovider = action_policy`). Looks up `<policy_dir>/<agent>.policy`; without one, uses
 * `<policy_dir>/<default_name>.policy` when `plugin.actionpolicy.enable_default` is set; without
 * either, allows only when `plugin.actionpolicy.allow_unconfigured` is set. A policy file that
 * does not parse denies everything (fail closed) and is logged once per change.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ConfigView } from '../inter/config.js';
import type { Logger } from '../inter/logger.js';
import { evaluatePolicy, parsePolicy, policyMayAllow, type Policy, type PolicySubject } from './policy.js';

/** Settings of the action policy provider. */
export interface ActionPolicyOptions {
  policyDir: string;
  enableDefault: boolean;
  defaultName: string;
  allowUnconfigured: boolean;
}

/** What the authorizer is asked. */
export interface AuthorizationRequest extends PolicySubject {
  agent: string;
}

/** An authorization decision and why. */
export interface AuthorizationDecision {
  allowed: boolean;
  reason: string;
}

interface CachedPolicy {
  mtimeMs: number;
  size: number;
  policy: Policy | Error;
}

/** Authorizes requests with MCollective action policy files. */
export class ActionPolicyAuthorizer {
  private readonly cache = new Map<string, CachedPolicy>();

  constructor(readonly options: ActionPolicyOptions, private readonly logger: Logger) {}

  /**
   * Reads the provider's settings: `plugin.actionpolicy.policy_dir` (when empty: `policies/`
   * next to the configuration file), `enable_default`, `default_name` (default `default`),
   * `allow_unconfigured`.
   */
  static fromConfig(config: ConfigView, logger: Logger): ActionPolicyAuthorizer {
    const configured = config.string('plugin.actionpolicy.policy_dir');
    const policyDir = configured && configured !== '' ? configured : join(dirname(config.source), 'policies');
    return new ActionPolicyAuthorizer(
      {
        policyDir,
        enableDefault: config.boolean('plugin.actionpolicy.enable_default'),
        defaultName: config.string('plugin.actionpolicy.default_name') || 'default',
        allowUnconfigured: config.boolean('plugin.actionpolicy.allow_unconfigured'),
      },
      logger,
    );
  }

  private load(path: string): Policy | Error | undefined {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      this.cache.delete(path);
      return undefined;
    }
    const cached = this.cache.get(path);
    if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.policy;
    let policy: Policy | Error;
    try {
      policy = parsePolicy(readFileSync(path, 'utf8'), path);
    } catch (error) {
      policy = error as Error;
      this.logger.error({ err: error, policy: path }, `policy file ${path} is invalid; denying every request it governs`);
    }
    this.cache.set(path, { mtimeMs: stat.mtimeMs, size: stat.size, policy });
    return policy;
  }

  /** The policy governing `agent` (its own file, else the default one when enabled), or undefined when none exists. */
  private governing(agent: string): { path: string; policy: Policy | Error } | undefined {
    const candidates = [join(this.options.policyDir, `${agent}.policy`)];
    if (this.options.enableDefault) candidates.push(join(this.options.policyDir, `${this.options.defaultName}.policy`));
    for (const path of candidates) {
      const policy = this.load(path);
      if (policy !== undefined) return { path, policy };
    }
    return undefined;
  }

  /** Decides whether `request.callerid` may call `request.agent`#`request.action` on this node. */
  authorize(request: AuthorizationRequest): AuthorizationDecision {
    const governing = this.governing(request.agent);
    if (governing === undefined) {
      return this.options.allowUnconfigured
        ? { allowed: true, reason: 'no policy file; allow_unconfigured' }
        : { allowed: false, reason: `no policy file for agent ${request.agent} in ${this.options.policyDir}` };
    }
    if (governing.policy instanceof Error) return { allowed: false, reason: `${governing.path} is invalid` };
    return evaluatePolicy(governing.policy, request);
  }

  /**
   * Whether any request of `callerid` to `agent` could be allowed, whatever its action, the node's facts and
   * classes: pre-authorization asks this before a large payload is decrypted and deserialized. False only when
   * `authorize` would deny every such request (an invalid policy, no policy without allow_unconfigured, no allow
   * rule for the caller before an unconditional deny of it, and no default allow).
   */
  mayCall(callerid: string, agent: string): boolean {
    const governing = this.governing(agent);
    if (governing === undefined) return this.options.allowUnconfigured;
    if (governing.policy instanceof Error) return false;
    return policyMayAllow(governing.policy, callerid);
  }

  /** Forgets cached policies (SIGHUP); files are also re-read whenever they change. */
  reload(): void {
    this.cache.clear();
  }
}
