// What the two runners of a live trace share (line mode in watch.ts, the dashboard in watch-tui.ts): options,
// the --only filter, the exit status, live NDJSON, batched lines and ending the demo's command.
import type { FdwatchRecord } from '../model/records.js';
import { openNdjson, type RecordWriter } from '../export/ndjson.js';
import type { LiveHandle, LiveResult } from '../live/trace.js';
import { spawnStrace, preflightCommand, type Strace } from '../live/launch.js';
import { askedBackend, type Backend } from './backend.js';
import { writeFailure } from './output.js';
import { signalExit } from './signals.js';
import { summaryLast } from './crash.js';

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
  /** at the end, a Graphviz graph of processes and transfers in this file (FILE.svg too when dot is installed) */
  dot?: string | null;
  /** the tracer (src/cli/backend.ts) and --all: every process on the host (eBPF) */
  backend?: Backend;
  all?: boolean;
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
 * NDJSON as it happens: flushed every 250 ms, so a reader sees records while tracing runs, the summary last at
 * close. A write error never throws (it would from the timer): it goes to `onError` once, later records are dropped.
 */
export function liveJson(json: string | null, onError: (message: string) => void): { writer: RecordWriter | null; close: () => void } {
  const writer = json !== null ? summaryLast(openNdjson(json, (e) => onError(writeFailure(json, e)))) : null;
  const timer = writer ? setInterval(() => writer.flush(), 250) : null;
  return { writer, close: () => { if (timer) clearInterval(timer); writer?.close(); } };
}

/** Lines gathered until the event loop turns (or 64 KiB of them), then written at once by `write`. */
export function lineBatch(write: (text: string) => void): { add: (line: string) => void; flush: () => void } {
  let pending = '';
  let queued = false;
  const flush = (): void => {
    queued = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    write(text);
  };
  return {
    add(line) {
      pending += line + '\n';
      if (pending.length >= 1 << 16) flush();
      else if (!queued) { queued = true; setImmediate(flush); }
    },
    flush,
  };
}

/** `--dot`: every record goes into the graph, which is written (and drawn) once the trace has ended. */
export async function liveGraph(dot: string | null | undefined): Promise<{ push: (r: FdwatchRecord) => void; finish: (title: string) => void }> {
  if (dot === null || dot === undefined) return { push: () => {}, finish: () => {} };
  const [{ DotGraph }, { writeGraph }] = await Promise.all([import('../export/dot.js'), import('./graph.js')]);
  const graph = new DotGraph();
  return {
    push: (r) => graph.push(r),
    finish: (title) => {
      const said = writeGraph(graph, dot, title);
      process.stderr.write(`fdwatch: ${said.failure ?? said.message}\n`);
    },
  };
}

/** After detaching: the demo's workloads loop forever, so the launched command is ended too. */
export function endCommand(opts: WatchOptions, live: LiveHandle): void {
  const cmd = live.commandPid();
  if (opts.killCommand && cmd !== null) { try { process.kill(cmd, 'SIGTERM'); } catch { /* already gone */ } }
}


/**
 * A command launched under strace starts before the trace pipeline loads (~70 ms of modules): strace and the
 * command run while it does, their trace waiting in the channel (1 MiB before strace starts). Undefined: not this case (an attach
 * snapshots its processes before strace; eBPF may be chosen).
 */
export function launchEarly(opts: WatchOptions, commandOutput: string | null): Strace | undefined {
  if (!opts.command || opts.command.length === 0 || opts.pids.length > 0 || opts.all) return undefined;
  if (askedBackend(opts.backend, false, true) !== 'strace') return undefined;
  preflightCommand(opts.command);
  return spawnStrace({ pids: [], command: opts.command, commandOutput });
}
