// `fdwatch <pid>...` / `fdwatch -- command`: live tracing to readable lines, NDJSON, or the dashboard.
import type { FdwatchRecord } from '../model/records.js';
import { escapeControl as esc } from '../model/escape.js';
import type { LiveHandle } from '../live/trace.js';
import { startBackend } from './backend.js';
import { guardStream, writeFailure } from './output.js';
import { watchSignals } from './signals.js';
import { endCommand, exitCodeOf, launchEarly, lineBatch, liveGraph, liveJson, recordFilter, type WatchOptions } from './live-common.js';
import { LiveError, UsageError } from '../model/errors.js';
import { internalError, noteFault, noteInternalError, onInternalError, testFault } from './crash.js';

export { ONLY_TYPES, recordFilter, type WatchOptions } from './live-common.js';

/** Resolves names, paths, ports and --tree to pids, and says what it chose. */
async function resolve(opts: WatchOptions): Promise<void> {
  const sel = { pids: opts.pids, names: opts.names ?? [], paths: opts.paths ?? [], ports: opts.ports ?? [], tree: opts.tree ?? false };
  if (sel.names.length + sel.paths.length + sel.ports.length === 0 && !sel.tree) return;
  const { choose } = await import('../live/select.js');
  if (sel.names.length > 0 && sel.pids.length === 0 && sel.paths.length + sel.ports.length === 0 && !opts.command && !sel.tree) {
    // one word that names no running process is more likely a mistyped command
    const any = sel.names.some((n) => { try { choose({ ...sel, names: [n] }); return true; } catch { return false; } });
    if (!any) throw new UsageError(`not a command or a process id: ${sel.names.join(' ')} (see --help)`);
  }
  const c = choose(sel);
  opts.pids = c.pids;
  for (const l of c.lines) process.stderr.write(`fdwatch: ${l}\n`);
}

export async function runWatch(opts: WatchOptions): Promise<number> {
  await resolve(opts);
  if (!opts.all && opts.pids.length === 0 && (!opts.command || opts.command.length === 0)) {
    throw new LiveError('name a process id or a command: fdwatch PID... or fdwatch -- COMMAND (or --all)');
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
  // the lines of one read of the trace in one write: stderr and pipes are written synchronously, a syscall a line
  const lines = lineBatch((text) => { if (!linesFailed) lineOut.write(text); });
  const fail = (message: string): void => {
    if (failure) return;
    failure = message;
    lines.flush();
    process.stderr.write(`fdwatch: ${message}\n`);
    void live?.stop();
  };
  const lineGuard = guardStream(lineOut, (e) => { linesFailed = true; fail(writeFailure(opts.command ? 'stderr' : '-', e)); });
  if (lineOut !== process.stderr) guardStream(process.stderr); // a closed stderr is no reason to crash
  try {
    const { writer, close } = liveJson(opts.json, fail);
    // an internal error ends the trace as a signal does; past END_WITHIN_MS strace is killed and the JSON closed
    const offCrash = onInternalError({ stop: () => { void live?.stop(); }, abandon: () => { live?.kill(); lines.flush(); close(); } });
    const pass = recordFilter(opts.only);
    const graph = await liveGraph(opts.dot);
    process.on('exit', lines.flush);
    try {
      // a launched command starts now, while the trace pipeline loads
      const started = launchEarly(opts, null);
      const { formatRecord, formatSummary } = await import('../export/text.js');
      const onRecord = (r: FdwatchRecord): void => {
        if (r.type === 'summary') noteInternalError(r);
        graph.push(r);
        if (pass && !pass(r)) return;
        writer?.write(r);
        testFault();
        if (!jsonOnStdout && !linesFailed && r.type !== 'summary') {
          const line = formatRecord(r);
          if (line !== null) lines.add(line);
        }
      };
      live = (await startBackend(opts, {
        pids: opts.pids, command: opts.command, onRecord, ...(started ? { started } : {}),
        // it names comms; after the lines before it, as they happened
        onStatus: (s) => { if (s.message) { lines.flush(); process.stderr.write(`fdwatch: ${esc(s.message)}\n`); } },
      })).handle;
      if (signals.first || failure || internalError() !== null) void live.stop();
      const r = await live.done;
      lines.flush();
      endCommand(opts, live);
      close();
      if (r.error) process.stderr.write(`fdwatch: ${esc(r.error)}\n`);
      const summary = formatSummary(r.summary) + '\n';
      // the summary line goes where the lines went; when that output failed, to stderr
      // nothing traced at all (the attach failed): the error says it all, no summary as if it had worked
      const traced = !r.error || r.summary.lines > 0;
      if (!jsonOnStdout && !linesFailed) { if (traced) lineOut.write(summary); }
      else if (failure) process.stderr.write(summary);
      if (traced) graph.finish(opts.command ? opts.command.join(' ') : opts.all ? 'all processes' : `pid ${opts.pids.join(', ')}`);
      await lineGuard.settled();
      return exitCodeOf(r, { failure, signal: signals.first });
    } catch (e) {
      noteFault(e); // thrown up to main: the JSON closes (below) with the summary it has, noted
      throw e;
    } finally {
      process.removeListener('exit', lines.flush);
      lines.flush();
      close();
      offCrash();
    }
  } finally {
    signals.dispose();
  }
}
