import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { ConfigError, InvalidArgumentError } from '../../src/errors.js';
import { Config, configFromObject, loadConfig, parseConfig, registerConfigSchema, registeredSchemas } from '../../src/config/index.js';
import { CapturingLogger } from '../../src/util/log.js';
import { MemoryCounters } from '../../src/util/counters.js';
import { fixture, registerTestSchema } from '../fixtures/config/testns-schema.js';

registerTestSchema();

const noEnv = { env: {} };

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    assert.equal(error.code, 'TSC_CONFIG_INVALID');
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

function cfg(text: string, env: Record<string, string | undefined> = {}): Config {
  return parseConfig(text, { source: 'client.cfg', env });
}

describe('cfg files', () => {
  test('reads a client.cfg with comments, blank lines, padding and plugin namespaces', () => {
    const config = loadConfig(fixture('client.cfg'), noEnv);
    assert.ok(config instanceof Config);
    assert.equal(config.source, fixture('client.cfg'));
    assert.equal(config.string('identity'), 'admin-workstation');
    assert.deepEqual(config.list('collectives'), ['mcollective', 'uk_collective']);
    assert.equal(config.integer('ttl'), 120);
    assert.equal(config.boolean('direct_addressing'), true);
    assert.equal(config.string('loglevel'), 'warn');
    assert.equal(config.integer('plugin.testns.count'), 7);
    assert.equal(config.boolean('plugin.testns.enabled'), true);
    assert.equal(config.string('plugin.testns.secret'), 'p4ss#word');
    assert.equal(config.string('plugin.testns.pool.2.host'), 'broker2.example.com');
    assert.equal(config.origin('identity'), `${fixture('client.cfg')}:5`);
    assert.deepEqual(config.warnings, []);
  });

  test('plugin.yaml is a top-level path key, not a namespace', () => {
    const config = loadConfig(fixture('client.cfg'), noEnv);
    assert.equal(config.string('plugin.yaml'), '/etc/mcollective/facts.yaml');
    assert.equal(config.has('plugin.yaml'), true);
  });

  test('keys of unregistered plugin namespaces are kept silently for their agents', () => {
    const config = loadConfig(fixture('client.cfg'), noEnv);
    assert.deepEqual(config.keys('plugin.puppet.'), ['plugin.puppet.splay']);
    assert.equal(config.boolean('plugin.puppet.splay'), true);
    assert.equal(config.raw('plugin.puppet.splay'), 'true');
  });

  test('a duplicate key: the later value wins, with a warning naming both lines', () => {
    const config = cfg('identity = first\nttl = 30\nidentity = second\n');
    assert.equal(config.string('identity'), 'second');
    assert.equal(config.origin('identity'), 'client.cfg:3');
    assert.deepEqual(config.warnings, ['client.cfg:3: identity: also set at line 1; the later value (line 3) wins']);
  });

  test('reports every problem of a broken file at once, each with file:line and key', () => {
    const problems = problemsOf(() => loadConfig(fixture('broken.cfg'), noEnv));
    const path = fixture('broken.cfg');
    assert.deepEqual(problems, [
      `${path}:4: expected "key = value", got "this line has no equals sign"`,
      `${path}:2: ttl: expected an integer, got "soon"`,
      `${path}:3: loglevel: expected one of debug, info, warn, error, fatal, got "verbose"`,
      `${path}:5: plugin.testns.enabled: expected a boolean (0/1/true/false/yes/no), got "maybe"`,
      `${path}:6: plugin.testns.count: must be at most 100, got "1000"`,
    ]);
  });

  test('the boolean message matches the documented form', () => {
    const text = '\n'.repeat(6) + 'plugin.testns.enabled = maybe\n';
    assert.deepEqual(problemsOf(() => cfg(text)), ['client.cfg:7: plugin.testns.enabled: expected a boolean (0/1/true/false/yes/no), got "maybe"']);
  });

  test('a key with invalid characters is a problem', () => {
    assert.deepEqual(problemsOf(() => cfg('bad key = 1\n')), ['client.cfg:1: "bad key" is not a valid key (dotted words of letters, digits, "_" and "-")']);
  });

  test('bad arguments to parseConfig are all reported', () => {
    assert.deepEqual(problemsOf(() => parseConfig(42 as unknown as string, { source: '', format: 'toml' as 'cfg' })), [
      'parseConfig: options.source must be a non-empty string, got ""',
      'parseConfig: text must be a string, got 42',
      'parseConfig: options.format must be "cfg" or "yaml", got "toml"',
    ]);
  });

  test('a missing file is a ConfigError naming the path', () => {
    const problems = problemsOf(() => loadConfig('/nonexistent/server.cfg', noEnv));
    assert.match(problems[0]!, /^\/nonexistent\/server\.cfg: cannot read configuration: ENOENT/);
  });
});

