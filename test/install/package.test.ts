/**
 * The package as a user gets it: the sources are copied to a fresh folder (no dist/), `npm pack` there runs
 * `prepack` (a clean build) and packs; the tarball holds the build, the sample configurations and the docs, and no
 * tests, fuzzer or benchmarks. `npm install -g --prefix <tmp>` of the tarball gives `tsco` and `tscollectived`
 * that run, talk to each other over RabbitMQ, and a TypeScript project compiles against the shipped declarations
 * of `tscollective/agent` and `tscollective/client` and runs. Installing needs the npm registry (or npm's cache)
 * for the dependencies: without it the install tests are skipped with the reason (and fail under CI=true).
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inCi } from '../harness/gate.js';
import { amqpGate } from '../integration/harness/brokers.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  version: string; bin: Record<string, string>; exports: Record<string, string | { types: string; default: string }>;
};
/** What a fresh clone has that packing needs (everything but tests, benchmarks, fuzzer and node_modules). */
const SOURCES = ['src', 'plugins', 'examples', 'scripts', 'config', 'docs', 'README.md', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
/** Output of npm that means the registry could not be reached (not a problem of the package). */
const NETWORK_ERROR = /\b(ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ECONNRESET|ENETUNREACH|network|proxy)\b/i;

interface Run { code: number; stdout: string; stderr: string }

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs ?? 240_000, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr: `${stderr}${error && code === -1 ? error.message : ''}` });
    });
  });
}

const rabbit = await amqpGate();

