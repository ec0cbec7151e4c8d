// Lines -> TraceEvents: joins `<unfinished ...>` with `<... resumed>` per thread, splits spliced
// `strace: Process N attached` messages, resolves unprefixed lines, turns -t/-tt clocks into epoch time.
import type { ParseError, SyscallEvent, TraceEvent } from '../model/events.js';
import { Ch } from '../model/chars.js';
import { escapeControl } from '../model/escape.js';
import { scanLine, quickSkip, finishScan, nameFilter, LineRecord, QuickScan, type NameFilter, type ScannedLine } from './scan.js';

/** Time of day (-t/-tt) -> epoch seconds, counting midnight rollovers. One per input stream. */
export class Clock {
  private days = 0;
  private last = -1;
  constructor(private readonly baseDay: number) {}
  epoch(tod: number): number {
    if (this.last >= 0 && tod + 43200 < this.last) this.days++;
    this.last = tod;
    return this.baseDay + this.days * 86400 + tod;
  }
}

/** Local midnight of a date, in epoch seconds. */
export function localMidnight(d: Date): number {
  const m = new Date(d.getFullYear(), d.getMonth(), d.getDate());
  return m.getTime() / 1000;
}

export interface Source {
  /** -ff: the pid from the file name; lines carry no prefix */
  fileTid: number | null;
  clock: Clock;
  /** text of a line cut by a spliced `strace: Process N attached` message */
  splice: string | null;
  /** the spliced message itself, handled after the cut line so it cannot steal the line's owner */
  spliceMsg: string | null;
  /** lines skipped while waiting for the cut line's continuation */
  spliceWait: number;
}

export function newSource(fileTid: number | null, baseDay: number): Source {
  return { fileTid, clock: new Clock(baseDay), splice: null, spliceMsg: null, spliceWait: 0 };
}

interface Pending {
  name: string;
  args: string;
  line: number;
  ts: number | null;
  comm: string | null;
}

const PLACEHOLDER = -1;
const MAX_BUFFERED = 100_000;

/**
 * Longer lines are parse errors (their bytes past this are never kept: see LineSplitter). strace -s 256
 * prints a string argument in at most 4 x 256 bytes (\ooo escapes); the longest line that matters, a
 * sendmsg of SCM_MAX_FD (253) fds each with a -yy path of 1 KB of escapes, stays near 300 KB. 1 MiB leaves
 * room for larger -s values and costs 1 MiB of memory at most.
 */
export const MAX_LINE = 1 << 20;
const TOO_LONG = `line longer than ${MAX_LINE} bytes`;

export interface JoinerStats {
  lines: number;
  events: number;
  syscalls: number;
  parseErrors: number;
  cut: number;
}

export class Joiner {
  /** a thread's unfinished call; null once resumed (kept until the thread exits: no Map shrink and regrow per call) */
  private readonly pending = new Map<number, Pending | null>();
  /** threads whose call in progress is an entry half quickSkip skipped (its resumed half is skipped too) */
  private readonly skippedEntries = new Set<number>();
  /** `<pid changed to L ...>`: the execve of another thread that will resume as L */
  private readonly migrated = new Map<number, Pending>();
  private readonly live = new Set<number>();
  /** leaders whose thread was replaced by another thread's execve */
  private readonly superseded = new Set<number>();
  private placeholderBuffer: TraceEvent[] | null = null;
  readonly stats: JoinerStats = { lines: 0, events: 0, syscalls: 0, parseErrors: 0, cut: 0 };

  /** quickSkip's verdict on the line at hand */
  private readonly quick = new QuickScan();
  /** the line at hand, scanned: handled before the next one is read (a spliced line's pieces get their own) */
  private readonly line = new LineRecord();
  /** the threads of the last two skipped lines (known alive; -f logs of two busy processes alternate) */
  private lastTid = -1;
  private prevTid = -1;
  private readonly filter: NameFilter | null;

  /** `interesting`: syscall names worth parsing; others are counted and dropped (null: keep all). */
  constructor(
    private readonly onEvent: (e: TraceEvent) => void,
    private readonly onError: (e: ParseError) => void,
    private readonly interesting: ReadonlySet<string> | null = null,
    /** entry halves worth an event of their own (clone family: the child may show up before the return) */
    private readonly entryNames: ReadonlySet<string> | null = null,
  ) {
    this.filter = interesting ? nameFilter(interesting) : null;
  }

