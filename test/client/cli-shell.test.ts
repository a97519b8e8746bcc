/**
 * tsco in the shell, without a broker: `--version` prints package.json's version; `completion bash|zsh` prints
 * scripts the shells accept (bash -n, zsh -n when zsh is installed) that complete commands, options, option values
 * and argument choices as the command definitions declare them; a closed pipe ends tsco quietly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLOSED_PIPE_EXIT_CODE } from '../../src/cli/tsco/terminal.js';

const TSCO = fileURLToPath(new URL('../../src/cli/tsco.js', import.meta.url));
const PACKAGE_JSON = new URL('../../../package.json', import.meta.url);
const hasZsh = spawnSync('zsh', ['-c', 'true']).status === 0;

interface Run { code: number; stdout: string; stderr: string }

function tsco(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSCO, ...args], { timeout: 30_000, env: { ...process.env, TSCO_CONFIG: '/nonexistent/client.cfg' } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

/** Runs `script` with `shell` (bash or zsh), the completion script at `path` loaded first; its standard output. */
function inShell(shell: string, path: string, script: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(shell, ['-c', script], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, COMPLETION: path } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('tsco in the shell', () => {
  test('--version (and -V) print package.json\'s version', async () => {
    const { version } = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = await tsco([flag]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, `${version}\n`);
    }
  });

  test('completion bash: a valid script completing commands, options, their values and argument choices', async (t) => {
    const run = await tsco(['completion', 'bash']);
    assert.equal(run.code, 0, run.stderr);
    const dir = mkdtempSync(join(tmpdir(), 'tsco-completion-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'tsco.bash');
    writeFileSync(path, run.stdout);
    const syntax = spawnSync('bash', ['-n', path], { encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);

    const complete = (...words: string[]): string[] => {
      const script = `source "$COMPLETION"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _tsco; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const result = inShell('bash', path, script);
      assert.equal(result.status, 0, result.stderr);
      return result.stdout.split('\n').filter((line) => line !== '');
    };
    assert.deepEqual(complete('tsco', ''), ['ping', 'discover', 'find', 'rpc', 'inventory', 'facts', 'decode', 'plugin', 'keys', 'registration', 'completion', 'help']);
    assert.deepEqual(complete('tsco', 'f'), ['find', 'facts']);
    assert.deepEqual(complete('tsco', 'rpc', '--d'), ['--dt', '--dm', '--display']);
    assert.deepEqual(complete('tsco', 'rpc', '--dm', ''), ['mc', 'flatfile', 'registration']);
    assert.deepEqual(complete('tsco', '-c', 'x.cfg', 'rpc', '-t', '5', '--display', 'f'), ['failed'], 'options with values are skipped, the global -c too');
    assert.deepEqual(complete('tsco', 'rpc', '-'), complete('tsco', 'rpc', '-').filter((flag) => flag.startsWith('-')));
    for (const flag of ['--np', '--no-progress', '-1', '--one', '--sort', '--table', '-o', '--output-file']) assert.ok(complete('tsco', 'rpc', '-').includes(flag), flag);
    assert.deepEqual(complete('tsco', 'facts', '--s'), ['--select']);
    assert.deepEqual(complete('tsco', 'plugin', ''), ['doc']);
    assert.deepEqual(complete('tsco', 'keys', 'ca', ''), ['init', 'sign', 'revoke']);
    assert.deepEqual(complete('tsco', 'completion', ''), ['bash', 'zsh']);
    assert.deepEqual(complete('tsco', 'find', '--j'), ['--json'], 'an alias completes as its command');
    assert.deepEqual(complete('tsco', '--v'), ['--version']);
  });

  test('completion zsh: a valid script (zsh -n) describing the same commands and options', async (t) => {
    const run = await tsco(['completion', 'zsh']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^#compdef tsco\n/);
    assert.match(run.stdout, /"rpc\|-"\) entries=\(.*'--display:which replies to print: ok, failed or all/);
    assert.match(run.stdout, /"rpc\|--display"\) compadd -- 'ok' 'failed' 'all' ;;/);
    if (!hasZsh) {
      // .ci/run installs zsh: under CI its absence is a failure, not a skip.
      if (process.env['CI'] === 'true') assert.fail('zsh is not installed (CI=true): .ci/run installs it (apt-get install zsh)');
      t.skip('zsh is not installed: its syntax check and completion run are skipped (apt-get install zsh)');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'tsco-completion-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, '_tsco');
    writeFileSync(path, run.stdout);
    const syntax = spawnSync('zsh', ['-n', path], { encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);
    // Outside a completion widget: the completion system's functions are stand-ins printing what they were given.
    const stubs = [
      'compdef() { :; }',
      '_describe() { local -a arr; arr=("${(@P)${@[-1]}}"); print -r -- "$3: ${arr[@]%%:*}"; }',
      'compadd() { shift; print -r -- "values: $*"; }',
      '_files() { print -r -- files; }',
    ].join('\n');
    const complete = (...words: string[]): string => {
      const result = inShell('zsh', path, `${stubs}\nsource "$COMPLETION"\nwords=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=\${#words}; _tsco`);
      assert.equal(result.status, 0, result.stderr);
      return result.stdout.trim();
    };
    assert.match(complete('tsco', ''), /^command: ping discover find rpc inventory facts decode plugin keys registration completion help$/);
    assert.equal(complete('tsco', 'rpc', '--dm', ''), 'values: mc flatfile registration');
    assert.equal(complete('tsco', 'rpc', '-o', ''), 'files');
    assert.match(complete('tsco', 'facts', '-'), /^option: .*--np --no-progress/);
    assert.equal(complete('tsco', 'completion', ''), 'command: bash zsh');
  });

  test('an unknown shell is refused with the choices', async () => {
    const run = await tsco(['completion', 'fish']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /Allowed choices are bash, zsh/);
  });

  test('a closed pipe ends tsco quietly with the status of SIGPIPE', async () => {
    const child = spawn(process.execPath, [TSCO, 'completion', 'bash'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader is gone before tsco writes (as `| head -0` would).
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
    assert.equal(code, CLOSED_PIPE_EXIT_CODE);
    assert.equal(stderr, '', 'no EPIPE stack trace');
  });
});
