// bpftrace's output lines (the program of ./program.ts) -> FdOps, in the kernel's words. Pure: what it needs of
// the machine (mount points, /proc fd links, the clock) comes in as functions. Each kind of line is one typed method
// (dentry, fd, unixAddress, inet, message, messageFd, event, fork, exec, exit): the text reader calls it once it read
// the line's fields, and so does the native engine's decoder (./native/decode.ts) for its binary records.
//
// Lines of one probe run share its tid and kernel time and come out together (a probe runs on one CPU); a group
// ends with its E line. Per-CPU buffers reach bpftrace in any order (and bpftrace may be seconds behind), so
// finished events wait and leave sorted by kernel time: with `ordered` output, `flush(now)` releases what is older
// than the latest heartbeat every CPU's ring has been read past (its W lines), less the window (a send is stamped
// at its entry but printed at its exit); without, what is older than the window on the wall clock. Paths are joined from the
// D lines' dentry names at release, when every D line printed before the event has arrived; a path the names do
// not reach is taken from /proc/PID/fd/N as soon as the event arrives, or marked as only a tail (`.../name`).
import type { ParseErrorSample, Ts } from '../model/records.js';
import type { CloneFlags, FdOp, FdRef, FdTarget, ScmMessage } from '../model/fdop.js';
import { plainTarget } from '../model/fdop.js';
import { SYSCALLS, type SyscallSpec } from '../model/syscalls.js';
import {
  CLONE_FILES, CLONE_PARENT, CLONE_THREAD, CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE, F_DUPFD_CLOEXEC, F_SETFD, FD_CLOEXEC, MAP_SHARED,
  MAP_SHARED_VALIDATE, MSG_CMSG_CLOEXEC, MSG_PEEK, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, S_IFBLK, S_IFCHR, S_IFDIR, S_IFMT, TCP_LISTEN,
} from '../model/kernel.js';
import { CLONE_CALLS, CLONE_SEEN, DEFAULT_MMSG, DEFAULT_STRLEN, MAGIC, X64_SYSCALL_NR } from './program.js';
import { formatFdLink, linkKind, parseFdLink } from '../procfs/fdlink.js';
import { NONE, appended } from '../model/arrays.js';

export interface ParseOptions {
  /** kernel time (ns, CLOCK_MONOTONIC) -> record time (epoch seconds) */
  clock?: (ns: number) => Ts;
  /** how long a finished event waits for earlier ones from other CPUs (ns) */
  windowNs?: number;
  /** events held at most; beyond it the oldest leave the window early */
  maxPending?: number;
  /** where mount `mntId` is mounted, as process `pid` sees it; null: unknown */
  mountPoint?: (mntId: number, pid: number) => string | null;
  /** the path fd `fd` of `pid` refers to now, if it is still inode `ino` (/proc/PID/fd/N); null: gone */
  resolveFd?: (pid: number, fd: number, ino: number) => string | null;
  /** a private file mapping matters only to a process holding a transferred fd */
  privateMapsMatter?: (tid: number, ts: Ts) => boolean;
  /** BPFTRACE_STRLEN and the message limits the program was generated with */
  strlen?: number;
  mmsgMax?: number;
  /** how many malformed lines the stats keep */
  maxSamples?: number;
  /** the program's output: E/P/X/Q lines end with `seq << 16 | cpu`, heartbeats come with W lines (false: a recording
   * made before they did, released by the wall clock) */
  ordered?: boolean;
}

/** A heartbeat's W lines: how many groups each CPU had printed when it fired. */
interface Heartbeat {
  ns: number;
  seqs: number[];
  /** when (the caller's clock) it was first found waiting on a ring */
  stuckSince: number | null;
}

/** How far back an arrival out of order is moved into its place in the window (further: the window is sorted at
 * the next flush) */
const MAX_SHIFT = 64;

/** A heartbeat that waits this long on a ring that printed nothing since, after bpftrace reported lost events,
 * waits on a line that was lost */
const STUCK_NS = 1e9;

export interface ParseStats {
  /** lines read (the native engine: records) */
  lines: number;
  /** E/P/X/Q events */
  events: number;
  /** E events (syscalls) */
  syscalls: number;
  malformed: number;
  /** bpftrace's "Lost N events": the ring buffers overflowed */
  lostEvents: number;
  /** events that arrived after later ones had left the window (out of order by at most their lateness) */
  late: number;
  /** paths the dentry names did not reach: from /proc, or only a tail */
  pathsFromProc: number;
  partialPaths: number;
  /** groups cut short (a lost line): dropped */
  brokenGroups: number;
}

/** What the program says about itself: loaded (R), every probe live (A), END (Z). */
export type ProgramSignal = { kind: 'loaded'; bpftracePid: number } | { kind: 'ready'; ns: number; regsOk: boolean } | { kind: 'end' };

/** An inet socket's I line. */
interface Inet {
  type: number;
  state: number;
  local: string;
  lport: number;
  remote: string;
  rport: number;
}

/** One fd as a DESC tells it (a socket's address comes in its own U or I line); file, mntRoot, dentry are kernel
 * pointers as their keys (ptrKey). */
export interface Desc {
  fd: number;
  file: string;
  ino: number;
  magic: number;
  mode: number;
  nlink: number;
  mntId: number;
  mntRoot: string;
  dentry: string;
  cloexec: boolean;
  aux: number;
  family: number;
  sockType: number;
  peer: number;
  /** /proc's answer, taken when the event arrived and the names could not reach the mount root */
  procPath: string | null;
  /** a lean description of a file an earlier line described in full (the kernel's file cache said so) */
  known: boolean;
  /** the path entry its dentry was joined into when the event arrived (joinPath: the same answer at its release
   * without a lookup, while the entry holds) */
  pe: PathEntry | null;
}

/** A file as a line described it in full, with its socket's address, and what it was before (the memory of a
 * freed file reused). */
interface FileDesc {
  ns: number;
  d: Desc;
  u: string | undefined;
  i: Inet | undefined;
  older: FileDesc | null;
  /** a socket's target as made from this description the first time a line named it in four fields */
  sock: FdTarget | null;
}

interface Message {
  idx: number;
  n: number;
  ctrunc: boolean;
  fds: Desc[];
}

/** Lines of a tid's probe run not yet closed by its E line. */
interface Group {
  ns: number;
  f: Desc[];
  /** made when a U or I line comes (few groups have one) */
  u: Map<string, string> | null;
  i: Map<string, Inet> | null;
  msgs: Message[];
  role: string[];
}

/** A finished event: when, where it came from, and (`seq`) in which order it arrived. */
interface Head {
  ns: number;
  seq: number;
  line: number;
  tid: number;
  tgid: number;
  euid: number | null;
}

/** A finished event waiting in the window: one object per event (the window holds thousands of them at a time, and
 * every scavenge copies what it holds) */
type Ev = Head & (
  | { t: 'E'; syscall: string; spec: SyscallSpec; f: EField[]; desc: Desc | null; g: Group; one: Desc | null; oneCtrunc: boolean; closed: FdRef | null }
  | { t: 'P'; child: number; flags: bigint; sy: number }
  | { t: 'X'; old: number; comm: string; path: string; cut: boolean }
  | { t: 'Q'; groupDead: boolean; code: number });
type Pending = Ev;

const byTime = (a: Pending, b: Pending): number => a.ns - b.ns || a.seq - b.seq;

const SOCK_TYPES: Record<number, string> = { 1: 'STREAM', 5: 'SEQPACKET' };
/** signal numbers (x86-64 / asm-generic) -> names, for exit codes */
const SIGNALS = ['', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1',
  'SIGSEGV', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN',
  'SIGTTOU', 'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS'];

/** Fields of a DESC in a text line. */
const DESC_FIELDS = 14;
/**
 * An E line's fixed fields (after `ns E tid tgid euid call`) by family, as program.ts prints them, and whether a DESC
 * follows. Each field's kind: d a signed number, u an unsigned one, p a kernel pointer (its key, see ptrKey), x a hex
 * and n a decimal 64-bit number (bigints: a mapping's address, length and offset).
 */
const E_FIELDS: Partial<Record<SyscallSpec['family'], [kinds: string, desc: boolean]>> = {
  open: ['d', true], accept: ['d', true], pair: ['d', false], dup: ['dd', true], fcntl: ['dddd', true], close: ['dp', false],
  close_range: ['ddud', false], sendmsg: ['du', true], recvmsg: ['du', true], sendmmsg: ['du', true], recvmmsg: ['du', true],
  pidfd_getfd: ['ddd', true], mmap: ['xdpnuund', false],
};

/** An E line's fixed field, typed by its kind (E_FIELDS). */
export type EField = number | bigint | string;

/**
 * Undoes bpftrace's %r: printable bytes as they are, others as \xNN. A literal `\xNN` in a name reads the same
 * as an escaped byte; `len`, the kernel's byte count, tells them apart when it can (null: ambiguous).
 */
