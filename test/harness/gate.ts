/**
 * Tests that need an outside service (a broker, PostgreSQL, ...): probed once when the test file loads, before any
 * test is declared. When the service is unreachable, each of its tests is reported as skipped with the reason
 * (never as passed); with CI=true each of them fails instead, naming the service, because CI must run them all.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';

/** Whether this run is CI (`CI=true`): unreachable services fail their tests instead of skipping them. */
export function inCi(): boolean {
  return process.env.CI === 'true';
}

/** The verdict on one service for this test file. */
export interface ServiceGate {
  /** For example `RabbitMQ AMQP 127.0.0.1:5672`. */
  readonly service: string;
  readonly reachable: boolean;
  /** Why the service cannot be used (undefined when reachable). */
  readonly reason: string | undefined;
  /** The node:test `skip` option for the service's tests: the reason locally when unreachable, else false. */
  readonly skip: string | false;
  /** Fails (under CI=true, when unreachable) with the reason; does nothing otherwise. Call first in a test. */
  require(): void;
  /** Declares a test of the service: skipped with the reason, failing under CI, or run. */
  test(name: string, fn: (t: TestContext) => unknown): void;
}

/**
 * Decides, once, whether the tests of `service` can run: `unavailable` is undefined when they can, else the
 * reason. `hint` says how to make the service available (printed with the reason).
 */
export function serviceGate(service: string, unavailable: string | undefined, hint = ''): ServiceGate {
  const reason = unavailable === undefined ? undefined : `${service} ${unavailable}${hint ? `; ${hint}` : ''}`;
  const skip = reason !== undefined && !inCi() ? reason : false;
  if (reason !== undefined) {
    console.error(`!!! ${reason}: its tests ${inCi() ? 'FAIL (CI=true requires every service)' : 'are SKIPPED'} !!!`);
  }
  const gate: ServiceGate = {
    service,
    reachable: reason === undefined,
    reason,
    skip,
    require() {
      if (reason !== undefined) assert.fail(`${reason} (CI=true requires every service)`);
    },
    test(name, fn) {
      test(name, { skip }, async (t) => {
        gate.require();
        await fn(t);
      });
    },
  };
  return gate;
}

/**
 * For a service found missing inside a test (set up in a hook, or one of several a test needs): skips the test with
 * the reason locally, fails it under CI=true. The caller returns right after it.
 */
export function skipUnavailable(t: TestContext, reason: string): void {
  if (inCi()) assert.fail(`${reason} (CI=true requires every service)`);
  t.skip(reason);
}

/** Probes `probe` up to `attempts` times, `pauseMs` apart (a broker being restarted by another test comes back). */
export async function probeRepeatedly(probe: () => Promise<boolean>, attempts = 3, pauseMs = 1000): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      if (await probe()) return true;
    } catch {
      // An exception is an unreachable service too.
    }
    if (attempt >= attempts) return false;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}