describe('value types', () => {
  test('booleans accept 0/1/true/false/yes/no/y/n/on/off in any case', () => {
    for (const word of ['1', 'true', 'TRUE', 'yes', 'Yes', 'y', 'Y', 'on', 'ON']) {
      assert.equal(cfg(`plugin.testns.enabled = ${word}`).boolean('plugin.testns.enabled'), true, word);
    }
    for (const word of ['0', 'false', 'False', 'no', 'NO', 'n', 'off', 'Off']) {
      assert.equal(cfg(`plugin.testns.enabled = ${word}`).boolean('plugin.testns.enabled'), false, word);
    }
  });

  test('integers: type and inclusive range', () => {
    assert.equal(cfg('plugin.testns.count = 1').integer('plugin.testns.count'), 1);
    assert.equal(cfg('plugin.testns.count = 100').integer('plugin.testns.count'), 100);
    assert.deepEqual(problemsOf(() => cfg('plugin.testns.count = 0')), ['client.cfg:1: plugin.testns.count: must be at least 1, got "0"']);
    assert.deepEqual(problemsOf(() => cfg('plugin.testns.count = 2.5')), ['client.cfg:1: plugin.testns.count: expected an integer, got "2.5"']);
    assert.deepEqual(problemsOf(() => cfg('plugin.testns.count = 99999999999999999999')), ['client.cfg:1: plugin.testns.count: integer "99999999999999999999" is too large']);
  });

  test('numbers, enums, paths and lists', () => {
    const config = cfg('plugin.testns.ratio = .25\nplugin.testns.mode = fast\nplugin.testns.keyfile = /etc/keys/a.pem\nplugin.testns.hosts = a, b:c,,d');
    assert.equal(config.number('plugin.testns.ratio'), 0.25);
    assert.equal(config.string('plugin.testns.mode'), 'fast');
    assert.equal(config.string('plugin.testns.keyfile'), '/etc/keys/a.pem');
    assert.deepEqual(config.list('plugin.testns.hosts'), ['a', 'b', 'c', 'd']);
    assert.deepEqual(problemsOf(() => cfg('plugin.testns.ratio = 1.5\nplugin.testns.mode = slow\nplugin.testns.keyfile =')), [
      'client.cfg:1: plugin.testns.ratio: must be at most 1, got "1.5"',
      'client.cfg:2: plugin.testns.mode: expected one of fast, safe, got "slow"',
      'client.cfg:3: plugin.testns.keyfile: expected a path, got ""',
    ]);
  });

  test('numeric key segments match N in the schema, defaults included', () => {
    const config = cfg('plugin.testns.pool.1.host = a\nplugin.testns.pool.12.port = 6163\nplugin.testns.pool.12.port2 = 1');
    assert.equal(config.integer('plugin.testns.pool.1.port'), 61613);
    assert.equal(config.integer('plugin.testns.pool.12.port'), 6163);
    assert.deepEqual(config.warnings, ['client.cfg:3: plugin.testns.pool.12.port2: unknown key in namespace "testns"; did you mean plugin.testns.pool.12.port?']);
    assert.deepEqual(problemsOf(() => cfg('plugin.testns.pool.3.port = 70000')), ['client.cfg:1: plugin.testns.pool.3.port: must be at most 65535, got "70000"']);
  });
});