export function unescapeR(text: string, len: number | null): string | null {
  // the common case: plain ASCII, nothing escaped
  if (text.indexOf('\\') < 0 && !/[^\x20-\x7e]/.test(text)) return len === null || text.length === len ? text : null;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92 /* \ */ && text.charCodeAt(i + 1) === 120 /* x */ && isHex(text.charCodeAt(i + 2)) && isHex(text.charCodeAt(i + 3))) {
      const b = parseInt(text.slice(i + 2, i + 4), 16);
      // bpftrace escapes only what is not printable: \x41 in the text is four bytes of the name
      if (b < 0x20 || b >= 0x7f) { bytes.push(b); i += 3; continue; }
    }
    bytes.push(c & 0xff);
  }
  if (len !== null && bytes.length !== len) return null;
  return Buffer.from(bytes).toString('utf8');
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

/**
 * A copy of `s` that does not keep the text it was cut from alive: V8 makes a slice of 13 characters or more share
 * its parent string, so a name kept for the session (a dentry's, a socket path, a comm) kept the whole chunk of
 * bpftrace's output it was read from (64 KB from the pipe).
 */
function own(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** A NUL-padded buffer (comm): up to the first NUL. */
function cString(s: string): string {
  const z = s.indexOf('\0');
  return z >= 0 ? s.slice(0, z) : s;
}

/** A close's fields, kept as its fd instead (never written to). */
const NO_FIELDS: EField[] = Object.freeze([]) as unknown as EField[];

/** A thread's last group, closed by its E line (kept in place of a delete, see takeGroup). */
const TAKEN: Group = Object.freeze({ ns: NaN, f: NONE, u: null, i: null, msgs: NONE, role: NONE });

/** The group of an E line that came alone (most of them): shared, never written to. */
const EMPTY_GROUP: Group = Object.freeze({ ns: 0, f: Object.freeze([]) as unknown as Desc[], u: null, i: null, msgs: Object.freeze([]) as unknown as Message[], role: Object.freeze([]) as unknown as string[] });

export class BpfParser {
  readonly stats: ParseStats = {
    lines: 0, events: 0, syscalls: 0, malformed: 0, lostEvents: 0, late: 0, pathsFromProc: 0, partialPaths: 0, brokenGroups: 0,
  };
  readonly samples: ParseErrorSample[] = [];
  private readonly groups = new Map<number, Group>();
  /** events waiting: pending[head..], sorted when `sorted` */
  private pending: Pending[] = [];
  private head = 0;
  private sorted = true;
  private seq = 0;
  private releasedNs = -Infinity;
  /** dentry -> [parent, name, kernel time, what it was before] from D lines (name null: cut by STRLEN or
   * unreadable): a dentry freed and reused while events that named it still wait is looked up as it was then */
  private readonly dentries = new Map<string, DentryName>();
  /** kernel time of the event being handled: the dentry names it is joined from are those of that moment */
  private atNs = Infinity;
  /** the last walk took an older name of a dentry (its answer is not the path now: not cached) */
  private usedOlder = false;
  /** joined paths by dentry (with the mount root and mount they were joined under): valid until a D line changes
   * a dentry already known */
  private readonly paths = new Map<string, PathEntry>();
  /** the entry joinPath's last answer came from or went into (null: not kept) */
  private lastPath: PathEntry | null = null;
  /** bumped at each clear of `paths`: an entry of an older generation is no longer the map's */
  private pathsGen = 0;
  private readonly tgids = new Map<number, number>();
  private readonly euids = new Map<number, number>();
  /** thread-group leaders whose exit came while another thread lived (an exec in a thread replaces them) */
  private readonly leaderGone = new Map<number, number>();
  private ended = false;
  /** per CPU: the highest group count read from its ring */
  private readonly readSeq: number[] = [];
  private building: Heartbeat | null = null;
  private readonly heartbeats: Heartbeat[] = [];
  private readonly ordered: boolean;
  private readonly strlen: number;
  private readonly mmsgMax: number;
  private readonly windowNs: number;

  constructor(private readonly emit: (op: FdOp) => void, private readonly opts: ParseOptions = {},
    private readonly onSignal: (s: ProgramSignal) => void = () => {}) {
    this.strlen = opts.strlen ?? DEFAULT_STRLEN;
    this.mmsgMax = opts.mmsgMax ?? DEFAULT_MMSG;
    this.windowNs = opts.windowNs ?? 100e6;
    this.ordered = opts.ordered ?? false;
  }

  /** Everything printed before this kernel time has been read (ordered output; -Infinity before a heartbeat). */
  completeNs = -Infinity;

  /** Moves `completeNs` to the latest heartbeat whose counts every CPU's ring has been read up to (`nowNs`: the
   * caller's clock, for a heartbeat waiting on a line bpftrace lost). */
  settle(nowNs: number | null): number {
    const hb = this.heartbeats;
    while (hb.length > 0) {
      const h = hb[0]!;
      if (!this.caughtUp(h, nowNs)) break;
      if (h.ns > this.completeNs) this.completeNs = h.ns;
      hb.shift();
    }
    return this.completeNs;
  }

  private caughtUp(h: Heartbeat, nowNs: number | null): boolean {
    let behind: number[] | null = null;
    for (let c = 0; c < h.seqs.length; c++) {
      const need = h.seqs[c];
      if (need !== undefined && (this.readSeq[c] ?? 0) < need) (behind ??= []).push(c);
    }
    if (behind === null) return true;
    if (nowNs === null || this.stats.lostEvents === 0) return false;
    h.stuckSince ??= nowNs;
    if (nowNs - h.stuckSince < STUCK_NS) return false;
    // bpftrace lost lines, and each ring it waits on printed nothing in the heartbeats since: what it waits for was lost
    const last = this.heartbeats[this.heartbeats.length - 1]!;
    if (last === h || behind.some((c) => last.seqs[c] !== h.seqs[c])) return false;
    for (const c of behind) this.readSeq[c] = h.seqs[c]!;
    return true;
  }

  /** The thread group of a thread any line named. */
  tgidOf(tid: number): number | null {
    return this.tgids.get(tid) ?? null;
  }

  /** The effective uid a process's last line carried. */
  euidOf(pid: number): number | null {
    return this.euids.get(pid) ?? null;
  }

  /** Events waiting in the window. */
  get waiting(): number {
    return this.pending.length - this.head;
  }

  /** The latest kernel time any line carried (heartbeats included): how far bpftrace's output has come. */
  latestNs = -Infinity;
  /** Lines stamped later than this are dropped unread (the trace was stopped then). */
  cutoffNs = Infinity;

  /**
   * One line of bpftrace's stdout, without its newline: `text`, or `text[start, end)` (the session hands in its read
   * chunk: no string is made per line). The common lines (E, G, H) are read field by field in place; only the fields
   * kept as strings (file pointers, dentries) become strings.
   */
  push(text: string, start = 0, end = text.length): void {
    const lineNo = ++this.stats.lines;
    if (end <= start) return;
    const c0 = text.charCodeAt(start);
    if (c0 < 48 || c0 > 57) { this.chatter(text.slice(start, end), lineNo); return; }
    // the heartbeat is 8 KB of padding: not split
    const tab = text.indexOf('\t', start);
    if (tab > 0 && tab < end && text.charCodeAt(tab + 1) === 84 /* T */ && text.charCodeAt(tab + 2) === 9) {
      const t = decimal(text, start, tab);
      if (t > this.latestNs) this.latestNs = t;
      // its W lines came before it
      if (this.building !== null && this.building.ns === t) this.heartbeats.push(this.building);
      this.building = null;
      return;
    }
    const n = this.scan(text, start, end);
    const fa = this.fa;
    const fb = this.fb;
    const ns = decimal(text, fa[0]!, fb[0]!);
    if (ns > this.latestNs) this.latestNs = ns;
    if (n < 2 || Number.isNaN(ns) || fb[1]! - fa[1]! !== 1) { this.bad(lineNo, 'not an fdwatch event line', text.slice(start, end)); return; }
    const k = text.charCodeAt(fa[1]!);
    if (this.ordered) {
      if (k === 69 /* E */ || k === 80 /* P */ || k === 88 /* X */ || k === 81 /* Q */) {
        // how far this CPU's ring has been read (a stopped trace's lines count too: a heartbeat may wait on them)
        this.nf--;
        const tag = n > 2 ? decimal(text, fa[n - 1]!, fb[n - 1]!) : NaN;
        if (!Number.isSafeInteger(tag) || tag < 65536) { this.bad(lineNo, `${String.fromCharCode(k)} line without its CPU and count`, text.slice(start, end)); return; }
        const cpu = tag % 65536;
        const seq = (tag - cpu) / 65536;
        if (seq > (this.readSeq[cpu] ?? 0)) this.readSeq[cpu] = seq;
      } else if (k === 87 /* W */) {
        this.countsLine(ns, this.strings(), lineNo, text.slice(start, end));
        return;
      }
    }
    // after a stop: what the kernel saw later is not asked for (the sentinel's answers still count)
    if (ns > this.cutoffNs && k !== 65 /* A */) return;
    try {
      if (k === 69) this.eventLine(ns);
      else if (k === 71 /* G */ || k === 72 /* H */ || k === 75 /* K */) this.messageFdLine(ns, k === 71, k === 75);
      else this.line(ns, String.fromCharCode(k), this.strings());
    } catch (e) {
      this.bad(lineNo, e instanceof Error ? e.message : String(e), text.slice(start, end));
    }
  }

  // the line being read: field i is tx[fa[i], fb[i]); nf fields
  private tx = '';
  private readonly fa = new Int32Array(MAX_FIELDS + 1);
  private readonly fb = new Int32Array(MAX_FIELDS + 1);
  private nf = 0;

  /** Finds the fields of `text[start, end)`; more than MAX_FIELDS count as MAX_FIELDS + 1 (no line has that many). */
  private scan(text: string, start: number, end: number): number {
    this.tx = text;
    const fa = this.fa;
    const fb = this.fb;
    let n = 0;
    let at = start;
    for (;;) {
      let tab = text.indexOf('\t', at);
      if (tab < 0 || tab > end) tab = end;
      fa[n] = at;
      fb[n] = tab;
      n++;
      if (tab === end) break;
      if (n > MAX_FIELDS) break;
      at = tab + 1;
    }
    this.nf = n;
    return n;
  }

  /** The line's fields as strings (the rare lines, read by `line`). */
  private strings(): string[] {
    const f: string[] = [];
    for (let i = 0; i < this.nf; i++) f.push(this.tx.slice(this.fa[i]!, this.fb[i]!));
    return f;
  }

  private int(i: number): number {
    if (i >= this.nf) throw new Error('not a number: (missing)');
    return decInt(this.tx, this.fa[i]!, this.fb[i]!);
  }

  private str(i: number): string {
    return this.tx.slice(this.fa[i]!, this.fb[i]!);
  }

  private hexStr(i: number): string {
    const a = this.fa[i]!;
    const b = this.fb[i]!;
    this.checkHex(a, b);
    return this.tx.slice(a, b);
  }

  /** A kernel pointer field (hex), as its last PTR_DIGITS digits: see ptrKey. */
  private ptr(i: number): string {
    const a = this.fa[i]!;
    const b = this.fb[i]!;
    this.checkHex(a, b);
    return this.tx.slice(b - a > PTR_DIGITS ? b - PTR_DIGITS : a, b);
  }

  /** Throws (the line is counted malformed) unless the line's text a..b is lowercase hex digits. */
  private checkHex(a: number, b: number): void {
    const t = this.tx;
    if (a === b) throw new Error('not a hex number: ');
    for (let j = a; j < b; j++) {
      const c = t.charCodeAt(j);
      if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) throw new Error(`not a hex number: ${t.slice(a, b)}`);
    }
  }

  /** A field that is one character: its code (-1 otherwise). */
  private char(i: number): number {
    return this.fb[i]! - this.fa[i]! === 1 ? this.tx.charCodeAt(this.fa[i]!) : -1;
  }

  /** A DESC at field `at`. */
  private descAt(at: number): Desc {
    return {
      fd: this.int(at), file: this.ptr(at + 1), ino: this.int(at + 2), magic: parseInt(this.hexStr(at + 3), 16), mode: radix(this.tx, this.fa[at + 4]!, this.fb[at + 4]!, 8),
      nlink: this.int(at + 5), mntId: this.int(at + 6), mntRoot: this.ptr(at + 7), dentry: this.ptr(at + 8), cloexec: this.char(at + 9) === 49,
      aux: this.int(at + 10), family: at + 11 < this.nf ? this.int(at + 11) : 0, sockType: at + 12 < this.nf ? this.int(at + 12) : 0,
      peer: at + 13 < this.nf ? this.int(at + 13) : 0, procPath: null, known: false, pe: null,
    };
  }

  /** An H or K line's fd at field `at`: its file, inode and CLOEXEC only (magic 0: nothing to name it by; K: the file
   * was described in an earlier line). */
  private leanAt(at: number, known: boolean): Desc {
    return leanDesc(this.int(at), this.ptr(at + 1), this.int(at + 2), this.char(at + 3) === 49, known);
  }

  /** An E line: a call that changed an fd table; it closes its thread's group. */
  private eventLine(ns: number): void {
    const n = this.nf;
    if (n < 6) throw new Error('E line without a syscall');
    // the call: its x86-64 number (saved registers), or its probe's name
    const c5 = this.tx.charCodeAt(this.fa[5]!);
    const pr = c5 >= 48 && c5 <= 57 ? callOfNr(this.int(5)) : probeOf(this.str(5));
    if (pr === null) throw new Error(`E line for ${c5 >= 48 && c5 <= 57 ? `syscall ${this.str(5)}` : syscallOf(this.str(5))}`);
    const kinds = pr.kinds;
    const family = pr.spec.family;
    const fixed = 6 + kinds.length;
    // a sendmsg/recvmsg names its socket in four fields (described in an F line first, or before) and carries its
    // message's one fd
    const short = (family === 'sendmsg' || family === 'recvmsg') && n === fixed + SOCK_FIELDS + INLINE_FIELDS;
    const want = short ? n : fixed + (pr.desc ? DESC_FIELDS : 0);
    if (n !== want) throw new Error(`E line with ${n} fields, not ${want}`);
    const f = this.efields;
    for (let i = 0; i < kinds.length; i++) f[i] = this.field(6 + i, kinds.charCodeAt(i));
    if (!short) { this.event(ns, this.int(2), this.int(3), this.int(4), pr, f, pr.desc ? this.descAt(fixed) : null); return; }
    const fd0 = this.int(fixed + SOCK_FIELDS + 1);
    // a received one was described before (else a G line described it); a sent one is named by the sender's table
    const one = fd0 >= 0 ? leanDesc(fd0, this.ptr(fixed + SOCK_FIELDS + 2), 0, false, family === 'recvmsg') : null;
    this.event(ns, this.int(2), this.int(3), this.int(4), pr, f, null, this.leanAt(fixed, true), one, one !== null && this.char(fixed + SOCK_FIELDS) === 49);
  }

  /** An E line's fixed fields as read (E_FIELDS), handed to `event`: it copies what it keeps. */
  private readonly efields: EField[] = [];

  /** Field `i` of the line as kind `kind` (E_FIELDS's letters). */
  private field(i: number, kind: number): EField {
    switch (kind) {
      case 100 /* d */: return this.int(i);
      case 117 /* u */: {
        // above 2^53 as Number rounds it (the low bits of a flags register a caller filled with garbage)
        if (this.fb[i]! - this.fa[i]! <= 15) return this.int(i);
        const v = Number(this.str(i));
        if (Number.isNaN(v)) throw new Error(`not a number: ${this.str(i)}`);
        return v;
      }
      case 112 /* p */: return this.ptr(i);
      case 120 /* x */: return BigInt('0x' + this.str(i));
      default: return BigInt(this.str(i));
    }
  }

  /**
   * A call that changed an fd table (or mapped a file), the end of its thread's group: the text's E line, a native E
   * record. `fields`: the call's fixed fields, typed as `call.kinds` says (read during the call only); `desc`: the
   * DESC that follows them when `call.desc`. A sendmsg/recvmsg without a DESC is the short form: its socket is the
   * group's F of role s, else `sock` (a line's four fields); `one`: the message's one fd carried on the line.
   */
  event(ns: number, tid: number, tgid: number, euid: number, call: Call, fields: readonly EField[], desc: Desc | null,
    sock: Desc | null = null, one: Desc | null = null, oneCtrunc = false): void {
    const { syscall, spec } = call;
    const short = desc === null && (spec.family === 'sendmsg' || spec.family === 'recvmsg');
    if (desc === null ? call.desc && !short : !call.desc) throw new Error(`${syscall} ${desc === null ? 'without' : 'with'} a DESC`);
    const g = this.takeGroup(tid, ns);
    let d = desc;
    if (short) {
      const sf = g.role.indexOf('s');
      d = sf >= 0 ? g.f[sf]! : sock;
    }
    if (d && d.file === '0') { if (spec.family !== 'fcntl') throw new Error(`${syscall}: its fd has no file`); }
    // a close (a third of all events) keeps its fd and file only
    const closed: FdRef | null = spec.family === 'close' ? { fd: fields[0] as number, target: null, file: fields[1] as string } : null;
    // an open's or accept's fields (its return) say nothing its DESC does not
    const f: EField[] = closed !== null || spec.family === 'open' || spec.family === 'accept' ? NO_FIELDS : fields.slice(0, call.kinds.length);
    this.stats.syscalls++;
    // the files described in full here, for the lines that name them later in four fields (without such lines:
    // the sockets, for their targets)
    const all = this.recallsFiles;
    for (let i = 0; i < g.f.length; i++) {
      const x = g.f[i]!;
      if (x.magic !== 0 && (all || x.magic === MAGIC.SOCKFS)) this.remember(x, ns, g.u?.get(g.role[i]!), g.i?.get(g.role[i]!));
    }
    if (d !== null && d.magic !== 0 && !short && (all || d.magic === MAGIC.SOCKFS)) this.remember(d, ns, g.u?.get('r'), g.i?.get('r'));
    this.finish({ ns, seq: 0, line: this.stats.lines, tid, tgid, euid, t: 'E', syscall, spec, f, desc: d && d.file !== '0' ? d : null, g, one, oneCtrunc, closed });
  }

  /** files described in full, by file pointer: what a later line naming one in four fields refers to */
  private readonly files = new Map<string, FileDesc>();

  /**
   * Whether a later line may name a file by its pointer alone as one described before (the text's K lines, a
   * socket in four fields): then every file's description is kept (FILE_KEEP_NS). False (the native decoder's
   * records, which describe a socket in full at each send and receive and a message's fd in full or lean): only
   * sockets' are, for the targets made of them once (syscallOp); an open's file is not kept 20 s for nothing.
   */
  recallsFiles = true;

  private remember(d: Desc, ns: number, u: string | undefined, i: Inet | undefined): void {
    const known = this.files.get(d.file);
    // described again as it was (a socket's F record at each send and receive): the description kept holds, and so
    // does the target made of it
    if (known !== undefined && d.magic === MAGIC.SOCKFS && known.ns <= ns && known.u === u && sameInet(known.i, i) && sameDesc(known.d, d)) return;
    if (known !== undefined && known.ns > ns) {
      // another CPU's ring came later with an older description: kept behind the newer
      let e = known;
      while (e.older !== null && e.older.ns > ns) e = e.older;
      e.older = { ns, d, u, i, older: e.older, sock: null };
      return;
    }
    const older = known ?? null;
    // the newest FILE_VERSIONS: an event waits in the window a few hundred ms at most
    let k = 1;
    for (let e = older; e !== null; e = e.older) if (++k >= FILE_VERSIONS) { e.older = null; break; }
    this.files.set(d.file, { ns, d, u, i, older, sock: null });
    if (this.files.size > MAX_FILES) this.forgetFiles();
  }

  /** Files not described since FILE_KEEP_NS before the latest line are forgotten (the kernel's cache forgets every
   * few seconds, and describes them again), and the oldest beyond MAX_FILES. */
  private forgetFiles(): void {
    const old = this.latestNs - FILE_KEEP_NS;
    for (const [k, e] of this.files) if (e.ns < old) this.files.delete(k);
    // still too many: the oldest described (by when they were first)
    for (const k of this.files.keys()) { if (this.files.size <= MAX_FILES * 0.75) break; this.files.delete(k); }
  }

  /** A lean description of a known file as the file's full one (at the time of the event being handled), or null. */
  private described(d: Desc): FileDesc | null {
    const e = this.fileAt(d.file);
    if (e === undefined) return null;
    const x = e.d;
    const full: Desc = {
      fd: d.fd, file: x.file, ino: x.ino, magic: x.magic, mode: x.mode, nlink: x.nlink, mntId: x.mntId, mntRoot: x.mntRoot, dentry: x.dentry,
      cloexec: d.cloexec, aux: x.aux, family: x.family, sockType: x.sockType, peer: x.peer, procPath: x.procPath, known: false, pe: null,
    };
    return { ns: e.ns, d: full, u: e.u, i: e.i, older: null, sock: null };
  }

  /** The full description of a known file at the time of the event being handled, as it is kept (not a copy). */
  private fileAt(file: string): FileDesc | undefined {
    let e = this.files.get(file);
    while (e !== undefined && e.ns > this.atNs && e.older !== null) e = e.older;
    return e;
  }

  /** A G line (a message fd described in full: without its socket's fields, or with them as recorded before), an H
   * line (lean) or a K line (lean, its file described before). */
  private messageFdLine(ns: number, full: boolean, known: boolean): void {
    const n = this.nf;
    if (full ? n !== 7 + DESC_FIELDS && n !== 7 + MSG_DESC_FIELDS : n !== 11) throw new Error(`${full ? 'G' : known ? 'K' : 'H'} line with ${n} fields, not ${full ? 7 + MSG_DESC_FIELDS : 11}`);
    this.messageFd(ns, this.int(2), this.int(3), this.int(4), this.char(5) === 49, this.int(6), full ? this.descAt(7) : this.leanAt(7, known));
  }

  /** Fd `i` of an SCM_RIGHTS cmsg of `nfds` fds in message `msg` of the send or receive that follows (a G line or
   * record: `d` in full; H, K: lean, see leanDesc). */
  messageFd(ns: number, tid: number, msg: number, nfds: number, ctrunc: boolean, i: number, d: Desc): void {
    const g = this.group(tid, ns);
    const last = g.msgs[g.msgs.length - 1];
    let m: Message;
    // fd 0 of a cmsg starts it: a second SCM_RIGHTS cmsg of the same message adds to it
    if (last && last.idx === msg) {
      m = last;
      if (i === 0) { m.n += nfds; m.ctrunc ||= ctrunc; }
      m.fds = appended(m.fds, d);
    } else {
      // arrays made with their first element (a push into an empty one allocates room for 17)
      m = { idx: msg, n: nfds, ctrunc, fds: [d] };
      g.msgs = appended(g.msgs, m);
    }
    g.f = appended(g.f, d);
    g.role = appended(g.role, 'm');
  }

  /** A W line: CPUs first.. and their group counts, for the heartbeat whose T line follows. */
  private countsLine(ns: number, f: string[], lineNo: number, text: string): void {
    const first = Number(f[2]);
    if (f.length < 4 || !Number.isSafeInteger(first) || first < 0 || first > 65535) { this.bad(lineNo, 'W line without its CPUs', text); return; }
    if (this.building === null || this.building.ns !== ns) this.building = { ns, seqs: [], stuckSince: null };
    for (let i = 3; i < f.length; i++) {
      const n = Number(f[i]);
      if (!Number.isSafeInteger(n)) { this.bad(lineNo, 'W line with a count that is not a number', text); this.building = null; return; }
      this.building.seqs[first + i - 3] = n;
    }
  }

  /** Releases the events that have waited long enough (`nowNs` on the kernel's clock), or all (null). */
  flush(nowNs: number | null): void {
    const complete = this.ordered && nowNs !== null ? this.settle(nowNs) : Infinity;
    if (this.pending.length === this.head) return;
    if (!this.sorted) {
      if (this.head > 0) { this.pending = this.pending.slice(this.head); this.head = 0; }
      // mostly in order (runs from each CPU's ring): TimSort merges the runs
      this.pending.sort(byTime);
      this.sorted = true;
    }
    const limit = nowNs === null ? Infinity : Math.min(nowNs, complete) - this.windowNs;
    const max = this.opts.maxPending ?? 200_000;
    const pending = this.pending;
    let n = this.head;
    while (n < pending.length && (pending[n]!.ns <= limit || pending.length - n > max)) n++;
    if (n === this.head) return;
    const from = this.head;
    // released before they are handled: an event's handling never comes back here
    this.head = n;
    if (n === pending.length) { this.pending = []; this.head = 0; } else if (n > 4096 && n * 2 > pending.length) { this.pending = pending.slice(n); this.head = 0; }
    for (let i = from; i < n; i++) {
      const p = pending[i]!;
      this.releasedNs = Math.max(this.releasedNs, p.ns);
      // an event whose lines came incomplete (lost on another CPU's ring) is counted and skipped, never fatal: this
      // runs from a timer, where a throw would end fdwatch
      try {
        this.release(p);
      } catch (e) {
        this.bad(p.line, e instanceof Error ? e.message : String(e), `${p.t} event of thread ${p.tid}`);
      }
    }
  }

  /** The trace ended: everything waiting is released; a group without its E line is dropped. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const g of this.groups.values()) if (g !== TAKEN) this.stats.brokenGroups++;
    this.groups.clear();
    this.flush(null);
  }

  // ------------------------------------------------------------------ lines

  private chatter(text: string, lineNo: number): void {
    const lost = /^Lost (\d+) events/.exec(text);
    if (lost) { this.stats.lostEvents += Number(lost[1]); return; }
    // bpftrace's own chatter, and the maps it prints at exit
    if (text.startsWith('Attaching ') || text.startsWith('@') || this.ended) return;
    this.bad(lineNo, 'not an fdwatch event line', text);
  }

  private bad(line: number, reason: string, text: string): void {
    this.stats.malformed++;
    if (this.samples.length < (this.opts.maxSamples ?? 20)) this.samples.push({ line, reason, text: own(text.slice(0, 200)) });
  }

  /** The rarer lines, read as strings. */
  private line(ns: number, kind: string, f: string[]): void {
    const need = (n: number): void => { if (f.length !== n) throw new Error(`${kind} line with ${f.length} fields, not ${n}`); };
    switch (kind) {
      case 'R': need(3); this.onSignal({ kind: 'loaded', bpftracePid: int(f[2]) }); return;
      case 'A': need(4); this.onSignal({ kind: 'ready', ns, regsOk: f[3] === '1' }); return;
      case 'Z': need(2); this.onSignal({ kind: 'end' }); return;
      case 'T': return;
      case 'D': {
        need(7);
        const len = int(f[5]);
        this.dentry(ns, int(f[2]), ptrKey(f[3]!), ptrKey(f[4]!), len <= this.strlen ? unescapeR(f[6]!, len) : null);
        return;
      }
      case 'F': need(4 + DESC_FIELDS); this.fd(ns, int(f[2]), f[3]!, this.descAt(4)); return;
      case 'U': {
        need(6);
        const len = int(f[4]);
        const p = len <= this.strlen ? unescapeR(f[5]!, len) : null;
        this.unixAddress(ns, int(f[2]), f[3]!, p ?? unescapeR(f[5]!, null) ?? '');
        return;
      }
      case 'I': need(10); this.inet(ns, int(f[2]), f[3]!, int(f[4]), int(f[5]), f[6]!, int(f[7]), f[8]!, int(f[9])); return;
      case 'M': need(6); this.message(ns, int(f[2]), int(f[3]), int(f[4]), f[5] === '1'); return;
      case 'P': need(8); this.fork(ns, int(f[2]), int(f[3]), int(f[4]), int(f[5]), BigInt('0x' + f[6]), int(f[7])); return;
      case 'X': {
        need(9);
        const len = int(f[6]);
        const path = unescapeR(f[8]!, len <= this.strlen ? len : null) ?? unescapeR(f[8]!, null) ?? '';
        this.exec(ns, int(f[2]), int(f[3]), int(f[4]), int(f[5]), unescapeR(f[7]!, null) ?? '', path, len > this.strlen);
        return;
      }
      case 'Q': need(6); this.exit(ns, int(f[2]), int(f[3]), f[4] === '1', int(f[5])); return;
      default: throw new Error(`unknown line kind ${kind}`);
    }
  }

  // ------------------------------------------------------------------ the records, typed: one entry per kind for
  // the text lines and the native engine's records (./native/decode.ts). The line (or record) they come from is the
  // latest counted in stats.lines.

  /** A dentry's name (null: cut short or unreadable) and its parent, as they were at `ns`. */
  dentry(ns: number, _tid: number, dentry: string, parent: string, name: string | null): void {
    const nm = name === null ? null : own(name);
    const known = this.dentries.get(dentry);
    // per-CPU buffers: a freed dentry's old name can arrive after the line of the dentry reusing its memory
    if (known) {
      if (known[2] > ns) return;
      // printed again unchanged (the kernel side forgets now and then): every joined path still holds
      if (known[0] === parent && known[1] === nm) { known[2] = ns; return; }
      // a renamed or reused dentry: every joined path may have gone through it
      this.paths.clear();
      this.pathsGen++;
    }
    this.dentries.set(dentry, [parent, nm, ns, known ? olderNames(known) : null]);
  }

  /** An fd of the event that follows, in full; role r (a result), s (the socket), p (a pidfd) or m (a message's). */
  fd(ns: number, tid: number, role: string, d: Desc): void {
    const g = this.group(tid, ns);
    g.f = appended(g.f, d);
    g.role = appended(g.role, role);
    const m = g.msgs[g.msgs.length - 1];
    if (role === 'm') { if (!m) throw new Error('message fd before its M line'); m.fds = appended(m.fds, d); }
  }

  /** The bound address of the unix socket of `role` described next: sun_path's bytes as a string (an abstract name
   * starts with a NUL; a path may end in its NUL). */
  unixAddress(ns: number, tid: number, role: string, path: string): void {
    const g = this.group(tid, ns);
    const p = path.startsWith('\0') ? '@' + path.slice(1) : cString(path);
    (g.u ??= new Map()).set(role, own(p));
  }

  /** The inet socket of `role` described next: its addresses as inet_ntop writes them, ports in host order. */
  inet(ns: number, tid: number, role: string, type: number, state: number, local: string, lport: number, remote: string, rport: number): void {
    const g = this.group(tid, ns);
    (g.i ??= new Map()).set(role, { type, state, local: own(local), lport, remote: own(remote), rport });
  }

  /** An SCM_RIGHTS cmsg of `nfds` fds in message `msg` whose fds come as F lines of role m (or none: MSG_CTRUNC). */
  message(ns: number, tid: number, msg: number, nfds: number, ctrunc: boolean): void {
    const g = this.group(tid, ns);
    const last = g.msgs[g.msgs.length - 1];
    // a second SCM_RIGHTS cmsg of the same message adds to it
    if (last && last.idx === msg) { last.n += nfds; last.ctrunc ||= ctrunc; return; }
    g.msgs = appended(g.msgs, { idx: msg, n: nfds, ctrunc, fds: NONE });
  }

  /** sched_process_fork in the parent: `flags` its clone flags | CLONE_SEEN (0: a task the kernel made), `which` the
   * call (CLONE_CALLS, from 1). */
  fork(ns: number, tid: number, tgid: number, euid: number, child: number, flags: bigint, which: number): void {
    this.finish({ ns, seq: 0, line: this.stats.lines, tid, tgid, euid, t: 'P', child, flags, sy: which });
  }

  /** sched_process_exec: `comm` and `path` as read (NUL-padded is fine); `cut`: the path was longer than was read. */
  exec(ns: number, tid: number, tgid: number, euid: number, oldTid: number, comm: string, path: string, cut: boolean): void {
    this.finish({ ns, seq: 0, line: this.stats.lines, tid, tgid, euid, t: 'X', old: oldTid, comm: own(cString(comm)), path: own(cString(path)), cut });
  }

  /** sched_process_exit: `groupDead` the last thread of its group; `code` the wait status. */
  exit(ns: number, tid: number, tgid: number, groupDead: boolean, code: number): void {
    if (this.groups.get(tid) === TAKEN) this.groups.delete(tid);
    this.finish({ ns, seq: 0, line: this.stats.lines, tid, tgid, euid: null, t: 'Q', groupDead, code });
  }

  /** A native record stamped `ns` begins (counted as a line): false when it was made after the stop (dropped). */
  admit(ns: number): boolean {
    this.stats.lines++;
    if (ns > this.latestNs) this.latestNs = ns;
    return ns <= this.cutoffNs;
  }

  /** The native engine read everything stamped before `ns` (a drain of its ring that began later and met no record
   * still being written): events that old may leave the window (less windowNs, for sends stamped at their entry). */
  readBefore(ns: number): void {
    if (ns > this.completeNs) this.completeNs = ns;
  }

  /** A record that cannot be read: counted and sampled (the line it is counted as). */
  malformed(reason: string, text: string): void {
    this.bad(this.stats.lines, reason, text);
  }

  private group(tid: number, ns: number): Group {
    let g = this.groups.get(tid);
    if (g === TAKEN) g = undefined;
    if (g && g.ns !== ns) {
      // the last run's E line never came (lost): its lines go
      this.stats.brokenGroups++;
      g = undefined;
    }
    if (!g) {
      g = { ns, f: NONE, u: null, i: null, msgs: NONE, role: NONE };
      this.groups.set(tid, g);
    }
    return g;
  }

  private takeGroup(tid: number, ns: number): Group {
    const got = this.groups.get(tid);
    // a marker, not a delete: a Map that a delete leaves a quarter full is rehashed smaller (an allocation per group,
    // most groups being the only one open); a thread's exit deletes its entry
    const g = got === TAKEN ? undefined : got;
    if (g !== undefined) this.groups.set(tid, TAKEN);
    if (g && g.ns === ns) return g;
    if (g) this.stats.brokenGroups++;
    return EMPTY_GROUP;
  }

  private finish(ev: Ev): void {
    const { ns, tid, tgid } = ev;
    this.stats.events++;
    if (this.tgids.get(tid) !== tgid) this.tgids.set(tid, tgid);
    if (ev.t === 'P' && ev.child > 0 && (ev.flags & BigInt(CLONE_THREAD)) !== 0n) this.tgids.set(ev.child, tgid);
    if (ev.t === 'P' && ev.child > 0 && (ev.flags & BigInt(CLONE_THREAD)) === 0n && ev.flags !== 0n) this.tgids.set(ev.child, ev.child);
    if (ev.t === 'E') this.resolveEarly(ev, tgid);
    ev.seq = this.seq++;
    const p: Pending = ev;
    if (ns < this.releasedNs) this.stats.late++;
    const pending = this.pending;
    const n = pending.length;
    // arrivals come nearly in order (a send is stamped at its entry; other CPUs' records interleave): one that is
    // not moves back a few places (its seq is the highest: after those of its time, as byTime sorts); one that would
    // move further leaves the window to the sort in flush
    let j = n;
    if (this.sorted) {
      const stop = Math.max(this.head, n - MAX_SHIFT);
      while (j > stop && pending[j - 1]!.ns > ns) j--;
      if (j > this.head && pending[j - 1]!.ns > ns) { this.sorted = false; j = n; }
    }
    pending.push(p);
    if (j < n) {
      for (let i = n; i > j; i--) pending[i] = pending[i - 1]!;
      pending[j] = p;
    }
  }

  /** A path the dentry names cannot reach yet is asked of /proc now, while the fd likely still exists. */
  private resolveEarly(ev: Extract<Ev, { t: 'E' }>, pid: number): void {
    if (!this.opts.resolveFd) return;
    this.atNs = Infinity;
    if (ev.desc) this.resolveOne(ev.desc, pid);
    const receive = ev.spec.family === 'recvmsg' || ev.spec.family === 'recvmmsg';
    // an indexed loop: for..of over the shared frozen empty group's array made an iterator per event
    const fs = ev.g.f;
    for (let i = 0; i < fs.length; i++) {
      const d = fs[i]!;
      // a lean fd received (past the first few of a message): /proc names it if its sender is not followed
      if (d.magic === 0) { if (receive && !d.known) d.procPath = this.opts.resolveFd!(pid, d.fd, d.ino); continue; }
      this.resolveOne(d, pid);
    }
  }

  private resolveOne(d: Desc, pid: number): void {
    if (!hasPath(d.magic) || this.joinPath(d, pid) !== null) return;
    d.procPath = this.opts.resolveFd!(pid, d.fd, d.ino);
  }

  // ------------------------------------------------------------------ release: events -> ops

  private release(p: Pending): void {
    this.atNs = p.ns;
    const ts = this.opts.clock ? this.opts.clock(p.ns) : null;
    if (p.euid !== null && this.euids.get(p.tgid) !== p.euid) {
      this.euids.set(p.tgid, p.euid);
      this.emit({ op: 'uid', tid: p.tid, ts, line: p.line, comm: null, syscall: 'geteuid', uid: p.euid, effective: true, set: true });
    }
    const ev = p;
    switch (ev.t) {
      case 'P': {
        const known = (ev.flags & CLONE_SEEN) !== 0n;
        const fl = ev.flags & ~CLONE_SEEN;
        // a task the kernel made (no clone seen) shares its maker's process, as io_uring workers do
        const flags: CloneFlags = known
          ? { thread: (fl & BigInt(CLONE_THREAD)) !== 0n, files: (fl & BigInt(CLONE_FILES)) !== 0n, parent: (fl & BigInt(CLONE_PARENT)) !== 0n }
          : { thread: true, files: true, parent: false };
        this.emit({ op: 'clone', tid: p.tid, ts, line: p.line, comm: null, syscall: CLONE_CALLS[ev.sy - 1] ?? 'clone', child: ev.child, flags });
        return;
      }
      case 'X': {
        if (ev.old !== p.tid) {
          // a thread's execve: it takes over the leader's id
          this.emit({ op: 'superseded', tid: p.tid, ts, line: p.line, comm: null, syscall: 'execve', by: ev.old });
          this.leaderGone.delete(p.tgid);
        }
        this.emit({ op: 'exec', tid: p.tid, ts, line: p.line, syscall: 'execve', comm: ev.comm || null, path: ev.cut ? ev.path + '...' : ev.path });
        return;
      }
      case 'Q': {
        const sig = ev.code & 0x7f;
        const exit = { code: sig ? null : (ev.code >> 8) & 0xff, signal: sig ? (SIGNALS[sig] ?? `SIG${sig}`) : null };
        if (!ev.groupDead && p.tid === p.tgid) {
          // the leader went first: the process lives on in its threads (or a thread's exec takes its id)
          this.leaderGone.set(p.tgid, ev.code);
          return;
        }
        this.emit({ op: 'exit', tid: p.tid, ts, line: p.line, comm: null, syscall: 'exit', ...exit });
        if (ev.groupDead && p.tid !== p.tgid && this.leaderGone.delete(p.tgid)) {
          this.emit({ op: 'exit', tid: p.tgid, ts, line: p.line, comm: null, syscall: 'exit', ...exit });
        }
        // a thread's own exit line forgets it; a leader is forgotten with its group
        if (p.tid !== p.tgid) this.tgids.delete(p.tid);
        else if (ev.groupDead) this.tgids.delete(p.tid);
        return;
      }
      case 'E': {
        const op = this.syscallOp(ev, p.tid, ts, p.line, p.tgid);
        if (op) this.emit(op);
        return;
      }
    }
  }

  private syscallOp(ev: Extract<Ev, { t: 'E' }>, tid: number, ts: Ts, line: number, pid: number): FdOp | null {
    const syscall = ev.syscall;
    const { spec, f, desc: d } = ev;
    const g = ev.g;
    switch (spec.family) {
      case 'open': case 'accept': {
        if (!d) return null;
        const target = this.target(d, pid, spec, g.u?.get('r'), g.i?.get('r'));
        if (spec.family === 'accept') return { op: 'accept', tid, ts, line, comm: null, syscall, fd: d.fd, target, cloexec: d.cloexec, listener: null };
        return { op: 'open', tid, ts, line, comm: null, syscall, fd: d.fd, target, cloexec: d.cloexec, socket: spec.kind === 'socket' };
      }
      case 'pair': {
        const [a, b] = g.f;
        if (!a || !b) throw new Error(`${syscall}: ${g.f.length} of its 2 fds`);
        const ref = (x: Desc): FdRef & { target: FdTarget } => ({ fd: x.fd, target: this.target(x, pid, spec, undefined, undefined), file: x.file });
        return { op: 'pair', tid, ts, line, comm: null, syscall, fds: [ref(a), ref(b)], cloexec: a.cloexec };
      }
      case 'dup': {
        if (!d) return null;
        return { op: 'dup', tid, ts, line, comm: null, syscall, from: { fd: num(f, 1), target: null, file: d.file }, fd: d.fd, cloexec: d.cloexec };
      }
      case 'fcntl': {
        const fd = num(f, 1);
        const cmd = num(f, 2);
        if (cmd === F_SETFD) return { op: 'set-cloexec', tid, ts, line, comm: null, syscall, fd: { fd, target: null }, cloexec: (num(f, 3) & FD_CLOEXEC) !== 0, set: true };
        if (!d) return null;
        return { op: 'dup', tid, ts, line, comm: null, syscall, from: { fd, target: null, file: d.file }, fd: d.fd, cloexec: cmd === F_DUPFD_CLOEXEC || d.cloexec };
      }
      case 'close':
        // an E line of close is always read in place (closed)
        return ev.closed === null ? null : { op: 'close', tid, ts, line, comm: null, syscall, fd: ev.closed };
      case 'close_range': {
        const flags = num(f, 3);
        const last = num(f, 2);
        return {
          op: 'close_range', tid, ts, line, comm: null, syscall, first: num(f, 1), last: last >= 0xffffffff ? Infinity : last,
          cloexec: (flags & CLOSE_RANGE_CLOEXEC) !== 0, unshare: (flags & CLOSE_RANGE_UNSHARE) !== 0,
        };
      }
      case 'sendmsg': case 'recvmsg': case 'sendmmsg': case 'recvmmsg': {
        const receive = spec.family === 'recvmsg' || spec.family === 'recvmmsg';
        const vector = spec.vector === true;
        let socket: FdRef | null = null;
        const known = d !== null && d.known ? this.fileAt(d.file) : undefined;
        if (known !== undefined && known.d.magic === MAGIC.SOCKFS) {
          // a socket named in four fields (most sends and receives): its target is made once per description
          socket = { fd: d!.fd, target: known.sock ??= socketTarget(known.d, known.u ?? null, known.i ?? null), file: d!.file };
        } else if (d !== null && d.known) {
          // named in four fields: as its earlier line described it (without that line, lost: by its inode only)
          const e = this.described(d);
          const sd = e?.d ?? { ...d, magic: MAGIC.SOCKFS };
          socket = { fd: d.fd, target: this.target(sd, pid, spec, e?.u, e?.i), file: d.file };
        } else if (d !== null) {
          const u = g.u?.get('s');
          const i = g.i?.get('s');
          // described in full (an F record at each send and receive): the target made of that description, once
          const e = d.magic === MAGIC.SOCKFS ? this.fileAt(d.file) : undefined;
          const target = e !== undefined && e.u === u && sameInet(e.i, i) && (e.d === d || sameDesc(e.d, d))
            ? e.sock ??= socketTarget(e.d, u ?? null, i ?? null)
            : this.target(d, pid, spec, u, i);
          socket = { fd: d.fd, target, file: d.file };
        }
        // a message of one fd on the E line (then no line of its own came); arrays made with their elements (one
        // message of one fd, mostly)
        const one: ScmMessage | null = ev.one ? { fds: [{ fd: ev.one.fd, target: this.targetOrNull(ev.one, pid), file: ev.one.file }], hidden: false, ctrunc: ev.oneCtrunc === true } : null;
        let messages: Array<ScmMessage | 'opaque'>;
        if (g.msgs.length === 0) messages = one !== null ? [one] : [];
        else if (one === null && g.msgs.length === 1) messages = [this.scmMessage(g.msgs[0]!, pid)];
        else {
          messages = one !== null ? [one] : [];
          for (let i = 0; i < g.msgs.length; i++) messages.push(this.scmMessage(g.msgs[i]!, pid));
        }
        const ret = num(f, 0);
        if (vector && ret > this.mmsgMax) for (let i = this.mmsgMax; i < ret; i++) messages.push('opaque');
        if (receive) return { op: 'receive', tid, ts, line, comm: null, syscall, socket, messages, cloexec: (num(f, 1) & MSG_CMSG_CLOEXEC) !== 0, peek: (num(f, 1) & MSG_PEEK) !== 0 };
        return { op: 'send', tid, ts, line, comm: null, syscall, socket, messages, entry: false };
      }
      case 'pidfd_getfd': {
        if (!d) return null;
        const pfd = g.f.find((_x, i) => g.role[i] === 'p');
        const pidfdTarget: FdTarget = pfd && pfd.aux > 0 ? { ...plainTarget(`pid:${pfd.aux}`, 'anon'), pid: pfd.aux } : plainTarget('anon_inode:[pidfd]', 'anon');
        return {
          op: 'take', tid, ts, line, comm: null, syscall, pidfd: { fd: num(f, 1), target: pidfdTarget, file: pfd?.file ?? undefined }, targetFd: num(f, 2), fd: d.fd,
          target: this.target(d, pid, spec, g.u?.get('r'), g.i?.get('r')),
        };
      }
      case 'mmap': {
        const flags = num(f, 5);
        const shared = (flags & MAP_SHARED_VALIDATE) === MAP_SHARED || (flags & MAP_SHARED_VALIDATE) === MAP_SHARED_VALIDATE;
        if (!shared && this.opts.privateMapsMatter && !this.opts.privateMapsMatter(tid, ts)) return null;
        const prot = num(f, 4);
        const perms = ((prot & PROT_READ) ? 'r' : '-') + ((prot & PROT_WRITE) ? 'w' : '-') + ((prot & PROT_EXEC) ? 'x' : '-') + (shared ? 's' : 'p');
        const length = (big(f, 3) + PAGE_SIZE - 1n) & ~(PAGE_SIZE - 1n);
        return {
          op: 'map', tid, ts, line, comm: null, syscall, fd: { fd: num(f, 1), target: null, file: key(f, 2) }, start: big(f, 0), length, perms, shared,
          offset: big(f, 6), ...(num(f, 7) > 0 ? { inode: num(f, 7) } : {}),
        };
      }
      default: return null;
    }
  }

  /** A message's fds as the op carries them. */
  private scmMessage(m: Message, pid: number): ScmMessage {
    const x = m.fds;
    let fds: ScmMessage['fds'];
    if (x.length === 1) fds = [{ fd: x[0]!.fd, target: this.targetOrNull(x[0]!, pid), file: x[0]!.file }];
    else {
      fds = [];
      for (let i = 0; i < x.length; i++) { const d = x[i]!; fds.push({ fd: d.fd, target: this.targetOrNull(d, pid), file: d.file }); }
    }
    // the message held more fds than the program reads of one (or a line was lost)
    return { fds, hidden: x.length < m.n, ctrunc: m.ctrunc };
  }

  // ------------------------------------------------------------------ targets in strace -yy words

  /** What a message fd refers to, or null when the kernel told too little to say (the sender's entry knows). */
  private targetOrNull(d: Desc, pid: number): FdTarget | null {
    // a lean description (a sent fd, or one received past the first few): the sender's table or the pairing names
    // it, else what /proc said when the receive arrived
    if (d.magic === 0 && d.known) {
      const e = this.described(d);
      return e === null ? null : this.targetOrNull(e.d, pid);
    }
    if (d.magic === 0) return d.procPath === null ? null : procTarget(d.procPath);
    if (hasPath(d.magic) && this.joinPath(d, pid) === null && d.procPath === null && !this.dentries.has(d.dentry)) return null;
    return this.target(d, pid, undefined, undefined, undefined);
  }

  private target(d: Desc, pid: number, spec: SyscallSpec | undefined, unixPath: string | undefined, inet: Inet | undefined): FdTarget {
    switch (d.magic) {
      case MAGIC.SOCKFS: return socketTarget(d, unixPath ?? null, inet ?? null);
      case MAGIC.PIPEFS: return plainTarget(`pipe:[${d.ino}]`, 'pipe');
      // strace -yy's words for a pidfd: pid:N
      case MAGIC.PIDFS: return d.aux > 0 ? { ...plainTarget(`pid:${d.aux}`, 'anon'), pid: d.aux } : plainTarget('anon_inode:[pidfd]', 'anon');
      case MAGIC.ANON_INODE_FS: {
        const name = this.nameAt(d.dentry)?.[1];
        if (name) return plainTarget(name.startsWith('[') || name === 'inotify' ? `anon_inode:${name}` : `anon_inode:[${name}]`, 'anon');
        return plainTarget(spec?.target && !spec.target.includes('%s') ? spec.target : 'anon_inode:?', 'anon');
      }
      case 0:
        // a lean description (fd and file only): the syscall table names it
        if (spec?.target) return plainTarget(spec.target, spec.kind ?? 'anon');
        break;
      default: break;
    }
    const kind = kindOf(d.mode);
    const joined = this.joinPath(d, pid);
    if (joined !== null) {
      // memfd files live on an internal mount, named memfd:NAME, always unlinked: named as strace -yy does
      if (joined.startsWith('memfd:') && (d.magic === MAGIC.TMPFS || d.magic === MAGIC.HUGETLBFS)) return plainTarget(`/${joined} (deleted)`, 'memfd');
      // the target made of a kept path is kept with it (targets are never written to: the correlator copies them)
      const deleted = d.nlink === 0;
      const e = this.lastPath;
      if (e !== null && e.t !== null && e.t.kind === kind && e.deleted === deleted) return e.t;
      const t = plainTarget(deleted ? `${joined} (deleted)` : joined, kind);
      if (e !== null) { e.t = t; e.deleted = deleted; }
      return t;
    }
    if (d.procPath !== null) {
      this.stats.pathsFromProc++;
      if (d.procPath.startsWith('/memfd:')) return procTarget(d.procPath);
      return plainTarget(d.procPath, kind);
    }
    this.stats.partialPaths++;
    const tail = this.tail(d);
    return plainTarget(tail, kind);
  }

  /**
   * The path from the dentry names: up to the mount's root, under the mount's mount point. Null when a name is
   * missing (lost or cut), the walk stopped short, or the mount is not known.
   */
  private joinPath(d: Desc, pid: number): string | null {
    // keyed by the dentry alone (no string to build per lookup): a bind mount of it replaces the entry
    // the entry this description was joined into before (at its arrival), still the map's: no lookup
    const pe = d.pe;
    if (pe !== null && pe.gen === this.pathsGen && pe.live) { this.lastPath = pe; return pe.path; }
    const hit = this.paths.get(d.dentry);
    if (hit !== undefined && hit.mntRoot === d.mntRoot && hit.mntId === d.mntId) { this.lastPath = hit; d.pe = hit; return hit.path; }
    this.lastPath = null;
    this.usedOlder = false;
    const p = this.walkPath(d, pid);
    // a missing name may still arrive (another CPU's D line): only answers are kept, and only the path as it is now
    if (p !== null && !this.usedOlder) {
      if (this.paths.size > 100_000) { this.paths.clear(); this.pathsGen++; }
      // another mount's entry for this dentry is replaced: a description that kept it looks it up again
      if (hit !== undefined) hit.live = false;
      const e: PathEntry = { mntRoot: d.mntRoot, mntId: d.mntId, path: p, t: null, deleted: false, gen: this.pathsGen, live: true };
      this.paths.set(d.dentry, e);
      this.lastPath = e;
      d.pe = e;
    }
    return p;
  }

  private walkPath(d: Desc, pid: number): string | null {
    const parts: string[] = [];
    let cur = d.dentry;
    for (let i = 0; i < 256; i++) {
      if (cur === d.mntRoot) break;
      const e = this.nameAt(cur);
      if (!e) return null;
      const [parent, name] = e;
      if (name === null) return null;
      // a filesystem's root is its own parent ("/"); so is a pseudo file's lone dentry (memfd:x, [eventfd])
      if (parent === cur) { if (name !== '/') parts.push(name); break; }
      parts.push(name);
      cur = parent;
    }
    parts.reverse();
    const rel = parts.join('/');
    // memfd and other internal mounts have no mount point: their name is the answer
    if (d.mntId === 0 || (d.magic === MAGIC.TMPFS && rel.startsWith('memfd:') && parts.length === 1)) return rel;
    const mp = this.opts.mountPoint ? this.opts.mountPoint(d.mntId, pid) : null;
    if (mp === null) return null;
    if (rel === '') return mp;
    return mp === '/' ? '/' + rel : `${mp}/${rel}`;
  }

  /** A dentry's name as it was when the event being handled happened (the oldest known, if all came later). */
  private nameAt(dentry: string): DentryName | undefined {
    let e = this.dentries.get(dentry);
    while (e !== undefined && e[2] > this.atNs && e[3] !== null) { e = e[3]; this.usedOlder = true; }
    return e;
  }

  /** As much of the path as the names tell, marked as a tail: `.../dir/name`. */
  private tail(d: Desc): string {
    const parts: string[] = [];
    let cur = d.dentry;
    for (let i = 0; i < 256; i++) {
      const e = this.nameAt(cur);
      if (!e || e[1] === null || cur === d.mntRoot || e[1] === '/') break;
      parts.push(e[1]);
      if (e[0] === cur) break;
      cur = e[0];
    }
    return parts.length > 0 ? '.../' + parts.reverse().join('/') : `.../inode ${d.ino}`;
  }
}

