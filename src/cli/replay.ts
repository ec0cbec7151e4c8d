// `fdwatch replay TRACE`: a recorded strace log (-o file, -ff set, or stdin) -> report or NDJSON.
import { TraceSession } from '../correlate/session.js';
import type { FdwatchRecord, SummaryRecord } from '../model/records.js';
import { openNdjson, type RecordWriter } from '../export/ndjson.js';
import { formatSummary } from '../export/text.js';
import { Report } from '../export/report.js';
import { readFileBytes, readStreamBytes, resolveInput, mergeFf, ffTimed } from '../tracer/read.js';
import { localMidnight } from '../tracer/joiner.js';
import fs from 'node:fs';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { guardStream, isClosedPipe, writeFailure } from './output.js';
import { STOP_SIGNALS } from './signals.js';
import { UsageError } from '../model/errors.js';

export interface ReplayOptions {
  trace: string;
  json: string | null;
  /** YYYY-MM-DD for -t/-tt logs; default: the log's modification day */
  date: string | null;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}


function baseDayFor(date: string | null, file: string | null): number {
  if (date !== null) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
    const y = Number(m?.[1]);
    const mo = Number(m?.[2]) - 1;
    const d = Number(m?.[3]);
    // Date rolls 2020-02-30 over to March 1st: a real day is one that comes back as it was written
    const day = m ? new Date(y, mo, d) : null;
    if (!day || day.getFullYear() !== y || day.getMonth() !== mo || day.getDate() !== d) {
      throw new UsageError(`--date must be a day of the calendar as YYYY-MM-DD (e.g. 2026-11-24), got ${JSON.stringify(date)}`);
    }
    return localMidnight(day);
  }
  if (file) {
    try { return localMidnight(fs.statSync(file).mtime); } catch { /* fall through */ }
  }
  return localMidnight(new Date());
}

export interface ReplayRun {
  summary: SummaryRecord;
  session: TraceSession;
  /** the stop signal (SIGINT, SIGTERM, SIGHUP) that cut the reading short, or null */
  signal: NodeJS.Signals | null;
}

/** A FIFO or pipe as a libuv stream; null for anything else. The open waits for a writer, as a file read would. */
function pipeStream(file: string): Readable | null {
  let st: fs.Stats;
  try { st = fs.statSync(file); } catch { return null; }
  if (!st.isFIFO()) return null;
  return new net.Socket({ fd: fs.openSync(file, 'r'), readable: true, writable: false });
}

/** Thrown through the readers from the line sink to stop reading a file once the replay was stopped. */
const HALT = Symbol('halt');

/**
 * Reads a trace (file, -ff set, or '-' for stdin) through the pipeline; records go to `emit` as they are made.
 * A stop signal, or `stop` aborting (an output that failed), ends the reading: what was read is kept, the session
 * ends (summary last) and this resolves; what to exit with is the caller's business.
 */
export async function replayTrace(trace: string, date: string | null, emit: (r: FdwatchRecord) => void,
  opts: { stop?: AbortSignal } = {}): Promise<ReplayRun> {
  const input = resolveInput(trace);
  const firstFile = input.kind === 'file' ? input.path : input.kind === 'ff' ? input.files[0]!.path : null;
  const baseDay = baseDayFor(date, firstFile);
  const session = new TraceSession(emit, { baseDay, source: trace, deferOrphans: input.kind === 'ff' && !ffTimed(input.files) });
  // a pipe (`replay <(strace ...)`, a FIFO) is read as a stream on the event loop: a file read of it would block
  // in a threadpool worker that nothing can cancel, and the process could not exit until the writer writes
  const stream: Readable | null = input.kind === 'stdin' ? process.stdin : input.kind === 'file' ? pipeStream(input.path) : null;
  const file = input.kind === 'file' && stream === null ? input.path : null;
  let signal: NodeJS.Signals | null = null;
  let stopped = false;
  let wake = (): void => {};
  const halted = new Promise<null>((resolve) => { wake = () => resolve(null); });
  const halt = (): void => {
    if (stopped) return;
    stopped = true;
    // a stream cannot be told to stop from its 'data' handler: end it, so nothing keeps the process alive
    stream?.destroy();
    wake();
  };
  const onSignal = (sig: NodeJS.Signals): void => { signal ??= sig; halt(); };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  opts.stop?.addEventListener('abort', halt);
  if (opts.stop?.aborted) halt();
  const check = (): boolean => {
    if (!stopped) return true;
    if (stream === null) throw HALT;
    return false;
  };
  let truncated = false;
  try {
    const reading = (async () => {
      if (input.kind === 'ff') {
        const srcs = input.files.map((f) => session.source(f.pid));
        return mergeFf(input.files, baseDay, (l) => { if (check()) session.line(l.text, l.lineNo, srcs[l.file]!); });
      }
      const src = session.source(null);
      const sink = (t: Buffer, a: number, b: number, n: number): void => { if (check()) session.bytes(t, a, b, n, src); };
      return file !== null ? readFileBytes(file, sink) : readStreamBytes(stream!, sink);
    })();
    reading.catch(() => { /* after a halt, how the reader ends no longer matters */ });
    const r = await Promise.race([reading, halted]);
    if (r) truncated = r.truncated;
  } catch (e) {
    if (e !== HALT) throw e;
  } finally {
    for (const s of STOP_SIGNALS) process.removeListener(s, onSignal);
    opts.stop?.removeEventListener('abort', halt);
  }
  return { summary: session.end({ truncated, interrupted: stopped }), session, signal };
}

export interface ReplayOutcome {
  summary: SummaryRecord;
  /** a stop signal ended the replay early */
  signal: NodeJS.Signals | null;
  /** an output could not be written: the one line to tell (a closed stdout is no failure: the reader had enough) */
  failure: string | null;
  /** stdout was closed by its reader (`| head`): the replay stopped there */
  closed: boolean;
}

/** Runs a replay; resolves to how it ended. Throws UsageError/InputError for bad input. */
export async function replay(opts: ReplayOptions, onRecord?: (r: FdwatchRecord) => void): Promise<ReplayOutcome> {
  const out = opts.out ?? process.stdout;
  let writer: RecordWriter | null = null;
  const text = opts.json === null;
  const report = text ? new Report() : null;
  resolveInput(opts.trace); // a missing trace is an error before any output file is made
  if (opts.date !== null) baseDayFor(opts.date, null);
  const stop = new AbortController();
  let failure: string | null = null;
  let closed = false;
  const failed = (target: string) => (e: NodeJS.ErrnoException): void => {
    if (failure || closed) return;
    if (target === '-' && isClosedPipe(e)) closed = true;
    else failure = writeFailure(target, e);
    stop.abort();
  };
  const json = opts.json;
  if (json !== null) writer = openNdjson(json, failed(json));
  const { summary, signal } = await replayTrace(opts.trace, opts.date, (r) => {
    writer?.write(r);
    onRecord?.(r);
    report?.push(r);
  }, { stop: stop.signal });
  writer?.close();
  if (report) {
    // a fold of the records, as every view is: bounded by the view model's limits however long the trace
    const guard = guardStream(out, failed('-'));
    out.write(report.render(summary));
    await guard.settled(); // the guard stays: a late 'error' from this stream must not become a stack trace
  } else if (opts.json !== '-' && !failure) {
    (opts.err ?? process.stderr).write(formatSummary(summary) + `; records in ${opts.json}\n`);
  }
  return { summary, signal, failure, closed };
}
