/** MCollective action policy files and the action_policy authorizer. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActionPolicyAuthorizer, evaluatePolicy, parsePolicy } from '../../src/authz/index.js';
import { PolicyError } from '../../src/errors.js';
import { CapturingLogger } from '../../src/util/log.js';
import { tempDir } from './helpers.js';

const node = { facts: { country: 'uk', environment: 'prod', role: 'web' }, classes: ['webserver', 'base'] };
const subject = (callerid: string, action: string) => ({ callerid, action, ...node });

describe('parsePolicy', () => {
  const policy = parsePolicy(
    [
      '# comment',
      'policy default deny',
      'allow\tcert=alice cert=carol\t*\t*\t*',
      'deny\tcert=bob\trestart\t*\t*',
      'allow\tcert=bob\tstatus restart\tcountry=uk role=web\twebserver',
      'allow\tcert=dave\tstatus\tenvironment=prod and not role=db\t*',
      'allow\tcert=erin\tstatus\tcountry=de\t*',
    ].join('\n'),
    'service.policy',
  );

  test('the first matching rule decides; otherwise the default', () => {
    assert.equal(evaluatePolicy(policy, subject('cert=alice', 'restart')).allowed, true);
    assert.equal(evaluatePolicy(policy, subject('cert=carol', 'anything')).allowed, true);
    assert.equal(evaluatePolicy(policy, subject('cert=bob', 'restart')).allowed, false);
    assert.equal(evaluatePolicy(policy, subject('cert=bob', 'status')).allowed, true);
    assert.equal(evaluatePolicy(policy, subject('cert=dave', 'status')).allowed, true, 'compound facts column');
    assert.equal(evaluatePolicy(policy, subject('cert=erin', 'status')).allowed, false, 'fact does not match: default deny');
    assert.deepEqual(evaluatePolicy(policy, subject('cert=mallory', 'status')), { allowed: false, reason: 'service.policy policy default deny' });
    assert.equal(evaluatePolicy(policy, subject('cert=bob', 'restart')).reason, 'service.policy:4 deny');
  });

  test('policy default allow', () => {
    assert.equal(evaluatePolicy(parsePolicy('policy default allow\n', 'p'), subject('cert=x', 'y')).allowed, true);
  });

  test('every problem is reported with file and line', () => {
    assert.throws(
      () => parsePolicy('policy default maybe\npermit\tcert=a\t*\t*\t*\nallow cert=a * * *\nallow\t*\t*\tcountry=~/(/\t*\n', 'bad.policy'),
      (error: unknown) => {
        assert.ok(error instanceof PolicyError);
        for (const part of ['bad.policy:1: policy default must be allow or deny', 'bad.policy:2: the first column', 'bad.policy:3: expected', 'bad.policy:4:']) assert.ok(error.message.includes(part), part);
        return true;
      },
    );
  });
});

describe('ActionPolicyAuthorizer', () => {
  const dir = tempDir('policies');
  mkdirSync(join(dir, 'p'));
  writeFileSync(join(dir, 'p', 'rpcutil.policy'), 'policy default deny\nallow\tcert=alice\t*\t*\t*\n');
  writeFileSync(join(dir, 'p', 'default.policy'), 'policy default deny\nallow\tcert=admin\t*\t*\t*\n');
  writeFileSync(join(dir, 'p', 'broken.policy'), 'allow everyone\n');
  const options = { policyDir: join(dir, 'p'), enableDefault: false, defaultName: 'default', allowUnconfigured: false };
  const request = (agent: string, callerid: string) => ({ agent, callerid, action: 'ping', ...node });

  test('per-agent policy files; unknown callers denied', () => {
    const authz = new ActionPolicyAuthorizer(options, new CapturingLogger());
    assert.equal(authz.authorize(request('rpcutil', 'cert=alice')).allowed, true);
    assert.equal(authz.authorize(request('rpcutil', 'cert=unknown')).allowed, false);
  });

  test('agents without a policy: denied, unless enable_default or allow_unconfigured', () => {
    assert.match(new ActionPolicyAuthorizer(options, new CapturingLogger()).authorize(request('service', 'cert=admin')).reason, /no policy file for agent service/);
    const withDefault = new ActionPolicyAuthorizer({ ...options, enableDefault: true }, new CapturingLogger());
    assert.equal(withDefault.authorize(request('service', 'cert=admin')).allowed, true);
    assert.equal(withDefault.authorize(request('service', 'cert=alice')).allowed, false);
    assert.equal(new ActionPolicyAuthorizer({ ...options, allowUnconfigured: true }, new CapturingLogger()).authorize(request('service', 'cert=x')).allowed, true);
  });

  test('an invalid policy file denies everything and is logged', () => {
    const logger = new CapturingLogger();
    const authz = new ActionPolicyAuthorizer({ ...options, allowUnconfigured: true }, logger);
    assert.deepEqual(authz.authorize(request('broken', 'cert=alice')), { allowed: false, reason: `${join(dir, 'p', 'broken.policy')} is invalid` });
    assert.equal(logger.find('error', 'is invalid; denying every request').length, 1);
  });

  test('edited policy files take effect without a restart', () => {
    const authz = new ActionPolicyAuthorizer(options, new CapturingLogger());
    const path = join(dir, 'p', 'editable.policy');
    writeFileSync(path, 'policy default deny\n');
    assert.equal(authz.authorize(request('editable', 'cert=alice')).allowed, false);
    writeFileSync(path, 'policy default deny\nallow\tcert=alice\t*\t*\t*\n');
    authz.reload();
    assert.equal(authz.authorize(request('editable', 'cert=alice')).allowed, true);
  });
});
