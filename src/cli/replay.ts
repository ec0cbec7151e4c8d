// `fdwatch replay TRACE`: a recorded strace log (-o file, -ff set, or stdin) -> report or NDJSON.
import { TraceSession } from '../correlate/session.js';
import { KEEP_EXITED } from '../correlate/correlator.js';
import type { FdwatchRecord, SummaryRecord } from '../model/records.js';
import { openNdjson, type RecordWriter } from '../export/ndjson.js';
import { formatAlert, formatProcess, formatSummary, formatTransfer } from '../export/text.js';
import { readFileBytes, readStreamBytes, resolveInput, mergeFf, ffTimed } from '../tracer/read.js';
import { localMidnight } from '../tracer/joiner.js';
import fs from 'node:fs';

export interface ReplayOptions {
  trace: string;
  json: string | null;
  /** YYYY-MM-DD for -t/-tt logs; default: the log's modification day */
  date: string | null;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}

export class UsageError extends Error {}

function baseDayFor(date: string | null, file: string | null): number {
  if (date) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
    if (!m) throw new UsageError(`--date must look like 2026-11-24, got ${JSON.stringify(date)}`);
    return localMidnight(new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  }
  if (file) {
    try { return localMidnight(fs.statSync(file).mtime); } catch { /* fall through */ }
  }
  return localMidnight(new Date());
}

/** Reads a trace (file, -ff set, or '-' for stdin) through the pipeline; records go to `emit` as they are made. */
export async function replayTrace(trace: string, date: string | null, emit: (r: FdwatchRecord) => void):
  Promise<{ summary: SummaryRecord; session: TraceSession }> {
  const input = resolveInput(trace);
  const firstFile = input.kind === 'file' ? input.path : input.kind === 'ff' ? input.files[0]!.path : null;
  const baseDay = baseDayFor(date, firstFile);
  const session = new TraceSession(emit, { baseDay, source: trace, deferOrphans: input.kind === 'ff' && !ffTimed(input.files) });
  const stop = (): void => {
    // Ctrl-C while reading: keep what was observed
    session.end({ interrupted: true });
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let truncated = false;
  try {
    if (input.kind === 'ff') {
      const srcs = input.files.map((f) => session.source(f.pid));
      truncated = mergeFf(input.files, baseDay, (l) => session.line(l.text, l.lineNo, srcs[l.file]!)).truncated;
    } else {
      const src = session.source(null);
      const sink = (t: Buffer, a: number, b: number, n: number): void => session.bytes(t, a, b, n, src);
      const r = input.kind === 'stdin' ? await readStreamBytes(process.stdin, sink) : await readFileBytes(input.path, sink);
      truncated = r.truncated;
    }
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
  return { summary: session.end({ truncated }), session };
}

/** Runs a replay; resolves to the summary. Throws UsageError/InputError for bad input. */
export async function replay(opts: ReplayOptions, onRecord?: (r: FdwatchRecord) => void): Promise<SummaryRecord> {
  const out = opts.out ?? process.stdout;
  let writer: RecordWriter | null = null;
  const transfers: string[] = [];
  const alerts: string[] = [];
  const text = opts.json === null;
  resolveInput(opts.trace); // a missing trace is an error before any output file is made
  if (opts.date !== null) baseDayFor(opts.date, null);
  if (opts.json !== null) writer = openNdjson(opts.json);
  process.once('exit', () => writer?.close()); // an interrupted replay still closes its NDJSON
  const { summary, session } = await replayTrace(opts.trace, opts.date, (r) => {
    writer?.write(r);
    onRecord?.(r);
    if (text) {
      if (r.type === 'transfer') transfers.push(formatTransfer(r));
      else if (r.type === 'alert') alerts.push(formatAlert(r));
    }
  });
  writer?.close();
  if (text) {
    const lines: string[] = [];
    lines.push(`TRANSFERS (${transfers.length})`);
    for (const t of transfers) lines.push('  ' + t);
    if (transfers.length === 0) lines.push('  (none)');
    lines.push('', 'PROCESSES');
    for (const p of session.correlator.processes.values()) {
      for (const l of formatProcess(p, p.finalFds ?? [...p.table.fds.values()])) lines.push('  ' + l);
    }
    // the correlator keeps the last KEEP_EXITED exited processes (memory stays bounded); say what is not shown
    const left = session.correlator.exitedDropped;
    if (left > 0) lines.push(`  (${left} earlier exited processes left out: the report keeps the last ${KEEP_EXITED} that exited; --json has every record)`);
    lines.push('', `ALERTS (${alerts.length})`);
    for (const a of alerts) lines.push('  ' + a);
    if (alerts.length === 0) lines.push('  (none)');
    lines.push('', formatSummary(summary));
    for (const e of summary.parseErrorSamples.slice(0, 5)) lines.push(`  line ${e.line}: ${e.reason}`);
    out.write(lines.join('\n') + '\n');
  } else if (opts.json !== '-') {
    (opts.err ?? process.stderr).write(formatSummary(summary) + `; records in ${opts.json}\n`);
  }
  return summary;
}
