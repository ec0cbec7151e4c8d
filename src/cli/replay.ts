// `fdwatch replay TRACE`: a recorded strace log (-o file, -ff set, or stdin) -> report or NDJSON.
import { TraceSession } from '../correlate/session.js';
import type { FdwatchRecord, SummaryRecord } from '../model/records.js';
import { openNdjson, type RecordWriter } from '../export/ndjson.js';
import { clock, formatSummary } from '../export/text.js';
import { escapeControl } from '../model/escape.js';
import { commPid } from '../model/names.js';
import { Provenance, chainRecords, hopText, type Chain } from '../view/provenance.js';
import type { Report } from '../export/report.js';
import type { DotGraph } from '../export/dot.js';
import { readFileBytes, readStreamBytes, resolveInput, mergeFf, ffTimed, type TraceInput } from '../tracer/read.js';
import { decodeFfSet, fileKind, gunzipStream, gzipFailure, requireDecodable } from '../tracer/decompress.js';
import { localMidnight } from '../tracer/joiner.js';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import v8 from 'node:v8';
import type { Readable } from 'node:stream';
import { guardStream, isClosedPipe, writeFailure } from './output.js';
import { STOP_SIGNALS } from './signals.js';
import { InputError, UsageError } from '../model/errors.js';
import { YOUNG_INTERRUPT_BUDGET } from '../model/v8-young.js';
import { noteFault, onInternalError, summaryLast, testFault } from './crash.js';

export interface ReplayOptions {
  trace: string;
  json: string | null;
  /** YYYY-MM-DD for -t/-tt logs; default: the log's modification day */
  date: string | null;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
  /** write a Graphviz graph of processes and transfers here (and FILE.svg beside it when dot is installed) */
  dot?: string | null;
  /** progress on stderr; default: a Progress when stderr is a terminal */
  progress?: Progress;
  /** `PID:FD`: only that fd's history (provenance), as lines, or with --json its own records and the summary */
  follow?: string | null;
}

/** `--follow PID:FD` as numbers; a usage error for anything else. */
export function parseFollow(text: string): { pid: number; fd: number } {
  const m = /^(\d+):(\d+)$/.exec(text.trim());
  const pid = Number(m?.[1]);
  const fd = Number(m?.[2]);
  if (!m || pid < 1 || !Number.isSafeInteger(pid) || !Number.isSafeInteger(fd)) {
    throw new UsageError(`--follow needs PID:FD, the fd of a process in the trace (e.g. 1234:7), got ${JSON.stringify(text)}`);
  }
  return { pid, fd };
}

/** The chain as lines for people: a heading, then one line per hop, oldest first (traced text escaped). */
export function formatChain(c: Chain): string {
  const last = c.hops.filter((h) => h.pid === c.pid && h.fd === c.fd && h.kind !== 'closed' && h.kind !== 'mapped').at(-1) ?? c.hops.at(-1)!;
  const what = escapeControl(last.target ?? '?');
  const timed = c.hops.some((h) => h.ts !== null);
  const lines = [`fd ${c.fd} of ${escapeControl(commPid(last.comm, c.pid))}: ${what}${c.origin !== null ? `  (open file description ${escapeControl(c.origin)})` : ''}, ${c.hops.length} hop${c.hops.length === 1 ? '' : 's'}`];
  if (c.incomplete) lines.push('  (it came from an fd the trace does not show: the hops before are unknown)');
  for (const h of c.hops) lines.push(`  ${timed ? clock(h.ts) + '  ' : ''}${hopText(h, escapeControl)}`);
  if (c.dropped > 0) lines.push(`  (${c.dropped} more maps, closes or sends of these fds not kept)`);
  return lines.join('\n') + '\n';
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
  // node:net only for a pipe: a file replay does not pay its start-up
  const net = createRequire(import.meta.url)('node:net') as typeof import('node:net');
  return new net.Socket({ fd: fs.openSync(file, 'r'), readable: true, writable: false });
}

function sizeOf(file: string): number {
  try { const st = fs.statSync(file); return st.isFile() ? st.size : 0; } catch { return 0; }
}

const MB = 1 << 20;

