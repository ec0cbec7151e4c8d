// fdwatch command line: the commands of help.ts wired to their runners. Errors are one line and a non-zero exit.
import { UsageError } from '../model/errors.js';
import { signalExit } from './signals.js';
import { exitInternal, installCatchAll, installTestHook, internalError, internalFailure, userError } from './crash.js';
import { helpText, parseCommandLine, type Values } from './help.js';

/** One line on stderr; returns the exit status to set. */
function complain(msg: string, code: number): number {
  process.stderr.write(`fdwatch: ${msg}\n`);
  return code;
}

function fail(msg: string, code = 1): never {
  process.exit(complain(msg, code));
}

const isPid = (p: string): boolean => /^[1-9]\d*$/.test(p);

const strings = (v: Values[string]): string[] => (Array.isArray(v) ? v : []);
const text = (v: Values[string]): string | null => (typeof v === 'string' ? v : null);
const flag = (v: Values[string], dflt: boolean): boolean => (typeof v === 'boolean' ? v : dflt);

/** A whole number >= 0 given to `--name`, or null when not given. */
function count(name: string, v: Values[string]): number | null {
  const s = text(v);
  if (s === null) return null;
  if (!/^\d+$/.test(s)) throw new UsageError(`--${name} must be a whole number >= 0, got ${s}`);
  return Number(s);
}

/** `--leak-threshold N` (watch, replay): the level every trace session of this run takes; null when not given. */
async function leakOption(values: Values): Promise<number | null> {
  const s = text(values['leak-threshold']);
  if (s === null) return null;
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < 2) throw new UsageError(`--leak-threshold must be a whole number >= 2, got ${s}`);
  (await import('../correlate/leaks.js')).setLeakThreshold(n);
  return n;
}

async function watch(values: Values, positional: string[], rest: string[] | null): Promise<number> {
  const { runWatch, ONLY_TYPES } = await import('./watch.js');
  const flagged = strings(values.pid);
  // a positional that is no pid is a process name (pgrep -x), or a mistyped command
  const names = positional.filter((p) => !isPid(p));
  for (const p of flagged) if (!isPid(p)) throw new UsageError(`not a process id: ${p}`);
  const ports = strings(values.port);
  for (const p of ports) if (!/^\d+$/.test(p) || Number(p) > 65535) throw new UsageError(`not a port: ${p}`);
  const onlyText = text(values.only);
  const only = onlyText !== null ? onlyText.split(',').map((x) => x.trim()).filter(Boolean) : null;
  for (const o of only ?? []) {
    if (!ONLY_TYPES.includes(o) && !/^(pid=\d+|comm=.+|path=.+)$/.test(o)) throw new UsageError(`--only: not a record type or pid=N, comm=NAME, path=TEXT: ${o} (types: ${ONLY_TYPES.join(', ')})`);
  }
  const leakThreshold = await leakOption(values);
  // the eBPF engine: --bpf-engine, else FDWATCH_BPF_ENGINE (checked before anything starts)
  const backend = await import('./backend.js');
  backend.setBpfEngine(backend.askedEngine(text(values['bpf-engine'])));
  const opts = {
    pids: [...positional.filter(isPid), ...flagged].map(Number), command: rest !== null && rest.length > 0 ? rest : null,
    json: text(values.json), lines: !flag(values.tui, true) || !process.stdout.isTTY,
    names, paths: strings(values.path), ports: ports.map(Number), tree: flag(values.tree, false), only, dot: text(values.dot),
    backend: (text(values.backend) ?? undefined) as 'auto' | 'bpf' | 'strace' | undefined, all: flag(values.all, false), leakThreshold,
  };
  return runWatch(opts);
}

async function replayCommand(values: Values, positional: string[]): Promise<number> {
  const trace = positional[0];
  if (trace === undefined) throw new UsageError('replay needs a trace: a log file, an -ff prefix, a folder of -ff files, or - for stdin (see --help)');
  const tui = flag(values.tui, false);
  const json = text(values.json);
  const date = text(values.date);
  const dot = text(values.dot);
  const follow = text(values.follow);
  const leakThreshold = await leakOption(values);
  if (tui && dot !== null) throw new UsageError('--dot goes with the report or --json, not --tui');
  if (tui) {
    const { runReplayTui } = await import('./tui.js');
    const opts = { trace, json, date, follow, leakThreshold };
    return runReplayTui(opts);
  }
  const { replay, RECORD } = await import('./replay.js');
  const opts = { trace, json, date, dot, follow, leakThreshold };
  const r = await replay(opts);
  // a closed stdout ends a replay as it ends any Unix filter: quietly, status 0
  if (r.failure) return complain(r.failure, 1);
  if (r.signal) return signalExit(r.signal);
  if (r.closed) return 0;
  if (r.summary.lines === 0) return complain('the trace is empty', 1);
  if (r.nothing) {
    const name = r.summary.lines === 1 ? '1 line' : `${r.summary.lines} lines`;
    return complain(`no strace output in ${trace === '-' ? 'stdin' : trace} (${name}, none from strace): record a log with ${RECORD}`, 1);
  }
  return 0;
}