describe('typed accessors', () => {
  test('defaults apply to declared keys that are not set', () => {
    const config = cfg('');
    assert.equal(config.integer('plugin.testns.count'), 5);
    assert.equal(config.boolean('plugin.testns.enabled'), false);
    assert.equal(config.number('plugin.testns.ratio'), 0.5);
    assert.equal(config.string('plugin.testns.mode'), 'safe');
    assert.equal(config.raw('plugin.testns.count'), '5');
    assert.equal(config.has('plugin.testns.count'), false);
    assert.equal(config.origin('plugin.testns.count'), 'default');
    assert.equal(config.string('plugin.testns.secret'), undefined);
    assert.equal(config.origin('plugin.testns.secret'), 'unset');
    assert.deepEqual(config.list('plugin.testns.hosts'), []);
  });

  test('undeclared keys are parsed by the accessor type', () => {
    const config = cfg('plugin.agentx.retries = 3\nplugin.agentx.verbose = off\nplugin.agentx.names = a,b\nplugin.agentx.word = many');
    assert.equal(config.integer('plugin.agentx.retries'), 3);
    assert.equal(config.boolean('plugin.agentx.verbose'), false);
    assert.deepEqual(config.list('plugin.agentx.names'), ['a', 'b']);
    assert.throws(() => config.integer('plugin.agentx.word'), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems, ['client.cfg:4: plugin.agentx.word: expected an integer, got "many"']);
      return true;
    });
    assert.throws(() => config.integer('plugin.agentx.absent'), /plugin\.agentx\.absent: not set and has no default/);
    assert.equal(config.boolean('plugin.agentx.absent'), false);
    assert.equal(config.string('plugin.agentx.absent'), undefined);
  });

  test('returned lists are copies', () => {
    const config = cfg('collectives = a,b');
    config.list('collectives').push('c');
    assert.deepEqual(config.list('collectives'), ['a', 'b']);
  });

  test('the Config is frozen', () => {
    const config = cfg('identity = x');
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.warnings));
    assert.throws(() => {
      (config as unknown as { source: string }).source = 'elsewhere';
    }, TypeError);
  });

  test('keys() lists set keys by prefix, sorted', () => {
    const config = cfg('plugin.b.x = 1\nplugin.a.y = 2\nidentity = n');
    assert.deepEqual(config.keys('plugin.'), ['plugin.a.y', 'plugin.b.x']);
    assert.deepEqual(config.keys(), ['identity', 'plugin.a.y', 'plugin.b.x']);
  });
});

describe('unknown keys', () => {
  test('a misspelt top-level key is a warning with a suggestion, not an error', () => {
    const config = cfg('identty = n1\nregisterintervl = 5\ncompletely_unrelated_thing = 1');
    assert.deepEqual(config.warnings, [
      'client.cfg:1: identty: unknown key; did you mean identity?',
      'client.cfg:2: registerintervl: unknown key; did you mean registerinterval?',
      'client.cfg:3: completely_unrelated_thing: unknown key',
    ]);
    assert.equal(config.string('identty'), 'n1');
  });

  test('a misspelt key in a registered namespace is a warning with a suggestion', () => {
    assert.deepEqual(cfg('plugin.testns.cuont = 3').warnings, ['client.cfg:1: plugin.testns.cuont: unknown key in namespace "testns"; did you mean plugin.testns.count?']);
  });

  test('a misspelt registered namespace is pointed out', () => {
    assert.deepEqual(cfg('plugin.tesns.count = 3').warnings, ['client.cfg:1: plugin.tesns.count: no plugin "tesns" is registered; did you mean plugin.testns.count?']);
  });

  test('warnings are logged and counted when a logger and counters are given', () => {
    const logger = new CapturingLogger();
    const counters = new MemoryCounters();
    parseConfig('identty = n1', { source: 'client.cfg', env: {}, logger, counters });
    assert.equal(logger.find('warn', 'identty: unknown key; did you mean identity?').length, 1);
    assert.equal(counters.get('config.warnings'), 1);
  });

  test('problems are logged and counted when a logger and counters are given', () => {
    const logger = new CapturingLogger();
    const counters = new MemoryCounters();
    problemsOf(() => parseConfig('ttl = x\nloglevel = y', { source: 'client.cfg', env: {}, logger, counters }));
    assert.equal(logger.find('error', 'client.cfg:1: ttl').length, 1);
    assert.equal(counters.get('config.problems'), 2);
  });
});