/**
 * "read 12.5 of 80.0 MB, 1.20M lines/s" on one terminal line, rewritten in place: only once the replay has taken
 * `after` ms, at most 4 times a second, and erased at the end. Driven by the lines read (an -ff merge never yields
 * to the event loop), so a clock read costs one call per 1024 lines.
 */
export class Progress {
  private total: number | null = null;
  private raw: (() => number) | null = null;
  private bytes = 0;
  private lines = 0;
  private t0 = 0;
  private next = 0;
  private shown = false;

  constructor(private readonly err: NodeJS.WritableStream, private readonly after = 1000) {}

  /** `total` bytes to read (null: a stream of unknown length); `raw` counts them when the lines are decoded bytes. */
  begin(total: number | null, raw: (() => number) | null): void {
    this.total = total !== null && total > 0 ? total : null;
    this.raw = raw;
    this.t0 = performance.now();
    this.next = this.t0 + this.after;
  }

  line(bytes: number): void {
    this.bytes += bytes;
    if ((++this.lines & 1023) !== 0) return;
    const now = performance.now();
    if (now < this.next) return;
    this.next = now + 250;
    const read = (this.raw?.() ?? this.bytes) / MB;
    const rate = this.lines / ((now - this.t0) / 1000);
    const of = this.total !== null ? ` of ${(this.total / MB).toFixed(1)}` : '';
    this.err.write(`\rfdwatch: read ${read.toFixed(1)}${of} MB, ${(rate / 1e6).toFixed(2)}M lines/s\x1b[K`);
    this.shown = true;
  }

  end(): void {
    if (this.shown) this.err.write('\r\x1b[K');
    this.shown = false;
  }
}

/** How to record a log, for the messages about inputs that are none. */
export const RECORD = 'strace -f -yy -o FILE CMD';

/** Thrown through the readers from the line sink to stop reading a file once the replay was stopped. */
const HALT = Symbol('halt');

/**
 * Reads a trace (file, -ff set, or '-' for stdin) through the pipeline; records go to `emit` as they are made.
 * A stop signal, or `stop` aborting (an output that failed), ends the reading: what was read is kept, the session
 * ends (summary last) and this resolves; what to exit with is the caller's business.
 */
export async function replayTrace(trace: string, date: string | null, emit: (r: FdwatchRecord) => void,
  opts: { stop?: AbortSignal; progress?: Progress } = {}): Promise<ReplayRun> {
  let input: TraceInput = resolveInput(trace);
  const firstFile = input.kind === 'file' ? input.path : input.kind === 'ff' ? input.files[0]!.path : null;
  const baseDay = baseDayFor(date, firstFile);
  const kind = input.kind === 'file' ? fileKind(input.path) : null;
  if (kind === 'binary') throw new InputError(`no strace output in ${trace} (a binary file): record a log with ${RECORD}`);
  const compressed = kind;
  if (compressed !== null) requireDecodable(trace, compressed);
  let cleanup = (): void => {};
  if (input.kind === 'ff') {
    // compressed -ff members are decoded first: the merge reads each file piece by piece, in time order
    const plain = await decodeFfSet(input.files);
    input = { kind: 'ff', files: plain.files };
    cleanup = plain.cleanup;
  }
  const session = new TraceSession(emit, { baseDay, source: trace, deferOrphans: input.kind === 'ff' && !ffTimed(input.files) });
  // a pipe (`replay <(strace ...)`, a FIFO) is read as a stream on the event loop: a file read of it would block
  // in a threadpool worker that nothing can cancel, and the process could not exit until the writer writes
  const gz = compressed !== null && input.kind === 'file' ? gunzipStream(input.path) : null;
  const stream: Readable | null = input.kind === 'stdin' ? process.stdin : gz ? gz.stream
    : input.kind === 'file' ? pipeStream(input.path) : null;
  const file = input.kind === 'file' && stream === null ? input.path : null;
  const progress = opts.progress ?? null;
  progress?.begin(input.kind === 'stdin' ? null
    : (input.kind === 'ff' ? input.files : [input]).reduce((n, f) => n + sizeOf(f.path), 0), gz?.raw ?? null);
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
        return mergeFf(input.files, baseDay, (l) => {
          if (check()) session.line(l.text, l.lineNo, srcs[l.file]!);
          progress?.line(l.text.length + 1);
        });
      }
      const src = session.source(null);
      const sink = (t: Buffer, a: number, b: number, n: number): void => {
        if (check()) session.bytes(t, a, b, n, src);
        progress?.line(b - a + 1);
      };
      return file !== null ? readFileBytes(file, sink) : readStreamBytes(stream!, sink);
    })();
    reading.catch(() => { /* after a halt, how the reader ends no longer matters */ });
    const r = await Promise.race([reading, halted]);
    if (r) truncated = r.truncated;
  } catch (e) {
    if (e !== HALT) throw gzipFailure(trace, e);
  } finally {
    for (const s of STOP_SIGNALS) process.removeListener(s, onSignal);
    opts.stop?.removeEventListener('abort', halt);
    progress?.end();
    cleanup();
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
  /** no line of the input came from strace (an empty file, a binary): no report was written */
  nothing: boolean;
}

