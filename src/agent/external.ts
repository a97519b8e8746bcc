/**
 * External agents, in any language (as Choria has them): an executable plus its JSON description. The daemon runs
 * the executable once per request, in its own process group, with the request as one JSON document on standard
 * input, and reads the reply as one JSON document from standard output. Inputs were validated against the
 * description before it runs; the reply's outputs are checked after. Failures map to RPC status codes:
 * a timeout kills the process group (SIGTERM, then SIGKILL) and is status 1; a non-zero exit, a signal,
 * output that is not JSON, larger than the bound or not matching the declared outputs is status 5.
 */
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { ActionFailedError } from '../errors.js';
import type { Logger } from '../inter/logger.js';
import { StatusCode } from '../inter/message.js';
import { LogLimiter } from '../util/log-limiter.js';
import type { AgentDdl } from './ddl.js';
import { checkActionOutputs } from './outputs.js';
import type { ActionContext, ActionOutput, ActionSpec } from './types.js';

/** The protocol name in every request an external agent receives. */
export const EXTERNAL_PROTOCOL = 'tscollective/external-agent/v1';

/** Bounds on an external agent's run. */
export const EXTERNAL_LIMITS = Object.freeze({
  /** Standard output beyond this many bytes kills the process and fails the request (status 5). */
  stdoutBytes: 1024 * 1024,
  /** Standard error beyond this many bytes is dropped (the first bytes are logged). */
  stderrBytes: 64 * 1024,
  /** Milliseconds between SIGTERM and SIGKILL when the action's timeout elapses. */
  killGraceMs: 2000,
});

/** What an external agent reads on standard input. */
export interface ExternalRequest {
  protocol: typeof EXTERNAL_PROTOCOL;
  agent: string;
  action: string;
  /** The validated inputs, defaults applied. */
  inputs: Record<string, unknown>;
  /** The authenticated caller, `cert=<name>`. */
  caller: string;
  senderid: string;
  requestid: string;
  collective: string;
  /** This node's identity. */
  identity: string;
  /** `plugin.<agent>.*` settings, prefix removed. */
  config: Readonly<Record<string, string>>;
  /** Seconds the action may run. */
  timeout: number;
}

let limiter: LogLimiter | undefined;
function limitedLog(logger: Logger): LogLimiter {
  limiter ??= new LogLimiter(logger);
  return limiter;
}

/** The handler of `action` of the external agent at `executable` described by `ddl`. */
export function externalHandler(executable: string, ddl: AgentDdl, action: string): ActionSpec['handler'] {
  return async (inputs, context) => {
    const request: ExternalRequest = {
      protocol: EXTERNAL_PROTOCOL, agent: ddl.metadata.name, action, inputs, caller: context.callerid, senderid: context.senderid,
      requestid: context.requestid, collective: context.collective, identity: context.node.identity, config: context.config, timeout: ddl.metadata.timeout,
    };
    const outcome = await runProcess(executable, `${JSON.stringify(request)}\n`, context.signal);
    const where = `external agent ${ddl.metadata.name}#${action}`;
    const refuse = (kind: string, message: string): never => {
      limitedLog(context.logger).log('warn', `external.${ddl.metadata.name}.${kind}`, { executable, stderr: outcome.stderr }, `${where}: ${message}`);
      throw new ActionFailedError(StatusCode.Error, `${where}: ${message}`);
    };
    if (outcome.aborted) throw new ActionFailedError(StatusCode.Aborted, `aborted: ${String(context.signal.reason instanceof Error ? context.signal.reason.message : 'stopped')}`);
    if (outcome.spawnError) return refuse('spawn', `cannot run ${executable}: ${outcome.spawnError}`);
    if (outcome.oversize) return refuse('oversize', `standard output larger than ${EXTERNAL_LIMITS.stdoutBytes} bytes`);
    if (outcome.signal) return refuse('signal', `killed by ${outcome.signal}${lastLine(outcome.stderr)}`);
    if (outcome.code !== 0) return refuse('exit', `exited with code ${outcome.code}${lastLine(outcome.stderr)}`);
    return readReply(outcome.stdout, ddl, action, context, refuse);
  };
}

