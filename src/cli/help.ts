// The command line as data: commands, options, help text, and a tokenizer on node:util parseArgs. Pure: no I/O.
// (yargs took longer to load than a whole snapshot: string-width's emoji tables; see docs/bench.md, Start-up.)
import { parseArgs } from 'node:util';
import { UsageError } from '../model/errors.js';

export type CommandName = 'watch' | 'replay' | 'demo' | 'snapshot';
type Kind = 'string' | 'strings' | 'boolean' | 'number';

interface Option {
  name: string;
  short?: string;
  kind: Kind;
  /** the value's name in the help (FILE, PID) */
  arg?: string;
  describe: string;
  default?: string;
  choices?: readonly string[];
  /** the usage error for a missing value */
  missing?: string;
}

interface Command {
  name: CommandName;
  usage: string;
  summary: string;
  positional: { name: string; describe: string } | null;
  options: Option[];
  examples: Array<[string, string]>;
}

const JSON_MISSING = '--json needs a file name (or - for stdout)';
const DOT_MISSING = '--dot needs a file name (graph.dot)';
const TUI = 'open the dashboard on a terminal (--no-tui: readable lines)';
const LEAK: Option = { name: 'leak-threshold', kind: 'number', arg: 'N', default: '64',
  describe: 'fd-leak alert when a process holds N received fds it never used or closed, or N it sent and never closed' };

const WATCH: Command = {
  name: 'watch', usage: 'fdwatch [watch] [PID|NAME...] [options] [-- COMMAND...]',
  summary: 'Trace processes live (attach to PIDs, or launch a command after --) and show fds as they move',
  positional: { name: 'PID|NAME', describe: 'process ids to attach to (threads resolve to their process), or names as pgrep -x' },
  options: [
    { name: 'pid', short: 'p', kind: 'strings', arg: 'PID', describe: 'a process id to attach to (repeatable)' },
    { name: 'json', kind: 'string', arg: 'FILE', describe: 'write NDJSON records as they happen to this file (- for stdout)', missing: JSON_MISSING },
    { name: 'tui', kind: 'boolean', default: 'true', describe: TUI },
    { name: 'path', kind: 'strings', arg: 'PATH', describe: 'attach to every process holding this file or unix socket path (as lsof PATH; repeatable)' },
    { name: 'port', kind: 'strings', arg: 'PORT', describe: 'attach to every process holding this TCP/UDP port (as lsof -i :PORT; repeatable)' },
    { name: 'tree', kind: 'boolean', default: 'false', describe: 'also attach to the existing descendants of the processes chosen' },
    { name: 'only', kind: 'string', arg: 'LIST', describe: 'line mode and JSON: only these record types (process,fd,transfer,map,alert), pid=N, comm=NAME, path=TEXT (the summary always)' },
    { name: 'dot', kind: 'string', arg: 'FILE', describe: 'at the end, write a Graphviz graph of processes and transfers to this file (and FILE.svg when dot is installed)', missing: DOT_MISSING },
    { name: 'backend', kind: 'string', arg: 'NAME', choices: ['auto', 'bpf', 'strace'], describe: 'the tracer: eBPF (no ptrace stops) or strace; auto: eBPF when this kernel allows it, for a launched command only through the native engine (default: auto, bpf with --all; strace for a launch with --bpf-engine bpftrace)' },
    { name: 'bpf-engine', kind: 'string', arg: 'NAME', choices: ['auto', 'native', 'bpftrace'], describe: 'the eBPF backend\'s engine: native (fdwatch\'s own BPF programs, loaded in a fraction of a second) or bpftrace; auto: native when it loads, else bpftrace (a launch: else strace) (default: auto, or FDWATCH_BPF_ENGINE)' },
    { name: 'all', kind: 'boolean', default: 'false', describe: 'every process on the host (eBPF): who passes fds to whom right now' },
    LEAK,
  ],
  examples: [
    ['fdwatch 1234', 'attach to a running process, its threads and future children (through eBPF when it can)'],
    ['fdwatch nginx --tree', 'every process named nginx (as pgrep -x) and its existing workers'],
    ['fdwatch --port 8088 --no-tui --only transfer,alert', 'the holders of a port; only transfers and alerts'],
    ['fdwatch --backend strace 1234', 'attach through ptrace instead (every traced call stops the process twice)'],
    ['fdwatch --all --no-tui --only transfer', 'every fd passed between any processes on the host (eBPF)'],
    ['fdwatch -- ./server --flag', 'launch and trace'],
    ['fdwatch -p 1234 -- getent passwd', 'attach to a daemon and launch its client, in one trace'],
    ['fdwatch 1234 --json out.ndjson', 'NDJSON records as they happen'],
  ],
};