async function demo(values: Values): Promise<number> {
  const { runDemo } = await import('./demo.js');
  const rounds = count('rounds', values.rounds) ?? 0;
  return runDemo({ rounds, json: text(values.json), lines: !flag(values.tui, true) || !process.stdout.isTTY });
}

async function snapshot(values: Values, positional: string[]): Promise<number> {
  for (const p of positional) if (!isPid(p)) throw new UsageError(`not a process id: ${p}`);
  const { runSnapshot } = await import('./snapshot.js');
  const diff = text(values.diff);
  if (diff === '') throw new UsageError('--diff needs the file of an earlier snapshot --json');
  const opts = { pids: positional.map(Number), json: text(values.json), diff };
  return runSnapshot(opts);
}

/** package.json's version (dist/src/cli/main.js is three folders below it). */
async function version(): Promise<string> {
  const { readFileSync } = await import('node:fs');
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** bin/fdwatch started node without NODE_EXTRA_CA_CERTS (read only at start-up: fdwatch makes no TLS connection)
 * and with MALLOC_ARENA_MAX=1 (read by glibc at start-up) where the user had none: the environment every launched
 * command and helper inherits is the user's again. */
function restoreEnvironment(env: NodeJS.ProcessEnv): void {
  if (env['FDWATCH_MALLOC_ARENA'] === '1') {
    delete env['MALLOC_ARENA_MAX'];
    delete env['FDWATCH_MALLOC_ARENA'];
  }
  const saved = env['FDWATCH_NODE_EXTRA_CA_CERTS'];
  if (saved === undefined) return;
  env['NODE_EXTRA_CA_CERTS'] = saved;
  delete env['FDWATCH_NODE_EXTRA_CA_CERTS'];
}

/** Runs the command; resolves to true when it is over once this resolves: nothing of it runs on (a snapshot, a
 * replay without the dashboard, --help): its process can exit at once. */
async function main(): Promise<boolean> {
  restoreEnvironment(process.env);
  installCatchAll();
  installTestHook();
  const parsed = parseCommandLine(process.argv.slice(2));
  if (parsed.kind === 'help') { process.stdout.write(helpText(parsed.command)); return true; }
  if (parsed.kind === 'version') { process.stdout.write(`${await version()}\n`); return true; }
  const { values, positionals, rest } = parsed;
  switch (parsed.command) {
    case 'watch': process.exitCode = await watch(values, positionals, rest); return false;
    case 'replay': process.exitCode = await replayCommand(values, positionals); return !flag(values.tui, false);
    case 'demo': process.exitCode = await demo(values); return false;
    case 'snapshot': process.exitCode = await snapshot(values, positionals); return true;
  }
  return false;
}

/**
 * A command that is over exits now, when stdout and stderr hold nothing unwritten: node's own end would first free
 * V8's heap page by page, 5 ms of `fdwatch snapshot PID` (write to exit_group: 8-10 -> 3-4.5 ms) and more after a
 * big replay. Files, terminals and pipes take node's writes before they return (a full pipe: the rest of the write
 * waits for the reader); a stream that still queues some is written out by the natural end. Commands that may
 * still have children, timers or a terminal to restore (watch, demo, the dashboards) end the natural way.
 */
function exitWhenOver(over: boolean): void {
  if (over && process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit();
}

// after an internal error anywhere (caught by the catch-all, or thrown up to here) the run has ended: one line, 70
main().then((over) => { if (internalError() !== null) exitInternal(); exitWhenOver(over); }, (e: unknown) => {
  const said = internalError() === null ? userError(e) : null;
  if (said === null) { internalFailure(e); exitInternal(); }
  fail(said.message, said.exitCode);
});
