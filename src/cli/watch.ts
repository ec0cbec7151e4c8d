// `fdwatch <pid>...` / `fdwatch -- command`: live tracing to readable lines, NDJSON, or the dashboard.
import type { FdwatchRecord } from '../model/records.js';
import { escapeControl as esc } from '../model/escape.js';
import { openNdjson, type RecordWriter } from '../export/ndjson.js';
import { formatRecord, formatSummary } from '../export/text.js';
import { startLive, LiveError, type LiveHandle, type LiveResult } from '../live/trace.js';
import { guardStream, writeFailure } from './output.js';
import { signalExit, watchSignals } from './signals.js';
import { choose } from '../live/select.js';
import { UsageError } from '../model/errors.js';

export interface WatchOptions {
  pids: number[];
  command: string[] | null;
  json: string | null;
  /** lines instead of the dashboard */
  lines: boolean;
  /** after detaching, end the launched command too (the demo's workloads loop forever) */
  killCommand?: boolean;
  /** processes chosen as pgrep/lsof do: by comm, by a path or port they hold, with their descendants */
  names?: string[];
  paths?: string[];
  ports?: number[];
  tree?: boolean;
  /** line mode and JSON: only these record types (the summary always) */
  only?: string[] | null;
}

/** record types `--only` may name; `pid=N`, `comm=NAME` and `path=TEXT` (a part of a target or path) narrow them */
export const ONLY_TYPES = ['process', 'fd', 'transfer', 'map', 'alert'];

/** `--only` as a predicate over records in trace order (the summary always passes); null: everything passes. */
export function recordFilter(only: string[] | null | undefined): ((r: FdwatchRecord) => boolean) | null {
  if (!only || only.length === 0) return null;
  const types = new Set<string>();
  const pids = new Set<number>();
  const comms = new Set<string>();
  const paths: string[] = [];
  for (const o of only) {
    const m = /^(pid|comm|path)=(.+)$/.exec(o);
    if (!m) { types.add(o); continue; }
    if (m[1] === 'pid') pids.add(Number(m[2])); else if (m[1] === 'comm') comms.add(m[2]!); else paths.push(m[2]!);
  }
  const commOf = new Map<number, string>();
  const who = (pid: number | null, comm: string | null): boolean =>
    (pids.size === 0 && comms.size === 0) || (pid !== null && pids.has(pid)) || comms.has(comm ?? (pid !== null ? commOf.get(pid) ?? '' : ''));
  const what = (t: string | null): boolean => paths.length === 0 || (t !== null && paths.some((x) => t.includes(x)));
  return (r) => {
    if (r.type === 'process' && r.comm !== null) commOf.set(r.pid, r.comm);
    if (r.type === 'summary') return true;
    if (types.size > 0 && !types.has(r.type)) return false;
    switch (r.type) {
      case 'process': return who(r.pid, r.comm) && what(r.path ?? null);
      case 'fd': return who(r.pid, null) && what(r.target);
      case 'map': return who(r.pid, null) && what(r.path);
      case 'alert': return who(r.pid, null) && what(r.message);
      case 'transfer': return (who(r.from.pid, r.from.comm) || (r.to !== null && who(r.to.pid, r.to.comm))) && what(r.target);
    }
  };
}

/** Resolves names, paths, ports and --tree to pids, and says what it chose. */
function resolve(opts: WatchOptions): void {
  const sel = { pids: opts.pids, names: opts.names ?? [], paths: opts.paths ?? [], ports: opts.ports ?? [], tree: opts.tree ?? false };
  if (sel.names.length + sel.paths.length + sel.ports.length === 0 && !sel.tree) return;
  if (sel.names.length > 0 && sel.pids.length === 0 && sel.paths.length + sel.ports.length === 0 && !opts.command && !sel.tree) {
    // one word that names no running process is more likely a mistyped command
    const any = sel.names.some((n) => { try { choose({ ...sel, names: [n] }); return true; } catch { return false; } });
    if (!any) throw new UsageError(`not a command or a process id: ${sel.names.join(' ')} (see --help)`);
  }
  const c = choose(sel);
  opts.pids = c.pids;
  for (const l of c.lines) process.stderr.write(`fdwatch: ${l}\n`);
}

