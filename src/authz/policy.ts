/**
 * MCollective action policy files (`<policy_dir>/<agent>.policy`):
 *
 *     policy default deny
 *     allow	cert=alice cert=bob	*	*	*
 *     allow	cert=ops	restart status	country=uk	webserver
 *     deny	*	*	environment=production and not role=db	*
 *
 * Each rule is `allow|deny <TAB> callerids <TAB> actions <TAB> facts <TAB> classes`; each
 * column is `*` or a space-separated list. A caller/action column matches when any entry
 * equals the value; facts match when every fact filter matches (or, when the column is a
 * compound expression with and/or/not/parentheses, when it evaluates true); classes match when
 * the node has every listed class. The first matching rule decides; otherwise `policy default`.
 */
import { PolicyError } from '../errors.js';
import { compileCompound, compileFactFilter, readFactFilter } from '../filter/index.js';
import { nameMatcher } from '../filter/regex.js';

/** What a policy decides about. */
export interface PolicySubject {
  callerid: string;
  action: string;
  facts: Readonly<Record<string, string>>;
  classes: readonly string[];
}

/** One parsed rule. */
export interface PolicyRule {
  effect: 'allow' | 'deny';
  line: number;
  matches(subject: PolicySubject): boolean;
  /** Whether the callerid column matches `callerid` (whatever the action, facts and classes). */
  matchesCaller(callerid: string): boolean;
  /** Whether the actions, facts and classes columns are all `*` (the rule applies to every request of its callers). */
  unconditional: boolean;
}

/** A parsed policy file. */
export interface Policy {
  source: string;
  defaultEffect: 'allow' | 'deny';
  rules: PolicyRule[];
}

const COMPOUND_WORDS = /(^|\s)(and|or|not)(\s|$)|[()!]/;

function listColumn(text: string, test: (entry: string) => (value: string) => boolean): (value: string) => boolean {
  if (text === '*') return () => true;
  const matchers = text.split(/\s+/).filter(Boolean).map(test);
  return (value) => matchers.some((m) => m(value));
}

function factsColumn(text: string): (subject: PolicySubject) => boolean {
  if (text === '*') return () => true;
  if (COMPOUND_WORDS.test(text.replace(/fact\([^)]*\)/g, 'f'))) {
    const test = compileCompound(text);
    return (subject) => test(subject);
  }
  const tests = text.split(/\s+/).filter(Boolean).map((entry) => compileFactFilter(readFactFilter(entry)));
  return (subject) => tests.every((test) => test(subject.facts));
}

function classesColumn(text: string): (subject: PolicySubject) => boolean {
  if (text === '*') return () => true;
  const tests = text.split(/\s+/).filter(Boolean).map((entry) => nameMatcher(entry, 'policy class'));
  return (subject) => tests.every((test) => subject.classes.some(test));
}

/**
 * Parses a policy file. Throws PolicyError naming `source:line` for every problem (an unknown
 * effect, a wrong column count, a bad fact filter, a bad default).
 */
export function parsePolicy(text: string, source: string): Policy {
  let defaultEffect: 'allow' | 'deny' = 'deny';
  const rules: PolicyRule[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const policyLine = /^policy\s+default\s+(\S+)$/.exec(trimmed);
    if (policyLine) {
      if (policyLine[1] === 'allow' || policyLine[1] === 'deny') defaultEffect = policyLine[1];
      else problems.push(`${source}:${line}: policy default must be allow or deny, got ${JSON.stringify(policyLine[1])}`);
      return;
    }
    const columns = raw.replace(/\s+$/, '').split(/\t+/).map((c) => c.trim());
    if (columns.length !== 5) {
      problems.push(`${source}:${line}: expected "allow|deny<TAB>callerids<TAB>actions<TAB>facts<TAB>classes" (5 tab-separated columns), got ${columns.length}`);
      return;
    }
    const [effect, callers, actions, facts, classes] = columns as [string, string, string, string, string];
    if (effect !== 'allow' && effect !== 'deny') {
      problems.push(`${source}:${line}: the first column must be allow or deny, got ${JSON.stringify(effect)}`);
      return;
    }
    try {
      const callerTest = listColumn(callers, (entry) => (value) => value === entry);
      const actionTest = listColumn(actions, (entry) => (value) => value === entry);
      const factTest = factsColumn(facts);
      const classTest = classesColumn(classes);
      rules.push({
        effect,
        line,
        matches: (s) => callerTest(s.callerid) && actionTest(s.action) && factTest(s) && classTest(s),
        matchesCaller: callerTest,
        unconditional: actions === '*' && facts === '*' && classes === '*',
      });
    } catch (error) {
      problems.push(`${source}:${line}: ${(error as Error).message}`);
    }
  });
  if (problems.length > 0) throw new PolicyError(`policy file has ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`);
  return { source, defaultEffect, rules };
}

/**
 * Whether `policy` could allow `callerid` anything at all, whatever the action, facts and classes: an allow rule
 * for the caller before any unconditional deny for it, or a default allow not shadowed by such a deny. A sound
 * over-approximation of `evaluatePolicy` (never false when some request of the caller would be allowed).
 */
export function policyMayAllow(policy: Policy, callerid: string): boolean {
  for (const rule of policy.rules) {
    if (!rule.matchesCaller(callerid)) continue;
    if (rule.effect === 'allow') return true;
    if (rule.unconditional) return false;
  }
  return policy.defaultEffect === 'allow';
}

/** The decision of a policy for one request, with the rule that made it. */
export function evaluatePolicy(policy: Policy, subject: PolicySubject): { allowed: boolean; reason: string } {
  for (const rule of policy.rules) {
    if (rule.matches(subject)) return { allowed: rule.effect === 'allow', reason: `${policy.source}:${rule.line} ${rule.effect}` };
  }
  return { allowed: policy.defaultEffect === 'allow', reason: `${policy.source} policy default ${policy.defaultEffect}` };
}