/** Two descriptions of one file say the same (its fd and CLOEXEC aside: they are the fd's, not the file's). */
function sameDesc(a: Desc, b: Desc): boolean {
  return a.ino === b.ino && a.magic === b.magic && a.mode === b.mode && a.nlink === b.nlink && a.mntId === b.mntId && a.mntRoot === b.mntRoot &&
    a.dentry === b.dentry && a.aux === b.aux && a.family === b.family && a.sockType === b.sockType && a.peer === b.peer &&
    a.procPath === b.procPath && a.known === b.known && a.file === b.file;
}

function sameInet(a: Inet | undefined, b: Inet | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.type === b.type && a.state === b.state && a.local === b.local &&
    a.lport === b.lport && a.remote === b.remote && a.rport === b.rport);
}

/** A path joined from the dentry names (under mount root `mntRoot` of mount `mntId`), and the target last made of it. */
interface PathEntry {
  mntRoot: string;
  mntId: number;
  path: string;
  t: FdTarget | null;
  /** `t` says (deleted) */
  deleted: boolean;
  /** the map's generation it was made in, and false once another mount's entry replaced it */
  gen: number;
  live: boolean;
}

/** A dentry's name: [parent, name, kernel time, its name before (a freed dentry's memory reused)]. */
type DentryName = [parent: string, name: string | null, ns: number, older: DentryName | null];

