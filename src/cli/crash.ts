// An internal error (a bug in fdwatch) during a command run: the run ends as a stop would (the tracer detaches,
// the NDJSON gets its summary, the terminal is restored), then one line and exit status 70. Installed by the CLI
// entry only; library modules never catch what they cannot handle.
import { SCHEMA_VERSION, type FdwatchRecord, type SummaryRecord } from '../model/records.js';
import type { RecordWriter } from '../export/ndjson.js';
import { FdwatchError, internalText } from '../model/errors.js';
import { escapeControl } from '../model/escape.js';

/** The exit status after an internal error: sysexits' EX_SOFTWARE. */
export const EXIT_INTERNAL = 70;
/** How long a run may take to end the normal way after an internal error before fdwatch ends it anyway (ms). */
export const END_WITHIN_MS = 5000;

/** How the catch-all ends the run that is going on. */
export interface RunEnd {
  /** as a stop signal would: detach, write the summary; the runner then returns */
  stop(): void;
  /** the last resort when that took too long: synchronous (end the tracer, close outputs, restore the terminal) */
  abandon(): void;
}

let fault: { error: unknown; message: string } | null = null;
const runs = new Set<RunEnd>();
let deadline: NodeJS.Timeout | null = null;

/** The first internal error's one-line message, or null while there was none. */
export function internalError(): string | null {
  return fault?.message ?? null;
}

/** A runner says how to end it; call the result when it has ended. An error before it registered ends it at once. */
export function onInternalError(run: RunEnd): () => void {
  runs.add(run);
  if (fault) quietly(() => run.stop());
  return () => { runs.delete(run); };
}

function quietly(f: () => void): void {
  try { f(); } catch (e) { debugStack(e); }
}

const debug = (): boolean => process.env['FDWATCH_DEBUG'] === '1';

