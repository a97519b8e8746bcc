/**
 * Running one RPC action: dispatch, input validation, timeout and status mapping.
 * Status codes: 0 ok, 1 aborted (timeout, shutdown, or the handler said so), 2 unknown action,
 * 3 missing input, 4 invalid input, 5 handler error.
 */
import { ActionFailedError } from '../errors.js';
import type { Logger } from '../inter/logger.js';
import { lazyChild } from '../util/log.js';
import { StatusCode, type RpcReplyBody } from '../inter/message.js';
import { checkActionInputs, checkInputs } from './inputs.js';
import type { ActionContext, Agent, NodeView } from './types.js';

/** The authenticated facts of a request that reach the handler. */
export interface ActionRequest {
  requestid: string;
  callerid: string;
  senderid: string;
  collective: string;
  /** The RPC body: `{action, data}`. */
  body: unknown;
}

/** Daemon-side collaborators of a running action. */
export interface ActionEnvironment {
  node: NodeView;
  logger: Logger;
  /** `plugin.<agent>.*` settings, prefix removed. */
  config: Readonly<Record<string, string>>;
  /** Aborted when the daemon gives up on in-flight work (shutdown timeout). */
  shutdown?: AbortSignal;
}

function reply(statuscode: StatusCode, statusmsg: string, data: Record<string, unknown> = {}): RpcReplyBody {
  return { statuscode, statusmsg, data };
}

/** The `{action, data}` of an RPC body, or a reason it is not one. */
export function readRpcBody(body: unknown): { action: string; data: unknown } | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'request body must be {action, data}';
  const { action, data } = body as Record<string, unknown>;
  if (typeof action !== 'string' || action === '') return 'request body has no action name';
  return { action, data };
}

const STATUS_CODES = new Set<number>(Object.values(StatusCode));

/**
 * Runs the requested action of `agent` and always resolves to a reply body (never rejects).
 * The handler is raced against the agent's timeout; on timeout its AbortSignal fires and the
 * reply is status 1 "aborted: timed out after Ns".
 */
export async function runAction(agent: Agent, request: ActionRequest, environment: ActionEnvironment): Promise<RpcReplyBody> {
  const rpc = readRpcBody(request.body);
  if (typeof rpc === 'string') return reply(StatusCode.InvalidData, rpc);
  const action = Object.hasOwn(agent.actions, rpc.action) ? agent.actions[rpc.action] : undefined;
  if (!action) return reply(StatusCode.UnknownAction, `unknown action ${rpc.action} for agent ${agent.name}`);
  // The description is what clients validated against; an agent object built without one falls back to its specs.
  const described = agent.ddl?.actions[rpc.action];
  const inputs = described ? checkActionInputs(described, rpc.data) : checkInputs(action.input ?? {}, rpc.data);
  if (!inputs.ok) return reply(inputs.statuscode, inputs.message);

  const controller = new AbortController();
  const logger = lazyChild(environment.logger, { agent: agent.name, action: rpc.action, requestid: request.requestid });
  const context: ActionContext = {
    agent: agent.name,
    action: rpc.action,
    requestid: request.requestid,
    callerid: request.callerid,
    senderid: request.senderid,
    collective: request.collective,
    config: environment.config,
    logger,
    signal: controller.signal,
    node: environment.node,
    fail(statuscode, message) {
      throw new ActionFailedError(statuscode, message);
    },
  };

  let timer: NodeJS.Timeout | undefined;
  let onShutdown: (() => void) | undefined;
  const aborted = new Promise<RpcReplyBody>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error('timed out'));
      resolve(reply(StatusCode.Aborted, `aborted: timed out after ${agent.timeout}s`));
    }, agent.timeout * 1000);
    onShutdown = () => {
      controller.abort(new Error('daemon shutting down'));
      resolve(reply(StatusCode.Aborted, 'aborted: the daemon is shutting down'));
    };
    if (environment.shutdown?.aborted) onShutdown();
    else environment.shutdown?.addEventListener('abort', onShutdown, { once: true });
  });
  const handled = (async (): Promise<RpcReplyBody> => {
    try {
      const data = await action.handler(inputs.values, context);
      if (typeof data !== 'object' || data === null || Array.isArray(data)) {
        logger.error({ returned: typeof data }, 'action handler returned something other than a hash');
        return reply(StatusCode.Error, `action ${rpc.action} returned ${Array.isArray(data) ? 'a list' : typeof data}, expected a hash`);
      }
      return reply(StatusCode.OK, 'OK', data);
    } catch (error) {
      if (error instanceof ActionFailedError && STATUS_CODES.has(error.statuscode) && error.statuscode !== StatusCode.OK) {
        return reply(error.statuscode as StatusCode, error.message);
      }
      const message = error instanceof Error ? error.message : String(error);
      if (!controller.signal.aborted) logger.error({ err: error }, `action ${agent.name}#${rpc.action} failed: ${message}`);
      return reply(StatusCode.Error, message);
    }
  })();
  try {
    return await Promise.race([handled, aborted]);
  } finally {
    clearTimeout(timer);
    if (onShutdown) environment.shutdown?.removeEventListener('abort', onShutdown);
  }
}