/** The names a dentry had, the newest NAME_VERSIONS of them: an event waits in the window a few hundred ms at most. */
const NAME_VERSIONS = 4;
function olderNames(e: DentryName): DentryName {
  let n = 1;
  for (let x: DentryName = e; x[3] !== null; x = x[3]) if (++n >= NAME_VERSIONS) { x[3] = null; break; }
  return e;
}

function hasPath(magic: number): boolean {
  return magic !== MAGIC.SOCKFS && magic !== MAGIC.PIPEFS && magic !== MAGIC.PIDFS && magic !== MAGIC.ANON_INODE_FS && magic !== 0;
}

function kindOf(mode: number): FdTarget['kind'] {
  const t = mode & S_IFMT;
  if (t === S_IFDIR) return 'dir';
  if (t === S_IFCHR || t === S_IFBLK) return 'device';
  return 'file';
}

/** `UNIX-STREAM:[ino->peer,"path"]`, `TCP:[a:p->b:q]`, `socket:[ino]`, as strace -yy writes them. */
function socketTarget(d: Desc, unixPath: string | null, inet: Inet | null): FdTarget {
  // a literal, not a spread of plainTarget: one per socket event before the cache above
  const t: FdTarget = { target: '', kind: 'socket', inode: d.ino, peer: null, path: null, pid: null };
  if (d.family === 1) {
    let inner = String(d.ino);
    if (d.peer !== 0) { inner += `->${d.peer}`; t.peer = d.peer; }
    if (unixPath) {
      t.path = unixPath;
      inner += unixPath.startsWith('@') ? `,@${JSON.stringify(unixPath.slice(1))}` : `,${JSON.stringify(unixPath)}`;
    }
    // strace -yy names a datagram unix socket plain UNIX
    t.target = `${d.sockType === 2 ? 'UNIX' : `UNIX-${SOCK_TYPES[d.sockType] ?? 'UNKNOWN'}`}:[${inner}]`;
    return t;
  }
  if (d.family === 2 || d.family === 10) {
    const proto = (d.sockType === 2 ? 'UDP' : 'TCP') + (d.family === 10 ? 'v6' : '');
    if (!inet || inet.lport === 0) { t.target = `${proto}:[${d.ino}]`; return t; }
    const addr = (a: string, port: number): string => (d.family === 10 ? `[${a}]:${port}` : `${a}:${port}`);
    const connected = inet.rport !== 0 && inet.state !== TCP_LISTEN;
    t.target = `${proto}:[${addr(inet.local, inet.lport)}${connected ? `->${addr(inet.remote, inet.rport)}` : ''}]`;
    return t;
  }
  t.target = d.family === 16 ? `NETLINK:[${d.ino}]` : `socket:[${d.ino}]`;
  return t;
}