function debugStack(e: unknown): void {
  if (!debug()) return;
  try { process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`); } catch { /* stderr is gone */ }
}

/**
 * An error no part of fdwatch handled: the first ends the run going on (or fdwatch, when there is none); later
 * ones while it ends are its consequences, shown with FDWATCH_DEBUG=1 only.
 */
export function internalFailure(e: unknown): void {
  if (fault) { if (e !== fault.error) debugStack(e); return; }
  // even an FdwatchError: one that no runner caught is a bug in how it was handled
  fault = { error: e, message: internalText(e) };
  if (runs.size === 0) exitInternal();
  for (const r of runs) quietly(() => r.stop());
  deadline = setTimeout(exitInternal, END_WITHIN_MS);
}

/**
 * A user's error (an FdwatchError; a file that is missing, not allowed, a folder) or null: anything else reaching
 * the CLI is an internal error.
 */
export function userError(e: unknown): { message: string; exitCode: number } | null {
  if (e instanceof FdwatchError) return { message: e.message, exitCode: e.exitCode };
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err === 'object' && err.code && err.path) {
    const what: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a directory' };
    return { message: `${what[err.code] ?? err.code}: ${err.path}`, exitCode: 1 };
  }
  return null;
}

/** An internal error is remembered (the first), for the summary and the exit, before it is thrown on; a user's error is not. */
export function noteFault(e: unknown): void {
  if (fault === null && userError(e) === null) fault = { error: e, message: internalText(e) };
}

/** After an internal error: what is still running is ended, then the one line, and exit status 70. */
export function exitInternal(): never {
  if (deadline) clearTimeout(deadline);
  for (const r of [...runs]) quietly(() => r.abandon());
  runs.clear();
  const f = fault ?? { error: null, message: 'unknown' };
  try {
    process.stderr.write(`fdwatch: internal error: ${escapeControl(f.message)}${debug() ? '' : ' (FDWATCH_DEBUG=1 shows the stack)'}\n`);
  } catch { /* stderr is gone */ }
  debugStack(f.error);
  process.exit(EXIT_INTERNAL);
}

/** The catch-all, once per command run, by the CLI entry. */
export function installCatchAll(): void {
  process.on('uncaughtException', internalFailure);
  process.on('unhandledRejection', internalFailure);
}

/** The summary of a run an internal error cut short says so (`error`, `cleanEnd` false). */
export function noteInternalError(s: SummaryRecord): void {
  if (!fault) return;
  s.cleanEnd = false;
  s.error ??= `internal: ${fault.message}`;
}

/**
 * A writer whose summary goes out at close, noted with an internal error that came after it; a run whose trace
 * could not even end still closes with a summary: its counts are those of the records written (lines, events
 * and syscalls 0: not known).
 */
export function summaryLast(w: RecordWriter): RecordWriter {
  let summary: SummaryRecord | null = null;
  const pids = new Set<number>();
  const t = { delivered: 0, inFlight: 0, lost: 0, fdsReceived: 0, alerts: 0 };
  const tally = (r: FdwatchRecord): void => {
    if (r.type === 'process') pids.add(r.pid);
    else if (r.type === 'alert') t.alerts++;
    else if (r.type === 'transfer') {
      if (r.state === 'delivered') { t.delivered++; t.fdsReceived++; } else if (r.state === 'lost') t.lost++; else t.inFlight++;
    }
  };
  let closed = false;
  return {
    get path() { return w.path; },
    get failed() { return w.failed; },
    write(r) {
      if (r.type === 'summary') { summary = r; return; }
      tally(r);
      w.write(r);
    },
    flush: () => w.flush(),
    close() {
      if (closed) return;
      closed = true;
      if (summary === null && fault !== null) summary = fallbackSummary(pids.size, t);
      if (summary !== null) { noteInternalError(summary); w.write(summary); }
      w.close();
    },
  };
}

function fallbackSummary(processes: number, t: { delivered: number; inFlight: number; lost: number; fdsReceived: number; alerts: number }): SummaryRecord {
  return {
    v: SCHEMA_VERSION, type: 'summary', ts: null, lines: 0, events: 0, syscalls: 0, processes,
    transfers: { delivered: t.delivered, inFlight: t.inFlight, lost: t.lost },
    fdsSent: t.delivered + t.inFlight + t.lost, fdsReceived: t.fdsReceived, parseErrors: 0, parseErrorSamples: [],
    alerts: t.alerts, cleanEnd: false, opaqueMessages: 0,
  };
}

/**
 * TEST HOOK, nothing else (a bug cannot be caused on demand; no effect unless set, read once at start):
 * FDWATCH_TEST_THROW=record:N throws in the output's handling of its N-th record; usr2:throw and usr2:reject
 * throw from a SIGUSR2 listener, as an exception and as a promise rejection nothing awaits.
 */
// read at first use, not at import: a module's top level may run when a start-up snapshot is built (scripts/blob-entry.cjs)
let testSetting: string | null | undefined;
let testAtRecord = -1;
function testThrow(): string | null {
  if (testSetting === undefined) {
    testSetting = /^(record:[1-9]\d*|usr2:throw|usr2:reject)$/.exec(process.env['FDWATCH_TEST_THROW'] ?? '')?.[1] ?? null;
    testAtRecord = testSetting?.startsWith('record:') ? Number(testSetting.slice(7)) : 0;
  }
  return testSetting;
}
let recordsOut = 0;

/** Called by each command's output for every record it handles (the test hook's `record:N`). */
export function testFault(): void {
  if (testAtRecord < 0) testThrow();
  if (testAtRecord > 0 && ++recordsOut === testAtRecord) throw new RangeError(`test fault at record ${testAtRecord} (FDWATCH_TEST_THROW)`);
}

/** The test hook's `usr2:` stages, once per run of the CLI. */
export function installTestHook(): void {
  const TEST_THROW = testThrow();
  if (TEST_THROW === 'usr2:throw') process.on('SIGUSR2', () => { throw new TypeError('test fault on SIGUSR2 (FDWATCH_TEST_THROW)'); });
  if (TEST_THROW === 'usr2:reject') process.on('SIGUSR2', () => { void Promise.reject(new TypeError('test fault on SIGUSR2, rejected (FDWATCH_TEST_THROW)')); });
}
