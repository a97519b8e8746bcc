/** Request filters: parsers for the client (`-F`, `-S`) and the matcher the daemon applies. */
export { parseFactFilter, compileFactFilter, factFilterProblem, FACT_OPERATORS } from './fact.js';
export { parseCompound, compileCompound, MAX_COMPOUND_LENGTH } from './compound.js';
export type { CompoundNode, CompoundSubject } from './compound.js';
export { compileFilter, matchFilter, validateRequestFilter, emptyFilter } from './match.js';
export type { NodeFacts } from './match.js';
export { compilePattern, isRegexLiteral, nameMatcher, MAX_PATTERN_LENGTH } from './regex.js';
