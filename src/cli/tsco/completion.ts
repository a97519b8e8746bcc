/**
 * `tsco completion bash|zsh`: a shell completion script generated from the program's own command definitions
 * (commander's commands, aliases, options, option choices and argument choices), so it never lags behind them.
 * It completes command names, each command's options, the values of options with choices (`--dm`, `--display`),
 * file names for options taking a `<file>`/`<dir>`, and argument choices (`completion bash|zsh`).
 *
 *   source <(tsco completion bash)                                      # or save it in bash-completion's directory
 *   tsco completion zsh > "${fpath[1]}/_tsco"                           # or: source <(tsco completion zsh)
 */
import { Argument, type Command, type Option } from 'commander';
import type { Streams } from './output.js';

/** The shells a script can be generated for. */
export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;

/** One option as the completion sees it. */
interface CompletionOption {
  flags: string[];
  description: string;
  takesValue: boolean;
  choices: readonly string[];
  files: boolean;
}

/** One command (the program itself at the root) as the completion sees it. */
interface CompletionNode {
  /** Space-separated command names from the root ('' for the program). */
  path: string;
  names: string[];
  description: string;
  options: CompletionOption[];
  children: CompletionNode[];
  /** Values the command's arguments may take (from argument choices). */
  argumentChoices: readonly string[];
}

/** Words the scripts hold unquoted: command names, flags and choices that are plain. */
const SAFE_WORD = /^[\w.:+-]+$/;

function optionOf(option: Option): CompletionOption {
  return {
    flags: [option.short, option.long].filter((flag): flag is string => typeof flag === 'string' && SAFE_WORD.test(flag)),
    description: option.description,
    takesValue: option.required || option.optional,
    choices: (option.argChoices ?? []).filter((choice) => SAFE_WORD.test(choice)),
    files: /<(file|dir|directory|path)>|\[(file|dir|directory|path)\]/i.test(option.flags),
  };
}

const HELP: CompletionOption = { flags: ['-h', '--help'], description: 'display help for command', takesValue: false, choices: [], files: false };

/** The command tree of `program`, as the completion scripts need it. */
export function completionTree(program: Command, path = ''): CompletionNode {
  const children = program.commands.map((command) => completionTree(command, path === '' ? command.name() : `${path} ${command.name()}`));
  if (path === '' && program.commands.length > 0) {
    children.push({ path: 'help', names: ['help'], description: 'display help for command', options: [HELP], children: [], argumentChoices: program.commands.map((c) => c.name()) });
  }
  return {
    path,
    names: [program.name(), ...program.aliases()].filter((name) => SAFE_WORD.test(name)),
    description: program.description(),
    options: [...program.options.filter((option) => !option.hidden).map(optionOf), HELP],
    children,
    argumentChoices: program.registeredArguments.flatMap((argument) => [...(argument.argChoices ?? [])]).filter((choice) => SAFE_WORD.test(choice)),
  };
}

function walk(node: CompletionNode): CompletionNode[] {
  return [node, ...node.children.flatMap(walk)];
}

/** A single-quoted shell word (both shells). */
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** One line of text for a description. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The functions both scripts share (POSIX-ish syntax bash and zsh both read): command and value-option lookup. */
function sharedFunctions(root: CompletionNode): string[] {
  const nodes = walk(root);
  const rootValueFlags = root.options.filter((option) => option.takesValue).flatMap((option) => option.flags);
  const lines = ['# Prints the canonical name of subcommand $2 under command path $1; fails when it is none.', '_tsco_command() {', '  case "$1|$2" in'];
  for (const node of nodes) {
    for (const child of node.children) lines.push(`    ${child.names.map((name) => `"${node.path}|${name}"`).join('|')}) echo ${child.names[0]} ;;`);
  }
  lines.push('    *) return 1 ;;', '  esac', '}', '', '# Succeeds when option $2 of command path $1 takes a value.', '_tsco_takes_value() {', '  case "$1|$2" in');
  for (const node of nodes) {
    const flags = node.options.filter((option) => option.takesValue).flatMap((option) => option.flags);
    if (flags.length > 0 && node !== root) lines.push(`    ${flags.map((flag) => `"${node.path}|${flag}"`).join('|')}) return 0 ;;`);
  }
  // The program's own options (-c FILE) are recognised before and after a command.
  if (rootValueFlags.length > 0) lines.push(`    ${rootValueFlags.map((flag) => `*"|${flag}"`).join('|')}) return 0 ;;`);
  lines.push('  esac', '  return 1', '}');
  return lines;
}

/** The value cases: `"<path>|<flag>") <action> ;;` for every option with choices or file values. */
function valueCases(root: CompletionNode, choices: (words: readonly string[]) => string, files: string): string[] {
  const lines: string[] = [];
  for (const node of walk(root)) {
    for (const option of node.options) {
      if (!option.takesValue || (option.choices.length === 0 && !option.files)) continue;
      const keys = option.flags.map((flag) => (node === root ? `*"|${flag}"` : `"${node.path}|${flag}"`)).join('|');
      lines.push(`    ${keys}) ${option.choices.length > 0 ? choices(option.choices) : files} ;;`);
    }
  }
  return lines;
}

/** The walk over the words typed so far, setting `cmd` to the command path (same code in both shells). */
function wordLoop(first: string, words: string, current: string): string[] {
  return [
    `  for (( i = ${first}; i < ${current}; i++ )); do`,
    `    w="\${${words}[i]}"`,
    '    if [[ "$w" == -* ]]; then',
    '      if [[ "$w" != *=* ]] && _tsco_takes_value "$cmd" "$w"; then i=$(( i + 1 )); fi',
    '    elif sub="$(_tsco_command "$cmd" "$w")"; then',
    '      cmd="${cmd:+$cmd }$sub"',
    '    fi',
    '  done',
  ];
}