/**
 * One convention for every way a live trace ends: an error (strace failed, an output could not be written) is 1;
 * a stop signal to fdwatch is 128 + its number, as shells report it; otherwise the launched command's status.
 */
export function exitCodeOf(r: LiveResult, how: { failure: string | null; signal: NodeJS.Signals | null }): number {
  if (r.error || how.failure) return 1;
  if (how.signal) return signalExit(how.signal);
  const c = r.commandExit;
  if (!c) return 0;
  if (c.signal) return signalExit(c.signal);
  return c.code ?? 0;
}

/**
 * NDJSON as it happens: flushed every 250 ms, so a reader sees records while tracing runs. A write error never
 * throws (it would from the timer): it goes to `onError` once and later records are dropped.
 */
export function liveJson(json: string | null, onError: (message: string) => void): { writer: RecordWriter | null; close: () => void } {
  const writer = json !== null ? openNdjson(json, (e) => onError(writeFailure(json, e))) : null;
  const timer = writer ? setInterval(() => writer.flush(), 250) : null;
  return { writer, close: () => { if (timer) clearInterval(timer); writer?.close(); } };
}

/** After detaching: the demo's workloads loop forever, so the launched command is ended too. */
export function endCommand(opts: WatchOptions, live: LiveHandle): void {
  const cmd = live.commandPid();
  if (opts.killCommand && cmd !== null) { try { process.kill(cmd, 'SIGTERM'); } catch { /* already gone */ } }
}

export async function runWatch(opts: WatchOptions): Promise<number> {
  resolve(opts);
  if (opts.pids.length === 0 && (!opts.command || opts.command.length === 0)) {
    throw new LiveError('name a process id or a command: fdwatch PID... or fdwatch -- COMMAND');
  }
  if (!opts.lines) {
    const { runWatchTui } = await import('./watch-tui.js');
    return runWatchTui(opts);
  }
  // caught before strace exists: a signal at any moment after this gives a clean detach and a summary
  let live: LiveHandle | null = null;
  const signals = watchSignals((_sig, count) => { if (count > 1) live?.kill(); else void live?.stop(); });
  // with a launched command, its stdout stays its own: fdwatch's lines go to stderr
  const lineOut = opts.command ? process.stderr : process.stdout;
  const jsonOnStdout = opts.json === '-';
  let failure: string | null = null;
  let linesFailed = false;
  const fail = (message: string): void => {
    if (failure) return;
    failure = message;
    process.stderr.write(`fdwatch: ${message}\n`);
    void live?.stop();
  };
  const lineGuard = guardStream(lineOut, (e) => { linesFailed = true; fail(writeFailure(opts.command ? 'stderr' : '-', e)); });
  if (lineOut !== process.stderr) guardStream(process.stderr); // a closed stderr is no reason to crash
  try {
    const { writer, close } = liveJson(opts.json, fail);
    const pass = recordFilter(opts.only);
    const onRecord = (r: FdwatchRecord): void => {
      if (pass && !pass(r)) return;
      writer?.write(r);
      if (!jsonOnStdout && !linesFailed && r.type !== 'summary') {
        const line = formatRecord(r);
        if (line !== null) lineOut.write(line + '\n');
      }
    };
    try {
      live = startLive({
        pids: opts.pids, command: opts.command, onRecord,
        onStatus: (s) => { if (s.message) process.stderr.write(`fdwatch: ${esc(s.message)}\n`); }, // it names comms
      });
      if (signals.first) void live.stop();
      if (failure) void live.stop();
      const r = await live.done;
      endCommand(opts, live);
      close();
      if (r.error) process.stderr.write(`fdwatch: ${esc(r.error)}\n`);
      const summary = formatSummary(r.summary) + '\n';
      // the summary line goes where the lines went; when that output failed, to stderr
      // nothing traced at all (the attach failed): the error says it all, no summary as if it had worked
      const traced = !r.error || r.summary.lines > 0;
      if (!jsonOnStdout && !linesFailed) { if (traced) lineOut.write(summary); }
      else if (failure) process.stderr.write(summary);
      await lineGuard.settled();
      return exitCodeOf(r, { failure, signal: signals.first });
    } finally {
      close();
    }
  } finally {
    signals.dispose();
  }
}