describe('the packed and installed package', () => {
  const work = mkdtempSync(join(tmpdir(), 'tsc-pack-'));
  const prefix = join(work, 'prefix');
  const bin = join(prefix, 'bin');
  /** PATH with the installed programs first and this node (their `#!/usr/bin/env node`). */
  const env = { ...process.env, PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`, NO_COLOR: '1' };
  let packed: { filename: string; files: string[] } | undefined;
  let packProblem = '';
  let installProblem: { network: boolean; text: string } | undefined;

  before(async () => {
    const copy = join(work, 'clone');
    for (const entry of SOURCES) cpSync(join(REPO, entry), join(copy, entry), { recursive: true });
    symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'));
    const pack = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: copy });
    if (pack.code !== 0) {
      packProblem = `npm pack failed (exit ${pack.code}):\n${pack.stdout}\n${pack.stderr}`;
      return;
    }
    const [result] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    packed = { filename: join(work, result!.filename), files: result!.files.map((file) => file.path) };
    const install = await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', packed.filename], { env });
    if (install.code !== 0) installProblem = { network: NETWORK_ERROR.test(install.stderr), text: `npm install -g failed (exit ${install.code}):\n${install.stderr.slice(-3000)}` };
  });
  after(() => {
    rmSync(work, { recursive: true, force: true });
  });

  /** Whether the install tests can run; skips (locally) or fails with the reason when the registry was unreachable. */
  const installed = (t: TestContext): boolean => {
    assert.ok(packed, packProblem);
    if (!installProblem) return true;
    if (installProblem.network && !inCi()) {
      t.skip(`the npm registry is not reachable: ${installProblem.text.split('\n').find((line) => NETWORK_ERROR.test(line)) ?? ''}`);
      return false;
    }
    assert.fail(installProblem.text);
  };

  test('npm pack builds first and ships the build, configs and docs, but no tests, fuzzer, benchmarks or source maps', () => {
    assert.ok(packed, packProblem);
    const files = packed.files;
    const forbidden = files.filter((path) => /^(dist\/)?(test|fuzz|bench)\//.test(path) || path.endsWith('.map') || path.endsWith('.tsbuildinfo') || /^(src|plugins)\//.test(path));
    assert.deepEqual(forbidden, []);
    for (const target of Object.values(PACKAGE.bin)) assert.ok(files.includes(target), `bin ${target} is packed`);
    for (const [entry, target] of Object.entries(PACKAGE.exports)) {
      for (const path of typeof target === 'string' ? [target] : [target.types, target.default]) {
        assert.ok(files.includes(path.replace(/^\.\//, '')), `export ${entry}: ${path} is packed`);
      }
    }
    for (const path of ['config/systemd/tscollectived.service', 'config/logrotate/tscollective', 'config/rabbitmq/server.cfg', 'docs/install.md', 'README.md', 'dist/plugins/agent/rpcutil.js', 'dist/examples/agents/agent/nettest.js']) {
      assert.ok(files.includes(path), `${path} is packed`);
    }
  });

  test('npm install -g gives tsco and tscollectived that run', async (t) => {
    if (!installed(t)) return;
    for (const name of Object.keys(PACKAGE.bin)) assert.ok(existsSync(join(bin, name)), `${name} is installed in ${bin}`);
    const tsco = await run(join(bin, 'tsco'), ['--help'], { env });
    assert.equal(tsco.code, 0, tsco.stderr);
    assert.match(tsco.stdout, /Usage: tsco /);
    const daemon = await run(join(bin, 'tscollectived'), ['--help'], { env });
    assert.equal(daemon.code, 0, daemon.stderr);
    assert.match(daemon.stdout, /Usage: tscollectived .*\n[\s\S]*--config <file>/);
    const version = await run(join(bin, 'tscollectived'), ['--version'], { env });
    assert.equal(version.stdout.trim(), PACKAGE.version);
  });

  test('a TypeScript project compiles against the shipped declarations of tscollective/agent and tscollective/client', async (t) => {
    if (!installed(t)) return;
    const project = join(work, 'consumer');
    mkdirSync(join(project, 'node_modules', '@types'), { recursive: true });
    symlinkSync(join(prefix, 'lib', 'node_modules', 'tscollective'), join(project, 'node_modules', 'tscollective'));
    symlinkSync(join(REPO, 'node_modules', '@types', 'node'), join(project, 'node_modules', '@types', 'node'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', types: ['node'] },
      files: ['consumer.ts'],
    }));
    writeFileSync(join(project, 'consumer.ts'), CONSUMER);
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    const good = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project });
    assert.equal(good.code, 0, `${good.stdout}${good.stderr}`);

    // The declarations are real: a misuse does not compile.
    writeFileSync(join(project, 'consumer.ts'), `${CONSUMER}\nexport const wrong: number = agent.ddl.metadata.name;\nawait connectClient('client.cfg');\n`);
    const bad = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit'], { cwd: project });
    assert.notEqual(bad.code, 0, 'a misuse of the API must not type-check');
    assert.match(bad.stdout, /consumer\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
    assert.match(bad.stdout, /consumer\.ts\(\d+,\d+\): error TS2345: Argument of type 'string' is not assignable to parameter of type 'ConfigView'/);
  });

  test('the installed programs and the compiled project ping each other over RabbitMQ', { skip: rabbit.skip }, async (t) => {
    rabbit.require();
    if (!installed(t)) return;
    const dir = join(work, 'live');
    const collective = `pack${process.pid}`;
    const keys = await run(join(bin, 'tsco'), ['keys', 'generate', 'packnode', '--dir', join(dir, 'server')], { env });
    assert.equal(keys.code, 0, keys.stderr);
    assert.equal((await run(join(bin, 'tsco'), ['keys', 'generate', 'packclient', '--dir', join(dir, 'client')], { env })).code, 0);
    mkdirSync(join(dir, 'trusted'));
    cpSync(join(dir, 'server', 'packnode.pem'), join(dir, 'trusted', 'packnode.pem'));
    cpSync(join(dir, 'client', 'packclient.pem'), join(dir, 'trusted', 'packclient.pem'));
    writeFileSync(join(dir, 'facts.yaml'), 'role: packed\n');
    const amqp = ['connector = amqp', 'plugin.amqp.host = 127.0.0.1', 'plugin.amqp.port = 5672', 'plugin.amqp.user = guest', 'plugin.amqp.password = guest',
      `collectives = ${collective}`, `main_collective = ${collective}`];
    writeFileSync(join(dir, 'server.cfg'), [...amqp, 'identity = packnode', `plugin.aes.server_private = ${join(dir, 'server', 'packnode-private.pem')}`,
      `plugin.aes.server_public = ${join(dir, 'server', 'packnode.pem')}`, `plugin.aes.client_cert_dir = ${join(dir, 'trusted')}`,
      `plugin.yaml = ${join(dir, 'facts.yaml')}`, `statedir = ${join(dir, 'state')}`, `logfile = ${join(dir, 'server.log')}`, ''].join('\n'));
    writeFileSync(join(dir, 'client.cfg'), [...amqp, 'identity = packclient', `plugin.aes.client_private = ${join(dir, 'client', 'packclient-private.pem')}`,
      `plugin.aes.client_public = ${join(dir, 'client', 'packclient.pem')}`, `plugin.aes.client_cert_dir = ${join(dir, 'trusted')}`, ''].join('\n'));

    const pidfile = join(dir, 'tscollectived.pid');
    const daemon = spawn(join(bin, 'tscollectived'), ['--config', join(dir, 'server.cfg'), '--pidfile', pidfile], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    daemon.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => daemon.once('exit', (code) => resolve(code)));
    try {
      for (let waited = 0; !existsSync(pidfile); waited += 100) {
        assert.ok(daemon.exitCode === null && waited < 60_000, `the installed tscollectived did not start: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const ping = await run(join(bin, 'tsco'), ['--config', join(dir, 'client.cfg'), 'ping', '--dt', '2'], { env });
      assert.equal(ping.code, 0, ping.stderr);
      assert.match(ping.stdout, /^packnode\s+time=/m);

      const consumer = await run(process.execPath, [join(work, 'consumer', 'out', 'consumer.js'), join(dir, 'client.cfg')], { cwd: join(work, 'consumer') });
      assert.equal(consumer.code, 0, consumer.stderr);
      assert.deepEqual(JSON.parse(consumer.stdout), { agent: 'consumer', actions: ['hello'], failed: [], replies: ['packnode'], exit: 0 });
    } finally {
      daemon.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    }
  });
});

/** A program written against the installed package: an agent of its own, and a ping through the client library. */
const CONSUMER = `import { defineAgent, type AgentDdl } from 'tscollective/agent';
import { connectClient, exitCodeFor, loadBuiltinPlugins, loadConfig, type PingResult } from 'tscollective/client';

export const agent = defineAgent({
  name: 'consumer', version: '1.0.0', description: 'an agent of a project that installed tscollective',
  actions: {
    hello: {
      description: 'says hello',
      input: { name: { type: 'string', required: true, maxLength: 20, description: 'who' } },
      output: { greeting: { description: 'the greeting', type: 'string' } },
      handler: (input) => ({ greeting: \`hello \${String(input['name'])}\` }),
    },
  },
});
const ddl: AgentDdl = agent.ddl;

const configFile = process.argv[2];
if (configFile) {
  const plugins = await loadBuiltinPlugins();
  const session = await connectClient(loadConfig(configFile));
  const result: PingResult = await session.client.ping({ discoveryTimeoutMs: 2000 });
  console.log(JSON.stringify({
    agent: ddl.metadata.name, actions: Object.keys(ddl.actions), failed: plugins.failed,
    replies: result.replies.map((reply) => reply.sender), exit: exitCodeFor(result.stats),
  }));
  await session.close();
}
`;