  /** Feeds the line bytes[start, end) (latin1) without decoding it unless it matters. */
  pushBytes(bytes: Buffer, start: number, end: number, lineNo: number, src: Source): void {
    if (end - start > MAX_LINE) { this.tooLong(bytes, start, end, lineNo, src); return; }
    const q = this.quick;
    const verdict = src.splice === null && this.filter !== null ? quickSkip(bytes, start, end, this.filter, q) : 'unknown';
    if (verdict === 'skip' || (verdict === 'interesting' && q.kind === 'resumed' && this.skippedEntries.size > 0 && this.skippedResumed(q))) {
      this.stats.lines++;
      this.skipped(q);
      // a skipped line only tells which threads are alive; the same thread again tells nothing new
      const tid = q.tid;
      if (tid === null) this.resolveTid(null, src);
      else if (tid !== this.lastTid) {
        if (tid !== this.prevTid) this.resolveTid(tid, src);
        this.prevTid = this.lastTid;
        this.lastTid = tid;
      }
      return;
    }
    if (verdict === 'interesting') {
      // decode only the arguments (and the stamp of a call): the prefix and name are known
      this.stats.lines++;
      const l = finishScan(q, bytes, end, this.line);
      this.handle(l, lineNo, src, l.kind === 'error' ? bytes.toString('latin1', start, end) : '');
      return;
    }
    this.push(bytes.toString('latin1', start, end), lineNo, src);
  }

  /** A line quickSkip skipped: a call counts as one, an entry half is remembered so that its resumed half is skipped too. */
  private skipped(q: QuickScan): void {
    if (q.kind === 'skip' || q.kind === 'skip-entry') this.stats.syscalls++;
    if (q.kind === 'skip-entry') this.skippedEntries.add(q.tid!);
  }

  /** The resumed half of an entry quickSkip skipped (an anonymous mmap's): skipped too. */
  private skippedResumed(q: QuickScan): boolean {
    if (q.tid === null || q.name !== 'mmap' || !this.skippedEntries.delete(q.tid)) return false;
    q.kind = 'skip-resumed';
    return true;
  }

  /**
   * A line over MAX_LINE: only its head is read. A call that does not matter (a long write with a large -s)
   * is skipped as any other; anything else is a parse error.
   */
  private tooLong(bytes: Buffer, start: number, end: number, lineNo: number, src: Source): void {
    this.stats.lines++;
    const q = this.quick;
    if (this.filter !== null && quickSkip(bytes, start, end, this.filter, q) === 'skip') {
      this.skipped(q);
      this.resolveTid(q.tid, src);
      return;
    }
    this.error(lineNo, TOO_LONG, bytes.toString('latin1', start, start + 201));
  }

  /** Feeds one line (without newline). `lineNo` is 1-based in its source. */
  push(text: string, lineNo: number, src: Source): void {
    if (text.length > MAX_LINE) {
      // the same verdict as for bytes; a line that long is latin1 text from a reader, one char per byte
      const head = Buffer.from(text.slice(0, MAX_LINE + 1), 'latin1');
      this.tooLong(head, 0, head.length, lineNo, src);
      return;
    }
    this.stats.lines++;
    if (src.splice !== null) {
      const frag = src.splice;
      const msg = src.spliceMsg;
      src.splice = null;
      src.spliceMsg = null;
      const probe = scanLine(text);
      if (probe.kind === 'resumed' || probe.kind === 'call' || probe.kind === 'signal' || probe.kind === 'exit' ||
          probe.kind === 'unfinished' || probe.kind === 'attached' || probe.kind === 'superseded') {
        // strace went on with a fresh line: the fragment was an entry that will be resumed
        src.spliceWait = 0;
        this.handle(scanLine(frag + ' <unfinished ...>'), lineNo - 1, src, frag);
        if (msg !== null) this.handle(scanLine(msg), lineNo - 1, src, msg);
        this.handle(probe, lineNo, src, text);
      } else {
        const joined = scanLine(frag + text);
        if (joined.kind === 'error' && src.spliceWait < 3) {
          // interleaved program output between the cut line and its continuation: skip it, keep waiting
          src.splice = frag;
          src.spliceMsg = msg;
          src.spliceWait++;
          this.error(lineNo, 'not a strace line', text);
          return;
        }
        src.spliceWait = 0;
        this.handle(joined, lineNo, src, frag + text);
        if (msg !== null) this.handle(scanLine(msg), lineNo - 1, src, msg);
      }
      return;
    }
    // a spliced `strace: Process N attached` message ends its line
    let last = text.length - 1;
    if (text.charCodeAt(last) === Ch.CR) last--;
    const sp = text.charCodeAt(last) === Ch.d ? text.indexOf('strace: Process ') : -1;
    if (sp > 0) {
      src.splice = text.slice(0, sp);
      src.spliceMsg = text.slice(sp);
      return;
    }
    this.handle(scanLine(text, this.interesting, this.line), lineNo, src, text);
  }