/** The bash completion script for `program`. */
export function bashCompletion(program: Command): string {
  const root = completionTree(program);
  const lines = ['# bash completion for tsco, generated by `tsco completion bash`; load with: source <(tsco completion bash)', ''];
  lines.push(...sharedFunctions(root), '');
  lines.push('# The options (with "-") or the subcommands and argument values of command path $1.', '_tsco_words() {', '  case "$1|$2" in');
  for (const node of walk(root)) {
    lines.push(`    "${node.path}|-") echo ${quote(node.options.flatMap((option) => option.flags).join(' '))} ;;`);
    const words = [...node.children.flatMap((child) => child.names), ...node.argumentChoices];
    if (words.length > 0) lines.push(`    "${node.path}|") echo ${quote(words.join(' '))} ;;`);
  }
  lines.push('  esac', '}', '');
  lines.push('_tsco_values() {', '  case "$1|$2" in');
  lines.push(...valueCases(root, (words) => `COMPREPLY=( $(compgen -W ${quote(words.join(' '))} -- "$cur") )`, 'COMPREPLY=( $(compgen -f -- "$cur") )'));
  lines.push('    *) COMPREPLY=() ;;', '  esac', '}', '');
  lines.push('_tsco() {', '  local cur prev cmd="" i w sub', '  cur="${COMP_WORDS[COMP_CWORD]}"', '  prev="${COMP_WORDS[COMP_CWORD-1]}"');
  lines.push(...wordLoop('1', 'COMP_WORDS', 'COMP_CWORD'));
  lines.push(
    '  if (( COMP_CWORD > 1 )) && [[ "$prev" == -* ]] && _tsco_takes_value "$cmd" "$prev"; then',
    '    _tsco_values "$cmd" "$prev"',
    '    return 0',
    '  fi',
    '  if [[ "$cur" == -* ]]; then',
    '    COMPREPLY=( $(compgen -W "$(_tsco_words "$cmd" -)" -- "$cur") )',
    '  else',
    '    COMPREPLY=( $(compgen -W "$(_tsco_words "$cmd" "")" -- "$cur") )',
    '  fi',
    '}',
    'complete -o default -F _tsco tsco',
  );
  return `${lines.join('\n')}\n`;
}

/** The zsh completion script for `program` (autoloadable from $fpath as `_tsco`, or sourced). */
export function zshCompletion(program: Command): string {
  const root = completionTree(program);
  const lines = ['#compdef tsco', '# zsh completion for tsco, generated by `tsco completion zsh`; save as _tsco in $fpath, or: source <(tsco completion zsh)', ''];
  lines.push(...sharedFunctions(root), '');
  lines.push('_tsco_describe() {', '  local -a entries', '  case "$1|$2" in');
  const entry = (name: string, description: string) => quote(description ? `${name.replace(/:/g, '\\:')}:${oneLine(description)}` : name.replace(/:/g, '\\:'));
  for (const node of walk(root)) {
    lines.push(`    "${node.path}|-") entries=(${node.options.flatMap((option) => option.flags.map((flag) => entry(flag, option.description))).join(' ')}) ;;`);
    const words = [...node.children.flatMap((child) => child.names.map((name) => entry(name, child.description))), ...node.argumentChoices.map((choice) => entry(choice, ''))];
    if (words.length > 0) lines.push(`    "${node.path}|") entries=(${words.join(' ')}) ;;`);
  }
  lines.push('  esac', '  (( ${#entries} )) || return 1', '  if [[ "$2" == - ]]; then _describe -t options option entries; else _describe -t commands command entries; fi', '}', '');
  lines.push('_tsco_values() {', '  case "$1|$2" in');
  lines.push(...valueCases(root, (words) => `compadd -- ${words.map(quote).join(' ')}`, '_files'));
  lines.push('  esac', '}', '');
  lines.push('_tsco() {', '  local cmd="" i w sub cur="${words[CURRENT]}" prev="${words[CURRENT-1]}"');
  lines.push(...wordLoop('2', 'words', 'CURRENT'));
  lines.push(
    '  if (( CURRENT > 2 )) && [[ "$prev" == -* ]] && _tsco_takes_value "$cmd" "$prev"; then',
    '    _tsco_values "$cmd" "$prev"',
    '    return',
    '  fi',
    '  if [[ "$cur" == -* ]]; then _tsco_describe "$cmd" -; else _tsco_describe "$cmd" ""; fi',
    '}',
    '',
    'if [[ "${zsh_eval_context[-1]}" == loadautofunc ]]; then',
    '  _tsco "$@"',
    'else',
    '  compdef _tsco tsco',
    'fi',
  );
  return `${lines.join('\n')}\n`;
}

/** Registers `tsco completion bash|zsh`: prints the script for the program as registered so far (call it last). */
export function registerCompletionCommand(program: Command, streams: Streams, run: (work: Promise<number>) => void): void {
  program.command('completion')
    .description('print a bash or zsh completion script (source <(tsco completion bash))')
    .addArgument(new Argument('<shell>', 'the shell').choices([...COMPLETION_SHELLS]))
    .action((shell: string) => {
      streams.out(shell === 'zsh' ? zshCompletion(program) : bashCompletion(program));
      run(Promise.resolve(0));
    });
}
