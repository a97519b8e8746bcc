import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { CapturingLogger } from '../../src/util/log.js';
import { LogLimiter } from '../../src/util/log-limiter.js';

describe('LogLimiter', () => {
  it('logs a burst per kind, suppresses the rest and summarises them with the exact count', () => {
    const logger = new CapturingLogger();
    let now = 0;
    const limiter = new LogLimiter(logger, { burst: 3, intervalMs: 1000, now: () => now, timer: false });
    for (let i = 0; i < 100_000; i++) limiter.log('warn', 'TSC_SEC_MALFORMED', { i }, 'request refused');
    limiter.log('warn', 'TSC_SEC_EXPIRED', {}, 'expired');
    assert.equal(logger.records.length, 4);
    now = 1500;
    limiter.log('warn', 'TSC_SEC_MALFORMED', {}, 'request refused');
    const summary = logger.records.find((r) => r.fields['suppressed'] !== undefined);
    assert.ok(summary, 'a summary line is written once the interval is over');
    assert.equal(summary.fields['suppressed'], 99_997);
    assert.equal(summary.fields['kind'], 'TSC_SEC_MALFORMED');
    assert.equal(logger.records.at(-1)?.msg, 'request refused', 'a new interval logs again');
  });

  it('sweep and flush summarise kinds whose flood stopped; memory is bounded by maxKinds', () => {
    const logger = new CapturingLogger();
    let now = 0;
    const limiter = new LogLimiter(logger, { burst: 1, intervalMs: 1000, maxKinds: 10, now: () => now, timer: false });
    for (let kind = 0; kind < 50; kind++) for (let i = 0; i < 3; i++) limiter.log('info', `k${kind}`, {}, `m${kind}`);
    // 50 first lines, and the 40 evicted kinds were summarised (2 suppressed each).
    assert.equal(logger.records.filter((r) => r.fields['suppressed'] === 2).length, 40);
    now = 2000;
    limiter.sweep();
    assert.equal(logger.records.filter((r) => r.fields['suppressed'] === 2).length, 50);
    limiter.close();
  });

  it('refuses a burst that is not a positive integer, naming it', () => {
    assert.throws(() => new LogLimiter(new CapturingLogger(), { burst: 0, timer: false }), /"burst" expected an integer >= 1/);
  });
});