/** What to do when --json cannot be written. */
const WRITE_HINT = ': give --json a regular file in a folder you can write (or - for stdout)';

/**
 * V8 settings for a short replay, one that is over in about a second, most of it before its code is optimised:
 * - TurboFan's budget for inlining into one optimised function at 100 bytes of bytecode, not 920: the other
 *   threads compiled big inlined graphs for code that ran little longer (on a 100k-line browser log, 13% fewer
 *   instructions in all at 200 bytes and about 2 MiB less peak memory, the main thread within 1%; 100 bytes took
 *   4% fewer again, 2133 -> 2045 M under `node --single-threaded`, and the 19.6k-line log of a live run's
 *   options 1972 -> 1850 M: callgrind; at 50 the optimised code itself ran 15% longer);
 * - the young generation kept at its first size (semi-spaces of 1 MiB, not grown to 2): 1.5 MiB less peak
 *   memory for 15 more scavenges, about 2% more on the main thread;
 * - the interrupt budget (the bytecode a function runs between V8's looks at whether to optimise it) at 300000, not
 *   67584: fewer functions compiled for the little they still had to run. The 100k-line browser log (hyperfine, 15
 *   runs, the ESM path): 215 -> 204 ms, 290 -> 244 ms of user CPU (150000: 202 ms, 255; 1000000: 236 ms).
 * A long replay runs its optimised code long enough for the inlining to pay (a 200k-line make log: 5% more on
 * the main thread with the budget): it keeps V8's defaults.
 */
export const SHORT_REPLAY_V8_FLAGS = `--max-inlined-bytecode-size-cumulative=100 --semi-space-growth-factor=1 ${YOUNG_INTERRUPT_BUDGET}`;
/** Inputs up to this many bytes (about 170k strace lines) are short replays. */
export const SHORT_REPLAY_BYTES = 16 * MB;

function inputBytes(input: TraceInput): number {
  return input.kind === 'file' ? sizeOf(input.path) : input.kind === 'ff' ? input.files.reduce((n, f) => n + sizeOf(f.path), 0) : 0;
}

/**
 * Runs a replay; resolves to how it ended. Throws UsageError/InputError for bad input. An internal error ends the
 * reading as a signal does, or is thrown (after the JSON closed with its summary, noted).
 */
export async function replay(opts: ReplayOptions, onRecord?: (r: FdwatchRecord) => void): Promise<ReplayOutcome> {
  const run: ReplayOutputs = { writer: null, stop: new AbortController() };
  const off = onInternalError({ stop: () => run.stop.abort(), abandon: () => run.writer?.close() });
  try {
    return await replayTo(opts, run, onRecord);
  } catch (e) {
    noteFault(e);
    throw e;
  } finally {
    run.writer?.close();
    off();
  }
}

interface ReplayOutputs { writer: RecordWriter | null; stop: AbortController }

