// fdwatch command line: yargs commands wired to their runners. Errors are one line and a non-zero exit.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { replay, UsageError } from './replay.js';
import { InputError } from '../tracer/read.js';
import type { WatchOptions } from './watch.js';

function fail(msg: string, code = 1): never {
  process.stderr.write(`fdwatch: ${msg}\n`);
  process.exit(code);
}

function errorText(e: unknown): string {
  if (e instanceof UsageError || e instanceof InputError || (e instanceof Error && e.name === 'LiveError')) return e.message;
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err === 'object' && err.code && err.path) {
    const what: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a directory' };
    return `${what[err.code] ?? err.code}: ${err.path}`;
  }
  return err instanceof Error ? err.message : String(e);
}

async function main(): Promise<void> {
  // `--json -` means stdout; yargs would read the lone dash as a stray positional
  const argv = hideBin(process.argv);
  for (let i = 0; i < argv.length - 1; i++) {
    if (argv[i] === '--json' && argv[i + 1] === '-') argv.splice(i, 2, '--json=-');
  }
  await yargs(argv)
    .scriptName('fdwatch')
    .usage('$0 <command>\n\nShows how file descriptors live and move between processes (SCM_RIGHTS, pidfd_getfd, fork, exec).')
    .command(
      ['$0 [pids..]', 'watch [pids..]'],
      'Trace processes live (attach to PIDs, or launch a command after --) and show fds as they move',
      (y) => y
        .positional('pids', { type: 'string', array: true, describe: 'process ids to attach to (threads resolve to their process)' })
        .option('pid', { alias: 'p', type: 'number', array: true, describe: 'a process id to attach to (repeatable)' })
        .option('json', { type: 'string', describe: 'write NDJSON records as they happen to this file (- for stdout)' })
        .option('tui', { type: 'boolean', default: true, describe: 'open the dashboard on a terminal (--no-tui: readable lines)' })
        .option('backend', { choices: ['auto', 'bpf', 'strace'], describe: 'the tracer: eBPF (bpftrace, no ptrace stops) or strace; auto: eBPF when this kernel allows it (default: strace, or bpf with --all)' })
        .option('all', { type: 'boolean', default: false, describe: 'every process on the host (eBPF): who passes fds to whom right now' })
        .example('$0 1234', 'attach to a running process, its threads and future children')
        .example('$0 -- ./server --flag', 'launch and trace')
        .example('$0 -p 1234 -- getent passwd', 'attach to a daemon and launch its client, in one trace')
        .example('$0 1234 --json out.ndjson', 'NDJSON records as they happen'),
      async (a) => {
        const { runWatch } = await import('./watch.js');
        const given = [...((a.pids as Array<string | number> | undefined) ?? []), ...((a.pid as Array<string | number> | undefined) ?? [])].map(String);
        for (const p of given) {
          if (!/^[1-9]\d*$/.test(p)) throw new UsageError(`not a command or a process id: ${p} (see --help)`);
        }
        const pids = given.map(Number);
        const rest = (a['--'] as Array<string | number> | undefined)?.map(String) ?? [];
        process.exitCode = await runWatch({
          pids, command: rest.length > 0 ? rest : null, json: (a.json as string | undefined) ?? null,
          lines: !(a.tui as boolean) || !process.stdout.isTTY,
          backend: a.backend as WatchOptions['backend'], all: a.all as boolean,
        });
      },
    )
    .command(
      'replay <trace>',
      'Read a recorded strace log (strace -f -o FILE, -ff -o PREFIX, or - for stdin) and show fd tables and transfers',
      (y) => y
        .positional('trace', { type: 'string', demandOption: true, describe: 'log file (or pipe), -ff prefix (reads PREFIX.<pid>), folder of -ff files, or - for stdin' })
        .option('json', { type: 'string', describe: 'write NDJSON records to this file (- for stdout) instead of the report' })
        .option('date', { type: 'string', describe: 'day (YYYY-MM-DD) that -t/-tt times belong to; default: the log\'s modification day' })
        .option('tui', { type: 'boolean', default: false, describe: 'play the recording in the dashboard (space, ., +/- control it)' })
        .example('$0 replay trace.log', 'a log from strace -f -yy -o trace.log CMD')
        .example('strace -f -yy CMD 2>&1 | $0 replay -', 'read stdin')
        .example('$0 replay trace.log --json out.ndjson', 'NDJSON export'),
      async (a) => {
        if (a.tui) {
          const { runReplayTui } = await import('./tui.js');
          process.exitCode = await runReplayTui({ trace: a.trace as string, json: (a.json as string | undefined) ?? null });
          return;
        }
        const s = await replay({ trace: (a.trace as string) === '' ? '-' : (a.trace as string), // yargs reads '-' as ''
           json: (a.json as string | undefined) ?? null, date: (a.date as string | undefined) ?? null });
        process.exitCode = s.lines === 0 ? 1 : 0;
        if (s.lines === 0) process.stderr.write('fdwatch: the trace is empty\n');
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
        .option('json', { type: 'string', describe: 'write NDJSON records to this file (- for stdout)' }),
      async (a) => {
        const { runSnapshot } = await import('./snapshot.js');
        const given = ((a.pids as Array<string | number> | undefined) ?? []).map(String);
        for (const p of given) if (!/^[1-9]\d*$/.test(p)) throw new UsageError(`not a process id: ${p}`);
        const pids = given.map(Number);
        process.exitCode = await runSnapshot({ pids, json: (a.json as string | undefined) ?? null });
      },
    )
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

main().catch((e: unknown) => fail(errorText(e), e instanceof UsageError ? 2 : 1));