  /** End of input: calls still unfinished are reported as cut; buffered placeholder events are flushed. */
  end(src?: Source): void {
    if (src && src.splice !== null) {
      this.error(0, 'line cut by the end of the trace', src.splice);
      if (src.spliceMsg !== null) this.handle(scanLine(src.spliceMsg), 0, src, src.spliceMsg);
      src.splice = null;
      src.spliceMsg = null;
    }
    for (const [tid, p] of this.pending) {
      if (p === null) continue;
      this.stats.cut++;
      this.emit({
        type: 'syscall', line: p.line, tid, ts: p.ts, comm: p.comm, name: p.name, args: p.args,
        ret: { value: null, text: '?', errno: null, decor: null }, cut: true,
      });
    }
    this.pending.clear();
    this.flushPlaceholder(0);
  }

  private error(line: number, reason: string, text: string): void {
    this.stats.parseErrors++;
    this.onError({ line, reason, text: text.length > 200 ? text.slice(0, 200) + '...' : text });
  }

  private emit(e: TraceEvent): void {
    // while the unprefixed process is unnamed, hold every event so the order stays as printed
    if (this.placeholderBuffer) {
      if (this.placeholderBuffer.length >= MAX_BUFFERED) this.flushPlaceholder(0);
      else { this.placeholderBuffer.push(e); return; }
    }
    this.stats.events++;
    if (e.type === 'syscall') this.stats.syscalls++;
    this.onEvent(e);
  }

  private flushPlaceholder(tid: number): void {
    const buf = this.placeholderBuffer;
    if (!buf) return;
    this.placeholderBuffer = null;
    const moved = this.pending.get(PLACEHOLDER);
    if (moved) { this.pending.delete(PLACEHOLDER); this.pending.set(tid, moved); }
    for (const e of buf) { if (e.tid === PLACEHOLDER) e.tid = tid; this.emit(e); }
  }

  /** The thread of a line with prefix `tid`; `execer`: a superseded line's execve-ing thread. */
  private resolveTid(tid: number | null, src: Source, execer: number | null = null): number {
    if (tid !== null) {
      if (!this.live.has(tid)) {
        this.live.add(tid);
        // the first unannounced prefixed thread is the one that printed the unprefixed lines
        if (this.placeholderBuffer) this.flushPlaceholder(tid);
      }
      return tid;
    }
    if (src.fileTid !== null) return src.fileTid;
    if (execer !== null && !this.placeholderBuffer) {
      // the execve-ing thread is gone from the count already: the survivor is the one left
      const rest = [...this.live].filter((t) => t !== execer);
      if (rest.length === 1) return rest[0]!;
    }
    // strace drops the prefix while it traces a single process: the unannounced launched command, or the only survivor
    if (this.placeholderBuffer) return PLACEHOLDER;
    if (this.live.size === 1) for (const t of this.live) return t;
    this.placeholderBuffer = [];
    return PLACEHOLDER;
  }

  /**
   * One scanned line. Calls and their halves, nearly every line handled here, have small methods of their own: the
   * compiled code of each stays small, and a rare kind of line (an exit with no code) seen late cannot deoptimize it.
   */
  private handle(l: ScannedLine, lineNo: number, src: Source, text: string): void {
    this.lastTid = -1;
    this.prevTid = -1;
    if (l.ts !== null && l.tod) l.ts = src.clock.epoch(l.ts);
    const kind = l.kind;
    if (kind === 'call') this.call(l, lineNo, src);
    else if (kind === 'resumed') this.resumed(l, lineNo, src, text);
    else if (kind === 'unfinished') this.unfinished(l, lineNo, src);
    else this.other(l, lineNo, src, text);
  }