const REPLAY: Command = {
  name: 'replay', usage: 'fdwatch replay TRACE [options]',
  summary: 'Read a recorded strace log (strace -f -o FILE, -ff -o PREFIX, or - for stdin) and show fd tables and transfers',
  positional: { name: 'TRACE', describe: 'log file (or pipe), -ff prefix (reads PREFIX.<pid>), folder of -ff files, or - for stdin' },
  options: [
    { name: 'json', kind: 'string', arg: 'FILE', describe: 'write NDJSON records to this file (- for stdout) instead of the report', missing: JSON_MISSING },
    { name: 'date', kind: 'string', arg: 'DAY', describe: 'day (YYYY-MM-DD) that -t/-tt times belong to; default: the log\'s modification day' },
    { name: 'tui', kind: 'boolean', default: 'false', describe: 'play the recording in the dashboard (space, ., +/- control it)' },
    { name: 'dot', kind: 'string', arg: 'FILE', describe: 'also write a Graphviz graph of processes and transfers to this file (and FILE.svg when dot is installed)', missing: DOT_MISSING },
    { name: 'follow', kind: 'string', arg: 'PID:FD', describe: 'print the history of one fd across processes' },
    LEAK,
  ],
  examples: [
    ['fdwatch replay trace.log', 'a log from strace -f -yy -o trace.log CMD'],
    ["strace -f -yy -o '|fdwatch replay -' CMD", 'the trace through a pipe of its own (CMD keeps its output)'],
    ['xz -dc trace.log.xz | fdwatch replay -', 'xz/zstd logs (gzip ones are read directly)'],
    ['fdwatch replay trace.log --json out.ndjson', 'NDJSON export'],
    ['fdwatch replay trace.log --dot fds.dot', 'the transfer graph, drawn in fds.svg when Graphviz is installed'],
  ],
};

const DEMO: Command = {
  name: 'demo', usage: 'fdwatch demo [options]',
  summary: 'Watch built-in fd-passing workloads live: fork + socketpair pass, an nscd-style broker, a hot-reload socket hand-over',
  positional: null,
  options: [
    { name: 'rounds', kind: 'number', arg: 'N', default: '0', describe: 'rounds of the three workloads (0: until you quit)' },
    { name: 'json', kind: 'string', arg: 'FILE', describe: 'also write NDJSON records to this file (- for stdout)', missing: JSON_MISSING },
    { name: 'tui', kind: 'boolean', default: 'true', describe: TUI },
  ],
  examples: [],
};

const SNAPSHOT: Command = {
  name: 'snapshot', usage: 'fdwatch snapshot [PID...] [options]',
  summary: 'Show what processes hold right now: fd tables, socket peers, shared open file descriptions, mappings',
  positional: { name: 'PID', describe: 'process ids (default: every process you may read)' },
  options: [
    { name: 'json', kind: 'string', arg: 'FILE', describe: 'write NDJSON records to this file (- for stdout)', missing: JSON_MISSING },
    { name: 'diff', kind: 'string', arg: 'OLD.ndjson', describe: 'compare with an earlier snapshot --json file: fds opened, closed, changed per process' },
  ],
  examples: [
    ['fdwatch snapshot', 'every fd table, socket peer and shared open file you may read'],
    ['fdwatch snapshot 1234 --json out.ndjson', 'one process, as NDJSON records'],
  ],
};