function readReply(stdout: string, ddl: AgentDdl, action: string, context: ActionContext, refuse: (kind: string, message: string) => never): ActionOutput {
  let reply: unknown;
  try {
    reply = JSON.parse(stdout);
  } catch (error) {
    return refuse('json', `standard output is not JSON (${(error as Error).message})`);
  }
  if (typeof reply !== 'object' || reply === null || Array.isArray(reply)) return refuse('shape', 'the reply is not a JSON object');
  const { statuscode = 0, statusmsg, data = {} } = reply as { statuscode?: unknown; statusmsg?: unknown; data?: unknown };
  if (!Number.isInteger(statuscode) || (statuscode as number) < 0 || (statuscode as number) > 5) return refuse('shape', `statuscode: expected 0 to 5, got ${JSON.stringify(statuscode)}`);
  if (statusmsg !== undefined && typeof statusmsg !== 'string') return refuse('shape', 'statusmsg: expected a string');
  if (statuscode !== 0) return context.fail(statuscode as 1 | 2 | 3 | 4 | 5, (statusmsg as string | undefined) ?? `failed with status ${String(statuscode)}`);
  const checked = checkActionOutputs(ddl.actions[action] ?? { description: '' }, data);
  if (!checked.ok) return refuse('outputs', checked.message);
  return checked.data;
}

function lastLine(stderr: string): string {
  const line = stderr.trim().split('\n').pop()?.trim() ?? '';
  return line === '' ? '' : `: ${line.length > 200 ? `${line.slice(0, 200)}...` : line}`;
}

interface ProcessOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  oversize: boolean;
  aborted: boolean;
  spawnError?: string;
}

/** Kills every process of the group led by `pid` (the agent and anything it started). */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Runs `executable` with `input` on standard input, bounded in output and stopped when `signal` aborts. */
export function runProcess(executable: string, input: string, signal: AbortSignal): Promise<ProcessOutcome> {
  return new Promise((resolve) => {
    const outcome: ProcessOutcome = { code: null, signal: null, stdout: '', stderr: '', oversize: false, aborted: false };
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrBytes = 0;
    let graceTimer: NodeJS.Timeout | undefined;
    const child = spawn(executable, [], { cwd: dirname(executable), stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const stop = (): void => {
      killGroup(child.pid, 'SIGTERM');
      graceTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), EXTERNAL_LIMITS.killGraceMs);
      graceTimer.unref();
    };
    const onAbort = (): void => {
      outcome.aborted = true;
      stop();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > EXTERNAL_LIMITS.stdoutBytes) {
        if (!outcome.oversize) killGroup(child.pid, 'SIGKILL');
        outcome.oversize = true;
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      const room = EXTERNAL_LIMITS.stderrBytes - stderrBytes;
      if (room > 0) outcome.stderr += chunk.subarray(0, room).toString('utf8');
      stderrBytes += chunk.length;
    });
    // An agent that exits without reading its input closes the pipe: not an error of ours.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(graceTimer);
      signal.removeEventListener('abort', onAbort);
      outcome.stdout = Buffer.concat(stdout).toString('utf8');
      resolve(outcome);
    };
    child.on('error', (error) => {
      outcome.spawnError = error.message;
      // A process that never started emits no exit, and maybe no close.
      if (child.pid === undefined) settle();
    });
    // Nothing of a request outlives it: stragglers in the group would hold the pipes open.
    child.on('exit', () => killGroup(child.pid, 'SIGKILL'));
    child.on('close', (code, exitSignal) => {
      outcome.code = code;
      outcome.signal = outcome.oversize ? null : exitSignal;
      settle();
    });
  });
}
