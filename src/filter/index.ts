/** Request filters: parsers for the client (`-F`, `-S`) and the matcher the daemon applies. */
export { parseFactFilter, readFactFilter, compileFactFilter, tryCompileFactFilter, factFilterProblem, isRegexFactFilter, FACT_OPERATORS } from './fact.js';
export { parseCompound, compileCompound, compileCompoundTree, countCompoundRegexes, MAX_COMPOUND_LENGTH } from './compound.js';
export type { CompoundNode, CompoundSubject } from './compound.js';
export { compileFilter, matchFilter, validateRequestFilter, emptyFilter, MAX_FILTER_REGEXES, MAX_FILTER_PROGRAM_SIZE, MAX_FILTER_CLASS_RANGES, MAX_REPORTED_PROBLEMS } from './match.js';
export type { NodeFacts } from './match.js';
export {
  compileLinearRegex, compilePattern, parseRegexLiteral, isRegexLiteral, nameMatcher, backtrackingConstruct,
  MAX_CLASS_RANGES, MAX_PATTERN_LENGTH, MAX_PROGRAM_SIZE, REGEX_FLAGS,
} from './regex.js';
export type { LinearRegex, RegexCompiler } from './regex.js';