/** The call an E line or record is about: its syscall, table entry, and its fields' kinds (E_FIELDS); `desc`: a DESC
 * follows them. */
export interface Call {
  syscall: string;
  spec: SyscallSpec;
  kinds: string;
  desc: boolean;
}

/** An E line's probe name -> its call (a few dozen names: kept once each). */
const PROBES = new Map<string, Call | null>();
function probeOf(probe: string): Call | null {
  let p = PROBES.get(probe);
  if (p === undefined) {
    const syscall = syscallOf(probe);
    const spec = SYSCALLS.get(syscall);
    const layout = spec ? E_FIELDS[spec.family] : undefined;
    p = spec && layout ? { syscall, spec, kinds: layout[0], desc: layout[1] } : null;
    if (PROBES.size < 1024) PROBES.set(probe, p);
  }
  return p;
}

/** x86-64 syscall numbers -> their calls (an E line with saved registers, and a native E record, name the call by
 * number). */
const NR_PROBES: Array<Call | null> = [];
for (const [name, nr] of Object.entries(X64_SYSCALL_NR)) NR_PROBES[nr] = probeOf(name);
/** The call of x86-64 syscall `nr` (null: not one fdwatch traces in the kernel). */
export function callOfNr(nr: number): Call | null {
  return NR_PROBES[nr] ?? null;
}