  private call(l: ScannedLine & { kind: 'call' }, lineNo: number, src: Source): void {
    const tid = this.resolveTid(l.tid, src);
    this.emit({
      type: 'syscall', line: lineNo, tid, ts: l.ts, comm: l.comm, name: l.name, args: l.args, ret: l.ret,
    });
  }

  private unfinished(l: ScannedLine & { kind: 'unfinished' }, lineNo: number, src: Source): void {
    const tid = this.resolveTid(l.tid, src);
    this.skippedEntries.delete(tid);
    const p: Pending = { name: l.name, args: l.args, line: lineNo, ts: l.ts, comm: l.comm };
    if (l.detached) { this.stats.cut++; return; }
    if (l.pidChangedTo !== null) this.migrated.set(l.pidChangedTo, p);
    else this.pending.set(tid, p);
    if (this.entryNames === null || this.entryNames.has(l.name)) {
      this.emit({ type: 'entry', line: lineNo, tid, ts: l.ts, name: l.name, args: l.args });
    }
  }

  private resumed(l: ScannedLine & { kind: 'resumed' }, lineNo: number, src: Source, text: string): void {
    const tid = this.resolveTid(l.tid, src);
    let p = this.pending.get(tid);
    if (p && p.name === l.name) this.pending.set(tid, null);
    else {
      const m = this.migrated.get(tid);
      if (m && m.name === l.name) { p = m; this.migrated.delete(tid); }
      else if (l.name.startsWith('execve') && this.superseded.has(tid)) {
        // -ff without time order: the execve's start is in the other thread's file, not read yet
        p = { name: l.name, args: '', line: lineNo, ts: l.ts, comm: l.comm };
      } else {
        this.error(lineNo, `resumed ${escapeControl(l.name.slice(0, 64))} without its start`, text);
        return;
      }
    }
    const ev: SyscallEvent = {
      // the call's effect (an fd installed, a message taken) is at its return: the resumed half's time
      type: 'syscall', line: p.line, tid, ts: l.ts ?? p.ts, comm: l.comm ?? p.comm, name: l.name,
      args: p.args + l.args, ret: l.ret,
    };
    this.emit(ev);
  }

  /** Every kind of line but a call and its halves. */
  private other(l: ScannedLine, lineNo: number, src: Source, text: string): void {
    switch (l.kind) {
      case 'blank': case 'stack': case 'message':
        return;
      case 'skip': case 'skip-resumed':
        this.resolveTid(l.tid, src);
        if (l.kind === 'skip') this.stats.syscalls++;
        return;
      case 'error':
        this.error(lineNo, l.reason, text);
        return;
      case 'attached': case 'detached': {
        const tid = l.pid;
        if (l.kind === 'attached') this.live.add(tid);
        else this.live.delete(tid);
        this.emit({ type: l.kind, line: lineNo, tid, ts: l.ts });
        return;
      }
      default:
    }
    const tid = this.resolveTid(l.tid, src, l.kind === 'superseded' ? l.by : null);
    switch (l.kind) {
      case 'signal':
        this.emit({ type: 'signal', line: lineNo, tid, ts: l.ts, signal: l.signal, info: l.info });
        return;
      case 'exit': {
        this.skippedEntries.delete(tid);
        const p = this.pending.get(tid);
        this.pending.delete(tid);
        if (p) {
          // the call never returned: killed, or exit_group's `= ?` printed as unfinished
          this.stats.cut++;
          this.emit({
            type: 'syscall', line: p.line, tid, ts: p.ts, comm: p.comm, name: p.name, args: p.args,
            ret: { value: null, text: '?', errno: null, decor: null }, cut: true,
          });
        }
        this.live.delete(tid);
        this.emit({ type: 'exit', line: lineNo, tid, ts: l.ts, code: l.code, signal: l.signal, core: l.core });
        return;
      }
      case 'superseded': {
        // the old leader's own pending call dies with it; the execve-ing thread resumes under this tid
        const p = this.pending.get(tid);
        if (p) { this.pending.delete(tid); this.stats.cut++; }
        this.superseded.add(tid);
        const ex = this.pending.get(l.by);
        if (ex && ex.name.startsWith('execve')) { this.pending.delete(l.by); this.migrated.set(tid, ex); }
        this.live.delete(l.by);
        this.emit({ type: 'superseded', line: lineNo, tid, ts: l.ts, by: l.by });
        return;
      }
      default:
    }
  }
}