describe('environment overrides', () => {
  test('a variable named by the schema overrides the file', () => {
    const config = cfg('plugin.testns.count = 7\nplugin.testns.secret = from-file', { TSC_TESTNS_COUNT: '9', TSC_TESTNS_SECRET: 's3cret' });
    assert.equal(config.integer('plugin.testns.count'), 9);
    assert.equal(config.origin('plugin.testns.count'), 'env TSC_TESTNS_COUNT');
    assert.equal(config.string('plugin.testns.secret'), 's3cret');
  });

  test('a variable applies when the file does not set the key, and an empty one is ignored', () => {
    assert.equal(cfg('', { TSC_TESTNS_COUNT: '11' }).has('plugin.testns.count'), true);
    const config = cfg('plugin.testns.count = 7', { TSC_TESTNS_COUNT: '' });
    assert.equal(config.integer('plugin.testns.count'), 7);
    assert.equal(config.origin('plugin.testns.count'), 'client.cfg:1');
  });

  test('an environment value is validated and named in the problem', () => {
    assert.deepEqual(problemsOf(() => cfg('', { TSC_TESTNS_COUNT: 'lots' })), ['env TSC_TESTNS_COUNT: plugin.testns.count: expected an integer, got "lots"']);
  });

  test('process.env is used when no env is given', () => {
    process.env['TSC_TESTNS_SECRET'] = 'from-process';
    try {
      assert.equal(parseConfig('', { source: 'client.cfg' }).string('plugin.testns.secret'), 'from-process');
    } finally {
      delete process.env['TSC_TESTNS_SECRET'];
    }
  });
});

describe('core schema', () => {
  test('MCollective defaults', () => {
    const config = configFromObject({}, noEnv);
    assert.equal(config.string('identity'), hostname());
    assert.deepEqual(config.list('collectives'), ['mcollective']);
    assert.equal(config.string('connector'), 'memory');
    assert.equal(config.string('securityprovider'), 'aes_security');
    assert.equal(config.integer('ttl'), 60);
    assert.equal(config.string('factsource'), 'yaml');
    assert.equal(config.integer('registerinterval'), 0);
    assert.equal(config.string('registration'), 'agentlist');
    assert.equal(config.string('rpcauthprovider'), 'action_policy');
    assert.equal(config.string('rpcauditprovider'), 'logfile');
    assert.equal(config.boolean('direct_addressing'), true);
    assert.equal(config.integer('direct_addressing_threshold'), 10);
    assert.equal(config.string('default_discovery_method'), 'mc');
    assert.equal(config.integer('discovery_timeout'), 2);
    assert.equal(config.string('loglevel'), 'info');
    assert.equal(config.string('plugin.rpcaudit.logfile'), '/var/log/mcollective-audit.log');
    assert.equal(config.boolean('plugin.actionpolicy.allow_unconfigured'), false);
    assert.equal(config.string('plugin.actionpolicy.default_name'), 'default');
    assert.deepEqual(config.warnings, []);
  });

  test('every top-level key has a doc line and a valid default', () => {
    const core = registeredSchemas().find((schema) => schema.namespace === '');
    assert.ok(core);
    for (const key of ['identity', 'collectives', 'main_collective', 'libdir', 'daemonize', 'classesfile', 'registration_splay', 'registration_collective',
      'rpcauthorization', 'rpcaudit', 'soft_shutdown', 'soft_shutdown_timeout', 'keeplogs', 'max_log_size', 'activate_agents', 'fact_cache_time',
      'rpclimitmethod', 'threaded', 'logfile', 'logger_type', 'plugin.yaml']) {
      assert.ok(core.keys[key], key);
      assert.ok(core.keys[key]!.doc.length > 10, key);
    }
  });

  test('main_collective and registration_collective must be among collectives', () => {
    assert.deepEqual(problemsOf(() => cfg('collectives = a,b\nmain_collective = c\nregistration_collective = b\n')), [
      'client.cfg:2: main_collective: "c" is not one of collectives (a, b)',
    ]);
    assert.deepEqual(problemsOf(() => cfg('registration_collective = other')), ['client.cfg:1: registration_collective: "other" is not one of collectives (mcollective)']);
  });

  test('cross-key problems are reported together with the others', () => {
    assert.equal(problemsOf(() => cfg('ttl = x\nmain_collective = nope')).length, 2);
  });
});