function syscallOf(probe: string): string {
  const i = probe.lastIndexOf(':');
  const name = i >= 0 ? probe.slice(i + 1) : probe;
  if (name.startsWith('sys_exit_')) return name.slice(9);
  if (name.startsWith('sys_enter_')) return name.slice(10);
  return name;
}

function int(s: string | undefined): number {
  if (s === undefined) throw new Error('not a number: (missing)');
  // decimal digits with an optional minus: the hot path, without Number()'s generality
  let n = 0;
  let i = s.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  if (i === s.length) throw new Error(`not a number: ${s}`);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) throw new Error(`not a number: ${s}`);
    n = n * 10 + c;
  }
  return s.charCodeAt(0) === 45 ? -n : n;
}

/** An E event's field `i` as the kind E_FIELDS gives it (a mismatch is a malformed event). */
function num(f: readonly EField[], i: number): number {
  const v = f[i];
  if (typeof v !== 'number') throw new Error(`field ${i} is not a number`);
  return v;
}

function big(f: readonly EField[], i: number): bigint {
  const v = f[i];
  if (typeof v !== 'bigint') throw new Error(`field ${i} is not a 64-bit number`);
  return v;
}

function key(f: readonly EField[], i: number): string {
  const v = f[i];
  if (typeof v !== 'string') throw new Error(`field ${i} is not a pointer`);
  return v;
}

