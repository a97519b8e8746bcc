/**
 * The fuzzer (fuzz/): a smoke run against the aes_security provider on both sides (so it cannot rot), proof
 * that it reports each kind of finding (a codec with planted crash, hang and forgery bugs), determinism for
 * a seed, and the CLI's output and exit status.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { BadSignatureError, MalformedMessageError, SecurityError } from '../../src/errors.js';
import { fuzz, isDocumentedRefusal } from '../../fuzz/engine.js';
import { MUTATORS } from '../../fuzz/mutators.js';
import type { FuzzTarget, SideTarget } from '../../fuzz/target.js';
import { TARGETS } from '../../fuzz/targets/index.js';

const CLI = fileURLToPath(new URL('../../fuzz/cli.js', import.meta.url));
const SMOKE_COUNT = 4000;

describe('fuzz smoke run against aes_security', () => {
  let target: FuzzTarget;
  before(async () => {
    target = await TARGETS['aes_security']!(mkdtempSync(join(tmpdir(), 'tsc-fuzz-test-')));
  });
  after(() => target?.close());

  for (const side of ['request', 'reply'] as const) {
    test(`${SMOKE_COUNT} mutated ${side}s: no crash, no hang, no accepted forgery`, () => {
      const donors = [...target.sides.request!.seeds, ...target.sides.reply!.seeds].map((seed) => seed.wire);
      const stats = fuzz({ side, target: target.sides[side]!, donors, seed: `smoke-${side}`, count: SMOKE_COUNT });
      const findings = stats.findings.map((f) => `${f.kind} #${f.iteration} ${f.mutators.join('+')}: ${f.detail.split('\n')[0]}`);
      assert.deepEqual({ crashes: stats.crashes, hangs: stats.hangs, forgeries: stats.forgeries }, { crashes: 0, hangs: 0, forgeries: 0 }, findings.join('\n'));
      assert.equal(stats.executions, SMOKE_COUNT);
      for (const mutator of MUTATORS) assert.ok(stats.mutators[mutator.name]! > 0, `mutator ${mutator.name} was applied`);
      // The mutants reach past the framing: some are refused for their signature, not only as malformed.
      assert.ok((stats.refusals['TSC_SEC_MALFORMED'] ?? 0) > 0, JSON.stringify(stats.refusals));
      assert.ok((stats.refusals['TSC_SEC_BAD_SIGNATURE'] ?? 0) > 0, JSON.stringify(stats.refusals));
    });
  }
});

describe('fuzz smoke run against protocol version 1 (legacy mode)', () => {
  let target: FuzzTarget;
  before(async () => {
    target = await TARGETS['legacy_v1']!(mkdtempSync(join(tmpdir(), 'tsc-fuzz-v1-test-')));
  });
  after(() => target?.close());

  for (const side of ['request', 'reply'] as const) {
    test(`${SMOKE_COUNT / 2} mutated version 1 ${side}s: no crash, no hang, no accepted forgery`, () => {
      const donors = [...target.sides.request!.seeds, ...target.sides.reply!.seeds].map((seed) => seed.wire);
      const stats = fuzz({ side, target: target.sides[side]!, donors, seed: `smoke-v1-${side}`, count: SMOKE_COUNT / 2 });
      const findings = stats.findings.map((f) => `${f.kind} #${f.iteration} ${f.mutators.join('+')}: ${f.detail.split('\n')[0]}`);
      assert.deepEqual({ crashes: stats.crashes, hangs: stats.hangs, forgeries: stats.forgeries }, { crashes: 0, hangs: 0, forgeries: 0 }, findings.join('\n'));
      assert.ok((stats.refusals['TSC_SEC_MALFORMED'] ?? 0) > 0, JSON.stringify(stats.refusals));
      assert.ok((stats.refusals['TSC_SEC_BAD_SIGNATURE'] ?? 0) > 0, JSON.stringify(stats.refusals));
      if (side === 'request') {
        // Mutants past the key block reach the replay cache: version 1 authenticates nothing else.
        assert.ok((stats.refusals['TSC_SEC_REPLAYED'] ?? 0) > 0, JSON.stringify(stats.refusals));
        assert.equal(stats.unauthenticated, 0);
      } else {
        // A version 1 reply authenticates nothing: mutants of its clear fields decode, counted but not findings.
        assert.ok(stats.unauthenticated > 0, 'some reply mutants decode');
      }
    });
  }
});

/**
 * A toy codec with planted bugs: "TOY" | u16 length | msgpack header | u16 length | body. Its decoder throws a
 * TypeError when the header's `n` is a string, spins when it is 7777, and accepts a header whose `ok` is
 * true without checking anything else; every other message is refused with a documented error.
 */