async function replayTo(opts: ReplayOptions, run: ReplayOutputs, onRecord?: (r: FdwatchRecord) => void): Promise<ReplayOutcome> {
  const out = opts.out ?? process.stdout;
  let writer: RecordWriter | null = null;
  const follow = opts.follow != null ? parseFollow(opts.follow) : null;
  const text = opts.json === null;
  // the report's fold and the graph load only when asked for: --json needs neither (start-up time)
  const report: Report | null = text && !follow ? new (await import('../export/report.js')).Report() : null;
  const provenance = follow ? new Provenance({ pin: follow, maxNodes: 1_000_000 }) : null;
  const input = resolveInput(opts.trace); // a missing trace is an error before any output file is made
  const bytes = inputBytes(input);
  // read by each compile and young-generation resize from here on (stdin, a pipe: of unknown length, defaults)
  if (bytes > 0 && bytes <= SHORT_REPLAY_BYTES) v8.setFlagsFromString(SHORT_REPLAY_V8_FLAGS);
  if (opts.date !== null) baseDayFor(opts.date, null);
  const stop = run.stop;
  let failure: string | null = null;
  let closed = false;
  const failed = (target: string) => (e: NodeJS.ErrnoException): void => {
    if (failure || closed) return;
    if (target === '-' && isClosedPipe(e)) closed = true;
    else failure = writeFailure(target, e) + (target === '-' ? '' : WRITE_HINT);
    stop.abort();
  };
  const json = opts.json;
  if (json === '') throw new UsageError('--json needs a file name (or - for stdout)');
  if (json !== null) {
    try { writer = run.writer = summaryLast(openNdjson(json, failed(json))); } catch (e) {
      throw new InputError(`${writeFailure(json, e).replace(/, open '.*'(?= \()/, '')}${WRITE_HINT}`, { cause: e });
    }
  }
  // progress only on a terminal: a log file or a pipe gets no carriage returns
  const err = process.stderr as NodeJS.WriteStream;
  const progress = opts.progress ?? (err.isTTY ? new Progress(err) : undefined);
  const dot = opts.dot ?? null;
  if (dot === '') throw new UsageError('--dot needs a file name (graph.dot)');
  const graph: DotGraph | null = dot !== null ? new (await import('../export/dot.js')).DotGraph() : null;
  const { summary, signal } = await replayTrace(opts.trace, opts.date, (r) => {
    if (provenance) provenance.push(r);
    else writer?.write(r);
    testFault();
    onRecord?.(r);
    report?.push(r);
    graph?.push(r);
  }, { stop: stop.signal, progress });
  if (graph && dot !== null && summary.events > 0) {
    const said = (await import('./graph.js')).writeGraph(graph, dot, opts.trace);
    if (said.failure) failure ??= said.failure;
    else (opts.err ?? process.stderr).write(`fdwatch: ${said.message}\n`);
  }
  // --follow: the chain's own records, then the summary (which the fold was given, not the writer)
  const chain = follow && provenance ? provenance.chain(follow.pid, follow.fd) : null;
  if (provenance && writer) {
    if (chain) for (const r of chainRecords(chain)) writer.write(r);
    writer.write(summary);
  }
  writer?.close();
  // nothing in the input was strace output (a binary, an image, an empty file): one line, no report
  const nothing = summary.events === 0 && !signal && !failure && !closed;
  if (nothing) return { summary, signal, failure, closed, nothing };
  if (follow && !chain && !failure && !closed) {
    failure = `no fd ${follow.fd} of pid ${follow.pid} in ${opts.trace === '-' ? 'stdin' : opts.trace}${signal ? ' (read so far)' : ''}`;
    return { summary, signal, failure, closed, nothing };
  }
  if (chain && text) {
    const guard = guardStream(out, failed('-'));
    out.write(formatChain(chain));
    await guard.settled();
    return { summary, signal, failure, closed, nothing };
  }
  if (report) {
    // a fold of the records, as every view is: bounded by the view model's limits however long the trace
    const guard = guardStream(out, failed('-'));
    out.write(report.render(summary));
    await guard.settled(); // the guard stays: a late 'error' from this stream must not become a stack trace
  } else if (opts.json !== '-' && !failure) {
    (opts.err ?? process.stderr).write(formatSummary(summary) + `; records in ${opts.json}\n`);
  }
  return { summary, signal, failure, closed, nothing };
}
