// fdwatch command line: yargs commands wired to their runners. Errors are one line and a non-zero exit.
import { FdwatchError, UsageError } from '../model/errors.js';
import { signalExit } from './signals.js';

/** One line on stderr; returns the exit status to set. */
function complain(msg: string, code: number): number {
  process.stderr.write(`fdwatch: ${msg}\n`);
  return code;
}

function fail(msg: string, code = 1): never {
  process.exit(complain(msg, code));
}

const isPid = (p: string): boolean => /^[1-9]\d*$/.test(p);

/** `--dot FILE`; a --dot with no file is a usage error. */
function dotFile(v: unknown): string | null {
  if (v === undefined) return null;
  if (v === '') throw new UsageError('--dot needs a file name (graph.dot)');
  return String(v);
}

/** `--leak-threshold N` (watch, replay): the level every trace session of this run takes. */
async function leakOption(v: unknown): Promise<void> {
  const n = /^\d+$/.test(String(v)) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 2) throw new UsageError(`--leak-threshold must be a whole number >= 2, got ${String(v)}`);
  (await import('../correlate/leaks.js')).setLeakThreshold(n);
}

function errorText(e: unknown): string {
  if (e instanceof FdwatchError) return e.message;
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err === 'object' && err.code && err.path) {
    const what: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a directory' };
    return `${what[err.code] ?? err.code}: ${err.path}`;
  }
  return err instanceof Error ? err.message : String(e);
}

/**
 * `snapshot [pids..] [--json FILE]` and nothing else: the same command without yargs, whose load (string-width's
 * Unicode tables) alone takes longer than the snapshot. Anything else (help, a typo, a repeated flag) is null.
 */
function plainSnapshot(argv: string[]): { pids: number[]; json: string | null } | null {
  if (argv[0] !== 'snapshot') return null;
  const pids: number[] = [];
  let json: string | null = null;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (isPid(a)) { pids.push(Number(a)); continue; }
    const value = a.startsWith('--json=') ? a.slice(7) : a === '--json' && i + 1 < argv.length ? argv[++i]! : null;
    if (value === null || value === '' || json !== null || (a === '--json' && value.startsWith('-') && value !== '-')) return null;
    json = value;
  }
  return { pids, json };
}

