// `fdwatch <pid>...` / `fdwatch -- command`: live tracing to readable lines, NDJSON, or the dashboard.
import os from 'node:os';
import type { FdwatchRecord } from '../model/records.js';
import { openNdjson, type RecordWriter } from '../export/ndjson.js';
import { formatRecord, formatSummary } from '../export/text.js';
import { startLive, LiveError, type LiveHandle, type LiveResult } from '../live/session.js';

export interface WatchOptions {
  pids: number[];
  command: string[] | null;
  json: string | null;
  /** lines instead of the dashboard */
  lines: boolean;
  /** after detaching, end the launched command too (the demo's workloads loop forever) */
  killCommand?: boolean;
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
  if (opts.pids.length === 0 && (!opts.command || opts.command.length === 0)) {
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
  const live = startLive({
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
