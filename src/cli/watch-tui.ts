// The live tracer under the dashboard: records and strace's state go to the view; q detaches.
import { escapeControl as esc } from '../model/escape.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FdwatchRecord } from '../model/records.js';
import { formatSummary } from '../export/text.js';
import type { LiveHandle } from '../live/trace.js';
import { LiveError } from '../model/errors.js';
import { startBackend } from './backend.js';
import { openDashboard, type DashboardHandle } from '../tui/app.js';
import { endCommand, exitCodeOf, launchEarly, liveGraph, liveJson, recordFilter, type WatchOptions } from './live-common.js';
import { watchSignals } from './signals.js';
import { internalError, noteFault, noteInternalError, onInternalError, testFault } from './crash.js';

/** After the dashboard: an empty command log is removed, a non-empty one named on stderr (the terminal is back). */
function settleCommandLog(file: string): void {
  let size: number;
  try { size = fs.statSync(file).size; } catch { return; }
  if (size === 0) fs.rmSync(file, { force: true });
  else process.stderr.write(`fdwatch: the command's output is in ${file}\n`);
}

export async function runWatchTui(opts: WatchOptions): Promise<number> {
  if (opts.json === '-') throw new LiveError('with the dashboard, --json needs a file (or add --no-tui for NDJSON on stdout)');
  // caught before strace exists; once the dashboard is open it handles them too (quit, or exit on a second one)
  let live: LiveHandle | null = null;
  let dash: DashboardHandle | null = null;
  const signals = watchSignals(() => { if (!dash) void live?.stop(); });
  let failure: string | null = null;
  try {
    const { writer, close } = liveJson(opts.json, (message) => {
      if (failure) return;
      failure = message;
      void live?.stop();
      dash?.status({ message: `${message}; detached, q quits` });
    });
    // an internal error ends the trace and the dashboard (the terminal restored) as a signal does
    const offCrash = onInternalError({
      stop: () => { void live?.stop(); dash?.destroy(); },
      abandon: () => { dash?.destroy(); live?.kill(); close(); },
    });
    // the command's own output would scribble over the dashboard: it goes to a log file named in the status bar
    const commandOutput = opts.command ? path.join(os.tmpdir(), `fdwatch-command-${process.pid}.log`) : null;
    const source = opts.command ? opts.command.join(' ') : opts.all ? 'all processes' : `pid ${opts.pids.join(', ')}`;
    // the attach snapshot's records come out inside startLive, before the dashboard exists: held until it does
    const early: FdwatchRecord[] = [];
    const pass = recordFilter(opts.only); // --only narrows the JSON; the dashboard shows everything
    const graph = await liveGraph(opts.dot);
    try {
      // a launched command starts now, while the trace pipeline loads
      const launched = launchEarly(opts, commandOutput);
      const started = await startBackend(opts, {
        pids: opts.pids, command: opts.command, commandOutput, ...(launched ? { started: launched } : {}),
        onRecord: (r) => { if (r.type === 'summary') noteInternalError(r); graph.push(r); if (!pass || pass(r)) writer?.write(r); testFault(); if (dash) dash.push(r); else early.push(r); },
        onStatus: (s) => dash?.status({
          strace: s.strace, traced: s.traced, commandExit: s.commandExit, ...(s.message ? { message: s.message } : {}),
          ...(s.tracer ? { tracer: s.tracer === 'bpf' ? 'eBPF' : 'strace' } : {}),
        }),
      });
      live = started.handle;
      const stopLive = live.stop;
      dash = openDashboard({ title: `fdwatch ${source}`, json: opts.json, onQuit: () => stopLive() });
      for (const r of early.splice(0)) dash.push(r);
      dash.status({
        // bpftrace takes seconds to load its probes: the session says `tracing` once they are live
        source, strace: started.backend === 'bpf' ? 'starting' : 'tracing', traced: opts.pids.length, json: opts.json, tracer: started.backend === 'bpf' ? 'eBPF' : 'strace',
        ...(commandOutput || started.note ? { message: [started.note, commandOutput ? `command output: ${commandOutput}` : null].filter(Boolean).join('; ') } : {}),
      });
      if (signals.first || failure || internalError() !== null) void live.stop();
      if (failure) dash.status({ message: `${failure}; detached, q quits` });
      const result = await live.done;
      endCommand(opts, live);
      close();
      // the dashboard stays on the final state until q, unless a signal asked fdwatch to go
      dash.status({
        strace: 'ended', commandExit: result.commandExit,
        message: failure ? `${failure}; detached, q quits` : result.error ?? result.detachProblem ?? 'q quits',
      });
      let how: 'quit' | 'signal' = 'signal';
      if (signals.first || internalError() !== null) dash.destroy();
      else how = await dash.closed;
      if (!result.error || result.summary.lines > 0) process.stderr.write(formatSummary(result.summary) + (opts.json && !failure ? `; records in ${opts.json}` : '') + '\n');
      for (const m of [failure, result.error, result.detachProblem]) if (m) process.stderr.write(`fdwatch: ${esc(m)}\n`);
      if (!result.error || result.summary.lines > 0) graph.finish(source);
      const sig = signals.first ?? (how === 'signal' ? 'SIGINT' : null);
      return exitCodeOf(result, { failure, signal: sig });
    } catch (e) {
      noteFault(e); // thrown up to main: the JSON closes (below) with the summary it has, noted
      throw e;
    } finally {
      close();
      offCrash();
      if (commandOutput) settleCommandLog(commandOutput);
    }
  } finally {
    signals.dispose();
  }
}