function toyTarget(bugs: { crash?: boolean; hang?: boolean; forgery?: boolean }): SideTarget {
  const packr = new Packr({ useRecords: false, mapsAsObjects: true });
  const prefix = Buffer.from('TOY');
  const frame = (head: Uint8Array, sections: readonly Uint8Array[]): Uint8Array =>
    Buffer.concat([head, ...sections.flatMap((section) => { const length = Buffer.alloc(2); length.writeUInt16BE(Math.min(section.length, 0xffff)); return [length, section]; })]);
  const dissect = (wire: Uint8Array) => {
    const bytes = Buffer.from(wire);
    if (bytes.length < 3 || !bytes.subarray(0, 3).equals(prefix)) return null;
    const sections: Uint8Array[] = [];
    let offset = 3;
    while (offset < bytes.length) {
      if (offset + 2 > bytes.length) return null;
      const length = bytes.readUInt16BE(offset);
      offset += 2;
      if (offset + length > bytes.length) return null;
      sections.push(bytes.subarray(offset, offset + length));
      offset += length;
    }
    if (sections.length !== 2) return null;
    try {
      const fields = packr.unpack(sections[0]!) as Record<string, unknown>;
      return typeof fields === 'object' && fields !== null ? { fields: { ...fields }, sections, prefix } : null;
    } catch {
      return null;
    }
  };
  const decode = (wire: Uint8Array): unknown => {
    const parts = dissect(wire);
    if (!parts) throw new MalformedMessageError('not a toy message');
    const { n, ok } = parts.fields;
    if (bugs.crash && typeof n === 'string') return (undefined as unknown as { x: number }).x;
    if (bugs.hang && n === 7777) { const end = Date.now() + 30; while (Date.now() < end); }
    if (bugs.forgery && ok === true) return parts.fields;
    if (!Buffer.from(parts.sections[1]!).equals(Buffer.from('signed body'))) throw new BadSignatureError('body changed');
    throw new BadSignatureError('toy messages are never valid');
  };
  const seeds = [
    { label: 'toy a', wire: frame(prefix, [packr.pack({ n: 1, ok: false, name: 'x' }), Buffer.from('signed body')]), decode },
    { label: 'toy b', wire: frame(prefix, [packr.pack({ n: 7777, ok: true, name: 'y' }), Buffer.from('signed body')]), decode },
  ];
  return {
    seeds, dissect, frame, encodeFields: (fields) => packr.pack(fields),
    lengthFields: (head, sections) => { let offset = head.length; return sections.map((s) => { const field = { offset, bytes: 2 as const }; offset += 2 + s.length; return field; }); },
  };
}

describe('the fuzzer reports what it finds', () => {
  const run = (bugs: Parameters<typeof toyTarget>[0], seed = 'planted', count = 3000) => {
    const target = toyTarget(bugs);
    return fuzz({ side: 'request', target, donors: target.seeds.map((s) => s.wire), seed, count, hangMs: 10 });
  };

  test('a codec without planted bugs: nothing found', () => {
    const stats = run({});
    assert.deepEqual([stats.crashes, stats.hangs, stats.forgeries], [0, 0, 0]);
  });

  test('a TypeError is a crash, with the mutant that caused it', () => {
    const stats = run({ crash: true });
    assert.ok(stats.crashes > 0, 'the planted crash was found');
    const crash = stats.findings.find((f) => f.kind === 'crash')!;
    assert.match(crash.detail, /^TypeError: /);
    assert.ok(crash.inputHex.length > 0 && crash.mutators.length > 0);
  });

  test('a decode slower than the hang limit (twice) is a hang', () => {
    const stats = run({ hang: true }, 'planted', 300);
    assert.ok(stats.hangs > 0, 'the planted hang was found');
    assert.match(stats.findings.find((f) => f.kind === 'hang')!.detail, /decode took \d+ ms, then \d+ ms/);
  });

  test('a changed message that decodes is an accepted forgery', () => {
    const stats = run({ forgery: true });
    assert.ok(stats.forgeries > 0, 'the planted forgery was found');
  });

  test('on a side the protocol does not authenticate, a decoded mutant is counted, not a forgery', () => {
    const target = { ...toyTarget({ forgery: true }), authenticates: false };
    const stats = fuzz({ side: 'reply', target, donors: target.seeds.map((s) => s.wire), seed: 'planted', count: 3000 });
    assert.equal(stats.forgeries, 0);
    assert.ok(stats.unauthenticated > 0);
  });

  test('only concrete, documented SecurityError subclasses count as refusals', () => {
    assert.equal(isDocumentedRefusal(new BadSignatureError('x')), true);
    assert.equal(isDocumentedRefusal(new SecurityError('TSC_SEC_SOMETHING', 'x')), false);
    assert.equal(isDocumentedRefusal(new RangeError('x')), false);
    assert.equal(isDocumentedRefusal(undefined), false);
  });

  test('the same seed gives the same run; another seed another one', () => {
    const strip = (stats: ReturnType<typeof run>) => ({
      ...stats, seconds: 0, slowestMs: 0, findings: stats.findings.map((f) => ({ ...f, detail: f.detail.split('\n')[0] })),
    });
    assert.deepEqual(strip(run({ crash: true }, 'again', 2000)), strip(run({ crash: true }, 'again', 2000)));
    assert.notDeepEqual(strip(run({ crash: true }, 'again', 2000)).mutators, strip(run({ crash: true }, 'other', 2000)).mutators);
  });
});

test('npm run fuzz: counts per side as JSON, exit status 0 when nothing is found, 2 on bad usage', async () => {
  const cli = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
  const good = await cli(['--count', '300', '--side', 'both', '--seed', 'cli', '--json', '--quiet']);
  assert.equal(good.code, 0, good.stderr);
  const summary = JSON.parse(good.stdout) as Array<Record<string, unknown>>;
  assert.deepEqual(summary.map((s) => [s['side'], s['executions'], s['crashes'], s['hangs'], s['forgeries']]), [['request', 300, 0, 0, 0], ['reply', 300, 0, 0, 0]]);
  assert.ok(summary.every((s) => typeof s['execsPerSecond'] === 'number' && (s['execsPerSecond'] as number) > 0));
  const bad = await cli(['--side', 'sideways']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /sideways/);
});
