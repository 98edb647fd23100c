// `isthmus completion bash|zsh`: a shell completion script made from the same
// option tables that drive parsing and --help, so it cannot drift from them:
// the commands, each command's options, the values of enumerated options
// (log levels, formats, xDS protocol) and files where an option takes a path.
import { LOG_FORMATS, LOG_LEVELS } from '../log-levels.js';
import type { CommandSpec, OptionSpec } from './options.js';

export interface CompletionCommand {
  readonly name: string;
  readonly summary: string;
  /** undefined for commands without options (version, help, completion). */
  readonly spec?: CommandSpec;
  /** Words for bare arguments (proxy-config's sections, completion's shells); files when absent. */
  readonly words?: readonly string[];
  /** Short flags the command also takes (`-f`, `-o`). */
  readonly shortFlags?: readonly string[];
}

/** The fixed values an option takes, when it takes one of a few words. */
function optionValues(o: OptionSpec): readonly string[] | undefined {
  if (o.name === 'log-level') return LOG_LEVELS;
  if (o.name === 'log-format') return LOG_FORMATS;
  if (o.type === 'boolean') return undefined;
  // `delta|sotw`, `auto|json|pretty`, `stdout|off|PATH`: the lower-case words are the fixed values.
  const words = (o.valueName ?? '').split('|').filter((w) => /^[a-z][a-z0-9-]*$/.test(w));
  return words.length >= 2 ? words : undefined;
}

function takesPath(o: OptionSpec): boolean {
  return /FILE|DIR|PATH/.test(o.valueName ?? '');
}

function flags(c: CompletionCommand): string[] {
  if (c.spec === undefined) return [];
  return [...c.spec.options.map((o) => `--${o.name}`), '--config', '--help', ...(c.shortFlags ?? []), '-h'];
}

/** A bash script defining _isthmus and `complete -F _isthmus isthmus` (files by default, via -o default). */
export function bashCompletion(commands: readonly CompletionCommand[]): string {
  const cases = commands.map((c) => {
    const valueCases = (c.spec?.options ?? []).flatMap((o) => {
      const values = optionValues(o);
      if (values !== undefined) return [`        --${o.name}) COMPREPLY=( $(compgen -W "${values.join(' ')}" -- "$cur") ); return 0 ;;`];
      if (takesPath(o)) return [`        --${o.name}) return 0 ;;`]; // -o default completes the path
      if (o.type !== 'boolean') return [`        --${o.name}) return 0 ;;`];
      return [];
    });
    if (c.spec !== undefined) valueCases.push('        --config) return 0 ;;');
    return [
      `    ${c.name})`,
      ...(valueCases.length > 0 ? ['      case "$prev" in', ...valueCases, '      esac'] : []),
      ...(c.spec !== undefined ? [`      if [[ "$cur" == -* ]]; then COMPREPLY=( $(compgen -W "${flags(c).join(' ')}" -- "$cur") ); return 0; fi`] : []),
      ...(c.words !== undefined ? [`      COMPREPLY=( $(compgen -W "${c.words.join(' ')}" -- "$cur") )`] : []),
      '      ;;',
    ].join('\n');
  });
  return `# bash completion for isthmus: source <(isthmus completion bash), or save it in your bash_completion.d
_isthmus() {
  local cur prev
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  COMPREPLY=()
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=( $(compgen -W "${commands.map((c) => c.name).join(' ')}" -- "$cur") )
    return 0
  fi
  case "\${COMP_WORDS[1]}" in
${cases.join('\n')}
  esac
  return 0
}
complete -o default -F _isthmus isthmus
`;
}

/** Text inside a zsh completion spec's [description] or single quotes. */
function zshText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/([[\]:])/g, '\\$1').replace(/'/g, "'\\''").replace(/`/g, '');
}

function zshOption(o: OptionSpec): string {
  const description = zshText(o.description.split(/[;(]/)[0]!.trim());
  const repeat = o.name === 'label' ? '*' : '';
  if (o.type === 'boolean') return `'${repeat}--${o.name}[${description}]'`;
  const values = optionValues(o);
  const action = values !== undefined ? `(${values.join(' ')})` : takesPath(o) ? '_files' : ' ';
  return `'${repeat}--${o.name}=[${description}]:${zshText(o.valueName ?? o.type)}:${action}'`;
}

/** A zsh script (#compdef isthmus) with _arguments per command; works from fpath or when sourced. */
export function zshCompletion(commands: readonly CompletionCommand[]): string {
  const described = commands.map((c) => `    '${c.name}:${zshText(c.summary)}'`);
  const cases = commands.map((c) => {
    const specs = (c.spec?.options ?? []).map(zshOption);
    if (c.spec !== undefined) specs.push("'--config=[read options from a YAML file]:FILE:_files'", "'(- *)'{-h,--help}'[show the help]'");
    const rest = c.words !== undefined ? `'*:argument:(${c.words.join(' ')})'` : "'*:file:_files'";
    return `    ${c.name})\n      _arguments -s \\\n        ${[...specs, rest].join(' \\\n        ')}\n      ;;`;
  });
  return `#compdef isthmus
# zsh completion for isthmus: source <(isthmus completion zsh), or save it as _isthmus in your $fpath
_isthmus() {
  local -a commands
  commands=(
${described.join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'isthmus command' commands
    return
  fi
  local command=$words[2]
  shift words
  (( CURRENT-- ))
  case $command in
${cases.join('\n')}
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _isthmus "$@"
else
  compdef _isthmus isthmus
fi
`;
}