/** A /proc/PID/fd link's text as a target, as the snapshot names it (a socket only as `socket:[ino]`: nothing
 * more was read; a memfd always unlinked). */
function procTarget(text: string): FdTarget {
  const link = parseFdLink(text);
  return plainTarget(formatFdLink(link), linkKind(link));
}

/** A message fd known by its file alone (magic 0: nothing to name it by; known: an earlier line described the file). */
export function leanDesc(fd: number, file: string, ino: number, cloexec: boolean, known: boolean): Desc {
  return { fd, file, ino, magic: 0, mode: 0, nlink: 0, mntId: 0, mntRoot: '0', dentry: '0', cloexec, aux: 0, family: 0, sockType: 0, peer: 0, procPath: null, known, pe: null };
}

/**
 * Kernel pointers (files, dentries, mounts' roots) are known by their last 12 hex digits: the kernel's objects differ
 * there (the low 48 bits: its direct map), and a string of under 13 characters is V8's own copy, not a slice that
 * keeps bpftrace's whole read chunk alive while the event waits in the window.
 */
const PTR_DIGITS = 12;
function ptrKey(s: string): string {
  return s.length > PTR_DIGITS ? s.slice(s.length - PTR_DIGITS) : s;
}

/** ptrKey of a pointer as its two 32-bit halves (a native record's u64): the same key as its hex text's. */
export function ptrKeyOf(lo: number, hi: number): string {
  if (hi === 0) return lo.toString(16);
  const h = hi & 0xffff;
  // wider than PTR_DIGITS digits (a kernel address): the text's last ones, leading zeros kept, a byte at a time
  // (a double's toString(16) is several times slower)
  if (hi >>> 16 !== 0) return HEX2[h >>> 8]! + HEX2[h & 0xff]! + HEX2[lo >>> 24]! + HEX2[(lo >>> 16) & 0xff]! + HEX2[(lo >>> 8) & 0xff]! + HEX2[lo & 0xff]!;
  return (h * 4294967296 + lo).toString(16);
}