export const COMMANDS: readonly Command[] = [WATCH, REPLAY, DEMO, SNAPSHOT];

const GLOBAL: Option[] = [
  { name: 'help', short: 'h', kind: 'boolean', describe: 'show this help' },
  { name: 'version', kind: 'boolean', describe: 'show the version number' },
];

const EPILOGUE = 'Exit status: a live trace gives the launched command\'s (0 for -p traces); 128+N once fdwatch is stopped by ' +
  'signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP), also in the dashboard and in replay; 1 for an error, including an ' +
  'output that cannot be written; 2 for a usage error; 70 for an internal error (a bug: one line, FDWATCH_DEBUG=1 ' +
  'shows the stack). A reader closing stdout early (| head) ends replay and ' +
  'snapshot quietly with 0. Environment: FDWATCH_BPF_ENGINE (--bpf-engine\'s default); FDWATCH_CACHE=DIR or =off ' +
  '(where the native engine keeps what it derives from this kernel, default $XDG_CACHE_HOME/fdwatch, else ~/.cache/fdwatch); FDWATCH_BLOB=off ' +
  '(start without the start-up snapshot of npm run build; so does any NODE_OPTIONS); FDWATCH_DEBUG=1.';

/** Words of `text` in lines of at most `width` characters, each after `indent` spaces (the first after none). */
function wrap(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  let line = '';
  for (const w of text.split(' ')) {
    if (line !== '' && line.length + 1 + w.length > width) { lines.push(line); line = w; } else line = line === '' ? w : `${line} ${w}`;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

/** Two columns: the left one padded to `col`, the right one wrapped beside it (on its own line when the left is long). */
function rows(items: Array<[string, string]>, col: number): string {
  return items.map(([l, r]) => {
    const right = wrap(r, 80 - col, col);
    return l.length + 2 < col ? `  ${l.padEnd(col - 2)}${right}` : `  ${l}\n${' '.repeat(col)}${right}`;
  }).join('\n');
}

function optionRows(options: Option[]): Array<[string, string]> {
  return options.map((o) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.arg ? ` ${o.arg}` : ''}`;
    const extra = [o.choices ? `one of ${o.choices.join(', ')}` : '', o.default !== undefined && o.kind !== 'boolean' ? `default ${o.default}` : '',
      o.kind === 'boolean' && o.default === 'true' ? `default on` : ''].filter(Boolean);
    return [flag, extra.length > 0 ? `${o.describe} (${extra.join('; ')})` : o.describe];
  });
}

/** The help of one command; the watch command's is the top-level help with the list of commands. */
export function helpText(name: CommandName | null): string {
  const c = COMMANDS.find((x) => x.name === (name ?? 'watch'))!;
  const parts: string[] = [];
  if (name === null) {
    parts.push('Usage: fdwatch <command> [options]\n\n' +
      wrap('Shows how file descriptors live and move between processes (SCM_RIGHTS, pidfd_getfd, fork, exec).', 80, 0));
    parts.push(`Commands:\n${rows(COMMANDS.map((x) => [x === WATCH ? 'watch (the default)' : x.name, x.summary]), 22)}\n\n` +
      '  fdwatch COMMAND --help shows the options of one command.');
  }
  parts.push(`${name === null ? 'Default command: ' : 'Usage: '}${c.usage}\n\n${wrap(c.summary, 80, 0)}`);
  if (c.positional) parts.push(`Arguments:\n${rows([[c.positional.name, c.positional.describe]], 22)}`);
  parts.push(`Options:\n${rows(optionRows([...c.options, ...GLOBAL]), 26)}`);
  if (c.examples.length > 0) parts.push(`Examples:\n${rows(c.examples, 44)}`);
  if (name === null) parts.push(wrap(EPILOGUE, 80, 0));
  return `${parts.join('\n\n')}\n`;
}

export type Values = Record<string, string | boolean | string[] | undefined>;

export type Parsed =
  | { kind: 'help'; command: CommandName | null }
  | { kind: 'version' }
  | { kind: 'run'; command: CommandName; values: Values; positionals: string[]; rest: string[] | null };

// every option of every command, for the one tokenizing pass (an option is the same kind wherever it appears)
const TOKEN_OPTIONS = Object.fromEntries([...COMMANDS.flatMap((c) => c.options), ...GLOBAL].map((o) => [o.name,
  { type: o.kind === 'boolean' ? 'boolean' as const : 'string' as const, ...(o.short ? { short: o.short } : {}) }]));

const unknown = (raw: string): UsageError => new UsageError(`Unknown argument: ${raw.replace(/^-+/, '')} (see --help)`);

/**
 * `argv` (without node and the script) as a command, its option values, positionals and the words after `--`.
 * Throws a UsageError (exit 2, one line) for an unknown option, a missing value, a bad choice or a stray positional.
 */
export function parseCommandLine(argv: readonly string[]): Parsed {
  const { tokens } = parseArgs({ args: [...argv], options: TOKEN_OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const firstPositional = tokens.find((t) => t.kind === 'positional' || t.kind === 'option-terminator');
  const named = firstPositional?.kind === 'positional' ? COMMANDS.find((c) => c.name === firstPositional.value) : undefined;
  const cmd = named ?? WATCH;
  const values: Values = {};
  const positionals: string[] = [];
  let rest: string[] | null = null;
  let help = false;
  let version = false;
  for (const t of tokens) {
    if (rest !== null) { if (t.kind === 'positional') rest.push(t.value); continue; }
    if (t.kind === 'option-terminator') { rest = []; continue; }
    if (t.kind === 'positional') { if (t !== firstPositional || !named) positionals.push(t.value); continue; }
    if (t.name === 'help') { help = true; continue; }
    if (t.name === 'version') { version = true; continue; }
    const negated = t.name.startsWith('no-') ? cmd.options.find((o) => o.kind === 'boolean' && o.name === t.name.slice(3)) : undefined;
    const o = negated ?? cmd.options.find((x) => x.name === t.name);
    if (!o) throw unknown(t.rawName);
    if (o.kind === 'boolean') {
      // --tui=false as yargs took it; any other value is a mistake
      const v = t.value === undefined || t.value === 'true' ? true : t.value === 'false' ? false : null;
      if (v === null) throw new UsageError(`--${o.name} takes no value: ${t.rawName}=${t.value}`);
      values[o.name] = negated ? !v : v;
      continue;
    }
    // a separate value that looks like an option is the next option, not this one's value (`--json --tui`; -1 is a number)
    const value = t.value === undefined || (!t.inlineValue && t.value.startsWith('-') && t.value !== '-' && !(o.kind === 'number' && /^-\d/.test(t.value))) ? undefined : t.value;
    // an empty value is the runner's to judge (`-p ''` is not a process id), except for a file name
    if (value === undefined || (value === '' && o.missing)) throw new UsageError(o.missing ?? `--${o.name} needs a value${o.arg ? ` (${o.arg})` : ''}`);
    if (o.choices && !o.choices.includes(value)) throw new UsageError(`--${o.name} must be one of ${o.choices.join(', ')}, got ${value}`);
    if (o.kind === 'strings') ((values[o.name] ??= []) as string[]).push(value);
    else values[o.name] = value;
  }
  if (help) return { kind: 'help', command: named ? cmd.name : null };
  if (version) return { kind: 'version' };
  if (!cmd.positional && positionals.length > 0) throw unknown(positionals[0]!);
  if (cmd === REPLAY && positionals.length > 1) throw unknown(positionals[1]!);
  if (cmd !== WATCH && rest !== null && rest.length > 0) throw new UsageError(`${cmd.name} launches no command: remove -- ${rest.join(' ')}`);
  return { kind: 'run', command: cmd.name, values, positionals, rest };
}
