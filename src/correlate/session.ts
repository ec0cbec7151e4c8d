// Wires the pure stages: lines -> Joiner -> SyscallEvents -> decode -> FdOps -> Correlator -> records,
// and closes with a summary. What live mode needs of the kernel model goes through here.
import type { ParseError } from '../model/events.js';
import type { FdKind, FdwatchRecord, SummaryRecord, Ts } from '../model/records.js';
import { Joiner, newSource, localMidnight, type Source } from '../tracer/joiner.js';
import { decode } from '../tracer/decode.js';
import { parseDecor } from '../tracer/decor.js';
import { Correlator, type CorrelatorOptions, type SeedProcess as ModelSeed } from './correlator.js';
import type { FdOp, QueuedOn } from '../model/fdop.js';
import { INTERESTING, ENTRY_EVENTS } from '../model/syscalls.js';
import { SkippedEvents, internalText } from '../model/errors.js';

/** A process found running at attach, as /proc shows it: fd targets in strace -yy words. */
export type SeedProcess = Omit<ModelSeed, 'fds'> & { fds: Array<{ fd: number; target: string; kind: FdKind; cloexec: boolean | null }> };

export interface SessionOptions extends CorrelatorOptions {
  /** local midnight (epoch s) that -t/-tt times of day count from */
  baseDay?: number;
  /** how many parse errors the summary lists */
  maxErrorSamples?: number;
  source?: string;
}

export class TraceSession {
  readonly joiner: Joiner;
  readonly correlator: Correlator;
  readonly errors: ParseError[] = [];
  /** lines and ops the pipeline threw on (a bug): counted and skipped, the trace goes on */
  readonly skipped = new SkippedEvents();
  private readonly baseDay: number;
  private readonly maxSamples: number;
  private readonly sources: Source[] = [];
  private ended = false;

  constructor(private readonly emit: (r: FdwatchRecord) => void, private readonly opts: SessionOptions = {}) {
    this.baseDay = opts.baseDay ?? localMidnight(new Date());
    this.maxSamples = opts.maxErrorSamples ?? 20;
    this.correlator = new Correlator(emit, opts);
    const c = this.correlator;
    this.joiner = new Joiner((e) => { const op = decode(e, c); if (op !== null) c.push(op); }, (err) => {
      if (this.errors.length < this.maxSamples) this.errors.push(err);
    }, INTERESTING, ENTRY_EVENTS);
  }

  /** A new input stream: one for a single log or stdin, one per file of an -ff set. */
  source(fileTid: number | null = null): Source {
    const s = newSource(fileTid, this.baseDay);
    this.sources.push(s);
    return s;
  }

  line(text: string, lineNo: number, src: Source): void {
    try { this.joiner.push(text, lineNo, src); } catch (e) { this.skipped.note(e); }
  }

  /** The line bytes[start, end): lines that do not matter are never decoded. */
  bytes(bytes: Buffer, start: number, end: number, lineNo: number, src: Source): void {
    try { this.joiner.pushBytes(bytes, start, end, lineNo, src); } catch (e) { this.skipped.note(e); }
  }

  /** The starting state of a process found running at attach (live mode). */
  seedProcess(s: SeedProcess, ts: Ts): void {
    this.correlator.seedProcess({
      ...s,
      fds: s.fds.map((f) => {
        const target = parseDecor(f.target);
        if (target.kind !== f.kind && f.kind !== 'unknown') target.kind = f.kind;
        return { fd: f.fd, target, cloexec: f.cloexec };
      }),
    }, ts);
  }

  /** The trace knows this process and it has not exited. */
  isRunning(pid: number): boolean {
    const p = this.correlator.processes.get(pid);
    return p !== undefined && !p.exited;
  }

  /** Messages still queued on sockets known by inode (live mode asks /proc who holds them). */
  queued(): QueuedOn[] {
    return this.correlator.queued();
  }

  /** An op from a source beside the trace lines (live mode: what /proc showed of a receiver nobody traces). */
  apply(op: FdOp): void {
    try { this.correlator.push(op); } catch (e) { this.skipped.note(e); }
  }

  /** Live mode: how many fds a traced process holds now (sampled a second apart; see Correlator.fdCount). */
  fdCount(pid: number, count: number, ts: Ts): void {
    try { this.correlator.fdCount(pid, count, ts); } catch (e) { this.skipped.note(e); }
  }

  /** Up to `max` processes the trace knows that have not exited (live mode samples their fd counts). */
  runningPids(max: number): number[] {
    const out: number[] = [];
    for (const p of this.correlator.processes.values()) {
      if (out.length === max) break;
      if (!p.exited) out.push(p.pid);
    }
    return out;
  }

  /** Processes the trace has seen that have not exited. */
  liveProcesses(): number {
    let n = 0;
    for (const p of this.correlator.processes.values()) if (!p.exited) n++;
    return n;
  }

  /** Live mode: the tracer let go of every process still running (a detach ends their trace cleanly). */
  detachAll(): void {
    this.correlator.detachAll();
  }

  /** Long runs stay bounded: exited processes beyond the newest `keep` are forgotten. */
  pruneExited(keep: number): number {
    return this.correlator.pruneExited(keep);
  }

  /**
   * Closes the trace: pending calls are cut, queued fds are in flight, and the summary is emitted. An internal
   * error while closing still emits the summary (with `error`, counts so far), then is thrown.
   */
  end(opts: { interrupted?: boolean; truncated?: boolean } = {}): SummaryRecord {
    if (this.ended) throw new Error('session already ended');
    this.ended = true;
    let cutLine = false;
    let failed: { e: unknown } | null = null;
    try {
      for (const s of this.sources) { if (s.splice !== null) cutLine = true; this.joiner.end(s); }
      this.joiner.end();
      this.correlator.finish();
    } catch (e) { failed = { e }; }
    const st = this.joiner.stats;
    const summary = this.correlator.summary({ ...st, parseErrorSamples: this.errors }, !opts.interrupted && !opts.truncated && !cutLine && failed === null);
    if (this.opts.source !== undefined) summary.source = this.opts.source;
    this.skipped.into(summary);
    if (failed !== null) summary.error = `internal: ${internalText(failed.e)}`;
    this.emit(summary);
    if (failed !== null) throw failed.e;
    return summary;
  }
}