describe('configFromObject', () => {
  test('accepts strings, numbers, booleans and lists, validated like a file', () => {
    const config = configFromObject({ identity: 'n1', ttl: 30, daemonize: true, collectives: ['a', 'b'], main_collective: 'b' }, { source: 'demo', env: {} });
    assert.equal(config.integer('ttl'), 30);
    assert.equal(config.boolean('daemonize'), true);
    assert.deepEqual(config.list('collectives'), ['a', 'b']);
    assert.equal(config.origin('ttl'), 'demo');
    assert.equal(config.source, 'demo');
    assert.equal(configFromObject({}, noEnv).source, '(memory)');
  });

  test('refuses settings that are not an object', () => {
    assert.deepEqual(problemsOf(() => configFromObject(null as unknown as Record<string, string>, noEnv)), ['configFromObject: settings must be an object of key -> value, got null']);
  });

  test('reports every bad value', () => {
    const settings = { ttl: -1, identity: { nested: true }, 'bad key': 'x', count: Number.NaN } as unknown as Record<string, string>;
    assert.deepEqual(problemsOf(() => configFromObject(settings, noEnv)), [
      '(memory): identity: expected a string, finite number, boolean or list of strings, got object',
      '(memory): "bad key" is not a valid key (dotted words of letters, digits, "_" and "-")',
      '(memory): count: expected a string, finite number, boolean or list of strings, got NaN',
      '(memory): ttl: must be at least 1, got "-1"',
    ]);
  });
});

describe('registerConfigSchema', () => {
  test('a namespace can be registered once', () => {
    assert.throws(() => registerConfigSchema({ namespace: 'testns', keys: {} }), (error: unknown) => error instanceof InvalidArgumentError && /"testns" is already registered/.test(error.message));
  });

  test('a malformed schema is refused with every problem named', () => {
    assert.throws(
      () =>
        registerConfigSchema({
          namespace: 'broken_schema',
          keys: {
            choice: { type: 'enum', doc: 'no values' },
            port: { type: 'integer', default: 'eighty', doc: 'bad default' },
            'pool.N.x': { type: 'string', env: 'POOL_X', doc: 'env on a pattern' },
            'bad key': { type: 'string', doc: 'spaces' },
          },
        }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError);
        assert.match(error.message, /key "choice": an enum needs a non-empty values list/);
        assert.match(error.message, /key "port": default "eighty": expected an integer/);
        assert.match(error.message, /key "pool\.N\.x": a key with an N segment cannot have an env override/);
        assert.match(error.message, /key "bad key": not a valid key/);
        return true;
      },
    );
    assert.equal(registeredSchemas().some((schema) => schema.namespace === 'broken_schema'), false);
  });

  test('registered schemas include the core namespaces', () => {
    const namespaces = registeredSchemas().map((schema) => schema.namespace);
    for (const namespace of ['', 'actionpolicy', 'rpcaudit', 'testns']) assert.ok(namespaces.includes(namespace), namespace);
  });
});
