/** Request authorization: MCollective action policies. */
export { ActionPolicyAuthorizer } from './actionpolicy.js';
export type { ActionPolicyOptions, AuthorizationRequest, AuthorizationDecision } from './actionpolicy.js';
export { parsePolicy, evaluatePolicy, policyMayAllow } from './policy.js';
export type { Policy, PolicyRule, PolicySubject } from './policy.js';
