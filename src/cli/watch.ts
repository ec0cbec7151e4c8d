// `fdwatch <pid>...` / `fdwatch -- command`: live tracing to readable lines, NDJSON, or the dashboard.
import os from 'node:os';
import type { FdwatchRecord } from '../model/records.js';
import { openNdjson, type RecordWriter } from '../export/ndjson.js';
import { formatRecord, formatSummary } from '../export/text.js';
import { startLive, LiveError, type LiveHandle, type LiveOptions, type LiveResult } from '../live/session.js';
import { bpfUnavailable, startBpf } from '../bpf/session.js';

export interface WatchOptions {
  pids: number[];
  command: string[] | null;
  json: string | null;
  /** lines instead of the dashboard */
  lines: boolean;
  /** after detaching, end the launched command too (the demo's workloads loop forever) */
  killCommand?: boolean;
  /** the tracer (see startBackend) and --all */
  backend?: Backend;
  all?: boolean;
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function exitCodeOf(r: LiveResult): number {
  if (r.error) return 1;
  const c = r.commandExit;
  if (!c) return 0;
  if (c.signal) return 128 + ((os.constants.signals as Record<string, number>)[c.signal] ?? 1);
  return c.code ?? 0;
}

/** NDJSON as it happens: flushed every 250 ms, so a reader sees records while tracing runs. */
export function liveJson(json: string | null): { writer: RecordWriter | null; close: () => void } {
  const writer = json !== null ? openNdjson(json) : null;
  const timer = writer ? setInterval(() => writer.flush(), 250) : null;
  return { writer, close: () => { if (timer) clearInterval(timer); writer?.close(); } };
}

/** After detaching: the demo's workloads loop forever, so the launched command is ended too. */
export function endCommand(opts: WatchOptions, live: LiveHandle): void {
  const cmd = live.commandPid();
  if (opts.killCommand && cmd !== null) { try { process.kill(cmd, 'SIGTERM'); } catch { /* already gone */ } }
}

export async function runWatch(opts: WatchOptions): Promise<number> {
  if (!opts.all && opts.pids.length === 0 && (!opts.command || opts.command.length === 0)) {
    throw new LiveError('name a process id or a command: fdwatch PID... or fdwatch -- COMMAND');
  }
  if (!opts.lines) {
    const { runWatchTui } = await import('./watch-tui.js');
    return runWatchTui(opts);
  }
  // with a launched command, its stdout stays its own: fdwatch's lines go to stderr
  const lineOut = opts.command ? process.stderr : process.stdout;
  const { writer, close } = liveJson(opts.json);
  const jsonOnStdout = opts.json === '-';

  const onRecord = (r: FdwatchRecord): void => {
    writer?.write(r);
    if (!jsonOnStdout && r.type !== 'summary') {
      const line = formatRecord(r);
      if (line !== null) lineOut.write(line + '\n');
    }
  };
  const live = startBackend(opts, {
    pids: opts.pids, command: opts.command, onRecord,
    onStatus: (s) => { if (s.message) process.stderr.write(`fdwatch: ${s.message}\n`); },
  });
  const onSignal = (): void => { void live.stop(); };
  for (const s of SIGNALS) process.on(s, onSignal);
  try {
    const r = await live.done;
    endCommand(opts, live);
    close();
    if (r.error) process.stderr.write(`fdwatch: ${r.error}\n`);
    if (!jsonOnStdout) lineOut.write(formatSummary(r.summary) + '\n');
    return exitCodeOf(r);
  } finally {
    for (const s of SIGNALS) process.removeListener(s, onSignal);
    close();
  }
}

// ---------------------------------------------------------------- the tracer: eBPF or strace (docs/bpf.md)

export type Backend = 'auto' | 'bpf' | 'strace';

/**
 * Starts the chosen tracer. `auto` takes eBPF when this kernel allows it (no ptrace stops: a busy daemon keeps
 * its speed) and says why when it falls back to strace. Unset: strace, or eBPF for --all (which only eBPF can do).
 */
export function startBackend(opts: WatchOptions, live: LiveOptions): LiveHandle {
  const asked = opts.backend ?? (opts.all ? 'bpf' : 'strace');
  if (opts.all && asked === 'strace') throw new LiveError('--all needs the eBPF backend: drop --backend strace');
  let use: 'bpf' | 'strace' = asked === 'auto' ? 'bpf' : asked;
  let why = asked === 'auto' ? 'eBPF is available' : `--backend ${asked}`;
  if (asked === 'auto') {
    const missing = bpfUnavailable();
    if (missing) {
      if (opts.all) throw new LiveError(missing);
      use = 'strace';
      why = `eBPF unavailable: ${missing}`;
    }
  }
  const onRecord = (r: FdwatchRecord): void => {
    if (r.type === 'summary') r.backend = use;
    live.onRecord(r);
  };
  const handle = use === 'strace' ? startLive({ ...live, onRecord }) : startBpf({
    pids: live.pids, command: live.command, all: opts.all === true, onRecord,
    ...(live.onStatus ? { onStatus: live.onStatus } : {}), ...(live.commandOutput !== undefined ? { commandOutput: live.commandOutput } : {}),
  });
  // the status line (and the dashboard's status bar) says which tracer, and why, whenever there was a choice
  if (use === 'bpf' || asked === 'auto') {
    live.onStatus?.({ strace: 'starting', traced: 0, events: 0, commandExit: null, message: `tracing with ${use === 'bpf' ? 'eBPF (bpftrace)' : 'strace'}: ${why}` });
  }
  return handle;
}
