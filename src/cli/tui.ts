// `fdwatch replay --tui TRACE`: read a recorded log through the pipeline, then play its records into the dashboard.
import type { FdwatchRecord } from '../model/records.js';
import { openNdjson } from '../export/ndjson.js';
import { formatSummary } from '../export/text.js';
import { InputError } from '../model/errors.js';
import { replayTrace } from './replay.js';
import { signalExit, watchSignals } from './signals.js';
import { openDashboard, type DashboardHandle } from '../tui/app.js';
import { ReplayPlayer } from '../tui/replay.js';

export interface ReplayTuiOptions {
  trace: string;
  /** NDJSON of every record: a file, or '-' for stdout once the dashboard has closed */
  json: string | null;
  /** YYYY-MM-DD for -t/-tt logs; default: the log's modification day */
  date?: string | null;
}

/** Reads the whole trace (so the position bar knows the end), then opens the dashboard. Resolves to an exit code. */
export async function runReplayTui(opts: ReplayTuiOptions): Promise<number> {
  if (opts.trace === '-') {
    process.stderr.write('fdwatch: replay --tui reads a trace file; stdin is the terminal\n');
    return 2;
  }
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    process.stderr.write('fdwatch: the dashboard needs a terminal (use replay without --tui for text or --json)\n');
    return 2;
  }
  const records: FdwatchRecord[] = [];
  try {
    // a signal while reading ends it here, before any dashboard: 128 + its number
    const r = await replayTrace(opts.trace, opts.date ?? null, (rec) => records.push(rec));
    if (r.signal) return signalExit(r.signal);
  } catch (e) {
    if (e instanceof InputError) { process.stderr.write(`fdwatch: ${e.message}\n`); return 1; }
    throw e;
  }
  // the dashboard hooks the signals itself; this only tells which one arrived
  const signals = watchSignals(() => { /* the dashboard quits */ });
  const toStdout = opts.json === '-';
  if (opts.json !== null && !toStdout) {
    const w = openNdjson(opts.json);
    for (const r of records) w.write(r);
    w.close();
  }
  let dash: DashboardHandle | null = null;
  const player = new ReplayPlayer(records, (r) => dash?.push(r));
  dash = openDashboard({
    title: `replay ${opts.trace}`,
    json: opts.json === null ? null : toStdout ? 'stdout, after quitting' : opts.json,
    onQuit: () => player.stop(),
    replay: player,
  });
  dash.status({ source: `replay ${opts.trace}`, strace: 'replay', traced: 0 });
  player.play();
  const how = await dash.closed;
  player.stop();
  const summary = records.length > 0 && records[records.length - 1]!.type === 'summary' ? records[records.length - 1] : null;
  if (toStdout) {
    const w = openNdjson('-');
    for (const r of records) w.write(r);
    w.close();
  } else if (summary && summary.type === 'summary') {
    process.stderr.write(formatSummary(summary) + (opts.json ? `; records in ${opts.json}` : '') + '\n');
  }
  signals.dispose();
  return how === 'signal' ? signalExit(signals.first ?? 'SIGINT') : 0;
}