/** Bytes as two hex digits. */
const HEX2: string[] = Array.from({ length: 256 }, (_x, i) => i.toString(16).padStart(2, '0'));

/** A short sendmsg/recvmsg E line: its socket (fd, file, inode, CLOEXEC), then its message's one fd (ctrunc, fd, file). */
const SOCK_FIELDS = 4;
const INLINE_FIELDS = 3;
/** A message fd's G line: the DESC without its socket's three fields. */
const MSG_DESC_FIELDS = 11;
/** Described files remembered: the kernel's cache forgets every few seconds (and describes them again). */
const FILE_VERSIONS = 4;
const FILE_KEEP_NS = 20e9;
const MAX_FILES = 1 << 18;

/** Fields a line has at most (an fcntl's E line: 25 with its tag). */
const MAX_FIELDS = 32;

/** A decimal number in `s[a, b)`, with an optional minus; NaN when it is not one. */
function decimal(s: string, a: number, b: number): number {
  let i = a;
  const neg = s.charCodeAt(i) === 45 /* - */;
  if (neg) i++;
  if (i >= b) return NaN;
  let n = 0;
  for (; i < b; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    n = n * 10 + c;
  }
  return neg ? -n : n;
}

/** `decimal`, throwing on anything else (a malformed line). */
function decInt(s: string, a: number, b: number): number {
  const n = decimal(s, a, b);
  if (Number.isNaN(n)) throw new Error(`not a number: ${s.slice(a, b)}`);
  return n;
}

/** An octal or hex number in `s[a, b)` (NaN when it is not one: parseInt's leniency, without its string). */
function radix(s: string, a: number, b: number, base: number): number {
  if (a >= b) return NaN;
  let n = 0;
  for (let i = a; i < b; i++) {
    let c = s.charCodeAt(i);
    c = c >= 97 ? c - 87 : c >= 65 ? c - 55 : c - 48;
    if (c < 0 || c >= base) return i === a ? NaN : n;
    n = n * base + c;
  }
  return n;
}