async function main(): Promise<void> {
  // `--json -` means stdout; yargs would read the lone dash as a stray positional
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length - 1; i++) {
    if (argv[i] === '--json' && argv[i + 1] === '-') argv.splice(i, 2, '--json=-');
  }
  const snap = plainSnapshot(argv);
  if (snap) {
    const { runSnapshot } = await import('./snapshot.js');
    process.exitCode = await runSnapshot(snap);
    return;
  }
  const { default: yargs } = await import('yargs');
  await yargs(argv)
    .scriptName('fdwatch')
    .usage('$0 <command>\n\nShows how file descriptors live and move between processes (SCM_RIGHTS, pidfd_getfd, fork, exec).')
    .command(
      ['$0 [pids..]', 'watch [pids..]'],
      'Trace processes live (attach to PIDs, or launch a command after --) and show fds as they move',
      (y) => y
        .positional('pids', { type: 'string', array: true, describe: 'process ids to attach to (threads resolve to their process)' })
        .option('pid', { alias: 'p', type: 'string', array: true, describe: 'a process id to attach to (repeatable)' })
        .option('json', { type: 'string', describe: 'write NDJSON records as they happen to this file (- for stdout)' })
        .option('tui', { type: 'boolean', default: true, describe: 'open the dashboard on a terminal (--no-tui: readable lines)' })
        .option('path', { type: 'string', array: true, describe: 'attach to every process holding this file or unix socket path (as lsof PATH)' })
        .option('port', { type: 'string', array: true, describe: 'attach to every process holding this TCP/UDP port (as lsof -i :PORT)' })
        .option('tree', { type: 'boolean', default: false, describe: 'also attach to the existing descendants of the processes chosen' })
        .option('only', { type: 'string', describe: 'line mode and JSON: only these record types (process,fd,transfer,map,alert), pid=N, comm=NAME, path=TEXT (the summary always)' })
        .option('dot', { type: 'string', describe: 'at the end, write a Graphviz graph of processes and transfers to this file (and FILE.svg when dot is installed)' })
        .option('backend', { choices: ['auto', 'bpf', 'strace'], describe: 'the tracer: eBPF (bpftrace, no ptrace stops) or strace; auto: eBPF when this kernel allows it (default: strace, or bpf with --all)' })
        .option('all', { type: 'boolean', default: false, describe: 'every process on the host (eBPF): who passes fds to whom right now' })
        .option('leak-threshold', { type: 'string', describe: 'fd-leak: alert when a process holds this many fds received and never used or closed, or sent and never closed, or gains this many while its fd count grows every second (default 64)' })
        .example('$0 1234', 'attach to a running process, its threads and future children')
        .example('$0 nginx --tree', 'every process named nginx (as pgrep -x) and its existing workers')
        .example('$0 --port 8088 --no-tui --only transfer,alert', 'the holders of a port; only transfers and alerts')
        .example('$0 --backend auto 1234', 'through eBPF when this kernel allows it (no ptrace stops), else strace')
        .example('$0 --all --no-tui --only transfer', 'every fd passed between any processes on the host (eBPF)')
        .example('$0 -- ./server --flag', 'launch and trace')
        .example('$0 -p 1234 -- getent passwd', 'attach to a daemon and launch its client, in one trace')
        .example('$0 1234 --json out.ndjson', 'NDJSON records as they happen'),
      async (a) => {
        const { runWatch, ONLY_TYPES } = await import('./watch.js');
        const positional = ((a.pids as Array<string | number> | undefined) ?? []).map(String);
        const flagged = ((a.pid as Array<string | number> | undefined) ?? []).map(String);
        // a positional that is no pid is a process name (pgrep -x), or a mistyped command
        const names = positional.filter((p) => !isPid(p));
        for (const p of flagged) if (!isPid(p)) throw new UsageError(`not a process id: ${p}`);
        const ports = ((a.port as Array<string | number> | undefined) ?? []).map(String);
        for (const p of ports) if (!/^\d+$/.test(p) || Number(p) > 65535) throw new UsageError(`not a port: ${p}`);
        const only = a.only !== undefined ? String(a.only).split(',').map((x) => x.trim()).filter(Boolean) : null;
        for (const o of only ?? []) {
          if (!ONLY_TYPES.includes(o) && !/^(pid=\d+|comm=.+|path=.+)$/.test(o)) throw new UsageError(`--only: not a record type or pid=N, comm=NAME, path=TEXT: ${o} (types: ${ONLY_TYPES.join(', ')})`);
        }
        const pids = [...positional.filter(isPid), ...flagged].map(Number);
        const rest = (a['--'] as Array<string | number> | undefined)?.map(String) ?? [];
        process.exitCode = await runWatch({
          pids, command: rest.length > 0 ? rest : null, json: (a.json as string | undefined) ?? null,
          lines: !(a.tui as boolean) || !process.stdout.isTTY,
          names, paths: ((a.path as Array<string | number> | undefined) ?? []).map(String), ports: ports.map(Number),
          tree: a.tree as boolean, only, dot: dotFile(a.dot),
          backend: a.backend as 'auto' | 'bpf' | 'strace' | undefined, all: a.all as boolean,
        });
      },
    )
    .command(
      // optional here, required in the handler: an unknown option would take the log name as its value and yargs would
      // report the missing positional before the unknown option
      'replay [trace]',
      'Read a recorded strace log (strace -f -o FILE, -ff -o PREFIX, or - for stdin) and show fd tables and transfers',
      (y) => y
        .positional('trace', { type: 'string', describe: 'log file (or pipe), -ff prefix (reads PREFIX.<pid>), folder of -ff files, or - for stdin' })
        .option('json', { type: 'string', describe: 'write NDJSON records to this file (- for stdout) instead of the report' })
        .option('date', { type: 'string', describe: 'day (YYYY-MM-DD) that -t/-tt times belong to; default: the log\'s modification day' })
        .option('tui', { type: 'boolean', default: false, describe: 'play the recording in the dashboard (space, ., +/- control it)' })
        .option('dot', { type: 'string', describe: 'also write a Graphviz graph of processes and transfers to this file (and FILE.svg when dot is installed)' })
        .option('leak-threshold', { type: 'string', describe: 'fd-leak: alert when a process holds this many fds received and never used or closed, or sent and never closed (default 64)' })
        .example('$0 replay trace.log', 'a log from strace -f -yy -o trace.log CMD')
        .example("strace -f -yy -o '|$0 replay -' CMD", 'the trace through a pipe of its own (CMD keeps its output)')
        .example('xz -dc trace.log.xz | $0 replay -', 'xz/zstd logs (gzip ones are read directly)')
        .example('$0 replay trace.log --json out.ndjson', 'NDJSON export')
        .example('$0 replay trace.log --dot fds.dot', 'the transfer graph, drawn in fds.svg when Graphviz is installed'),
      async (a) => {
        if (a.trace === undefined) throw new UsageError('replay needs a trace: a log file, an -ff prefix, a folder of -ff files, or - for stdin (see --help)');
        if (a.tui && a.dot !== undefined) throw new UsageError('--dot goes with the report or --json, not --tui');
        if (a.tui) {
          const { runReplayTui } = await import('./tui.js');
          process.exitCode = await runReplayTui({ trace: a.trace as string, json: (a.json as string | undefined) ?? null,
            date: (a.date as string | undefined) ?? null });
          return;
        }
        const { replay, RECORD } = await import('./replay.js');
        const r = await replay({ trace: (a.trace as string) === '' ? '-' : (a.trace as string), // yargs reads '-' as ''
           json: (a.json as string | undefined) ?? null, date: (a.date as string | undefined) ?? null,
           dot: (a.dot as string | undefined) ?? null });
        // a closed stdout ends a replay as it ends any Unix filter: quietly, status 0
        if (r.failure) process.exitCode = complain(r.failure, 1);
        else if (r.signal) process.exitCode = signalExit(r.signal);
        else if (r.closed) process.exitCode = 0;
        else if (r.summary.lines === 0) process.exitCode = complain('the trace is empty', 1);
        else if (r.nothing) {
          const name = r.summary.lines === 1 ? '1 line' : `${r.summary.lines} lines`;
          process.exitCode = complain(`no strace output in ${a.trace === '' ? 'stdin' : String(a.trace)} (${name}, none from strace): ` +
            `record a log with ${RECORD}`, 1);
        }
        else process.exitCode = 0;
      },
    )
    .command(
      'demo',
      'Watch built-in fd-passing workloads live: fork + socketpair pass, an nscd-style broker, a hot-reload socket hand-over',
      (y) => y
        .option('rounds', { type: 'number', default: 0, describe: 'rounds of the three workloads (0: until you quit)' })
        .option('json', { type: 'string', describe: 'also write NDJSON records to this file (- for stdout)' })
        .option('tui', { type: 'boolean', default: true, describe: 'open the dashboard on a terminal (--no-tui: readable lines)' }),
      async (a) => {
        const { runDemo } = await import('./demo.js');
        const rounds = a.rounds as number;
        if (!Number.isInteger(rounds) || rounds < 0) throw new UsageError(`--rounds must be a whole number >= 0, got ${rounds}`);
        process.exitCode = await runDemo({ rounds, json: (a.json as string | undefined) ?? null, lines: !(a.tui as boolean) || !process.stdout.isTTY });
      },
    )
    .command(
      'snapshot [pids..]',
      'Show what processes hold right now: fd tables, socket peers, shared open file descriptions, mappings',
      (y) => y
        .positional('pids', { type: 'string', array: true, describe: 'process ids (default: every process you may read)' })
        .option('json', { type: 'string', describe: 'write NDJSON records to this file (- for stdout)' })
        .option('diff', { type: 'string', describe: 'what changed since this earlier snapshot --json file: fds opened, closed and changed per process, the growth, new and gone processes' }),
      async (a) => {
        const { runSnapshot } = await import('./snapshot.js');
        if (a.diff === '') throw new UsageError('--diff needs the file of an earlier snapshot --json');
        const given = ((a.pids as Array<string | number> | undefined) ?? []).map(String);
        for (const p of given) if (!/^[1-9]\d*$/.test(p)) throw new UsageError(`not a process id: ${p}`);
        const pids = given.map(Number);
        process.exitCode = await runSnapshot({ pids, json: (a.json as string | undefined) ?? null, diff: (a.diff as string | undefined) ?? null });
      },
    )
    .epilogue('Exit status: a live trace gives the launched command\'s (0 for -p traces); 128+N once fdwatch is stopped by ' +
      'signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP), also in the dashboard and in replay; 1 for an error, including an ' +
      'output that cannot be written; 2 for a usage error. A reader closing stdout early (| head) ends replay and ' +
      'snapshot quietly with 0.')
    .middleware(async (a) => { if (a.leakThreshold !== undefined) await leakOption(a.leakThreshold); })
    .parserConfiguration({ 'populate--': true })
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .fail((msg, err) => {
      if (err) throw err;
      fail(`${msg} (see --help)`, 2);
    })
    .parseAsync();
}

main().catch((e: unknown) => fail(errorText(e), e instanceof FdwatchError ? e.exitCode : 1));
