// fdwatch command line: yargs commands wired to their runners. Errors are one line and a non-zero exit.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { replay, UsageError } from './replay.js';
import { InputError } from '../tracer/read.js';

function fail(msg: string, code = 1): never {
  process.stderr.write(`fdwatch: ${msg}\n`);
  process.exit(code);
}

function errorText(e: unknown): string {
  if (e instanceof UsageError || e instanceof InputError) return e.message;
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
      'replay <trace>',
      'Read a recorded strace log (strace -f -o FILE, -ff -o PREFIX, or - for stdin) and show fd tables and transfers',
      (y) => y
        .positional('trace', { type: 'string', demandOption: true, describe: 'log file, -ff prefix (reads PREFIX.<pid>), folder of -ff files, or - for stdin' })
        .option('json', { type: 'string', describe: 'write NDJSON records to this file (- for stdout) instead of the report' })
        .option('date', { type: 'string', describe: 'day (YYYY-MM-DD) that -t/-tt times belong to; default: the log\'s modification day' })
        .example('$0 replay trace.log', 'a log from strace -f -yy -o trace.log CMD')
        .example('strace -f -yy CMD 2>&1 | $0 replay -', 'read stdin')
        .example('$0 replay trace.log --json out.ndjson', 'NDJSON export'),
      async (a) => {
        const s = await replay({ trace: (a.trace as string) === '' ? '-' : (a.trace as string), // yargs reads '-' as ''
           json: (a.json as string | undefined) ?? null, date: (a.date as string | undefined) ?? null });
        process.exitCode = s.lines === 0 ? 1 : 0;
        if (s.lines === 0) process.stderr.write('fdwatch: the trace is empty\n');
      },
    )
    .command(
      'snapshot [pids..]',
      'Show what processes hold right now: fd tables, socket peers, shared open file descriptions, mappings',
      (y) => y
        .positional('pids', { type: 'number', array: true, describe: 'process ids (default: every process you may read)' })
        .option('json', { type: 'string', describe: 'write NDJSON records to this file (- for stdout)' }),
      async (a) => {
        const { runSnapshot } = await import('./snapshot.js');
        const pids = ((a.pids as number[] | undefined) ?? []).map(Number);
        for (const p of pids) if (!Number.isInteger(p) || p <= 0) throw new UsageError(`not a process id: ${p}`);
        process.exitCode = await runSnapshot({ pids, json: (a.json as string | undefined) ?? null });
      },
    )
    .demandCommand(1, 'name a command: replay or snapshot (see --help)')
    .recommendCommands()
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

main().catch((e: unknown) => fail(errorText(e)));
