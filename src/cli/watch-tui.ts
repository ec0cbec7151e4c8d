// The live tracer under the dashboard: records and strace's state go to the view; q detaches.
import os from 'node:os';
import path from 'node:path';
import { formatSummary } from '../export/text.js';
import { LiveError } from '../live/session.js';
import { openDashboard, type DashboardHandle } from '../tui/app.js';
import { endCommand, exitCodeOf, liveJson, startBackend, type WatchOptions } from './watch.js';

export async function runWatchTui(opts: WatchOptions): Promise<number> {
  if (opts.json === '-') throw new LiveError('with the dashboard, --json needs a file (or add --no-tui for NDJSON on stdout)');
  const { writer, close } = liveJson(opts.json);
  // the command's own output would scribble over the dashboard: it goes to a log file named in the status bar
  const commandOutput = opts.command ? path.join(os.tmpdir(), `fdwatch-command-${process.pid}.log`) : null;
  const source = opts.command ? opts.command.join(' ') : `pid ${opts.pids.join(', ')}`;
  let dash: DashboardHandle | null = null;
  const live = startBackend(opts, {
    pids: opts.pids, command: opts.command, commandOutput,
    onRecord: (r) => { writer?.write(r); dash?.push(r); },
    onStatus: (s) => dash?.status({
      strace: s.strace, traced: s.traced, commandExit: s.commandExit, ...(s.message ? { message: s.message } : {}),
    }),
  });
  dash = openDashboard({ title: `fdwatch ${source}`, json: opts.json, onQuit: () => live.stop() });
  dash.status({
    source, strace: 'tracing', traced: opts.pids.length, json: opts.json,
    ...(commandOutput ? { message: `command output: ${commandOutput}` } : {}),
  });
  const result = await live.done;
  endCommand(opts, live);
  close();
  // the dashboard stays on the final state until q
  dash.status({
    strace: 'ended', commandExit: result.commandExit,
    message: result.error ?? 'q quits',
  });
  const how = await dash.closed;
  process.stderr.write(formatSummary(result.summary) + (opts.json ? `; records in ${opts.json}` : '') + '\n');
  if (result.error) process.stderr.write(`fdwatch: ${result.error}\n`);
  return how === 'signal' ? 130 : exitCodeOf(result);
}
