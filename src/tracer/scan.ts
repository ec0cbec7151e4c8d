// One strace output line -> ScannedLine. Hand-written over charCodeAt; never throws.
// Prefixes handled, in any order: `PID `, `[pid N]`, `PID<comm>`, -t/-tt/-ttt/-r stamps, -n `[ 231]`, -i `[00007f..]`.
import type { SyscallReturn } from '../model/events.js';
import { Ch, isDigit, isHex, isIdent, readEnd, readFraction, readHex, readUint, readUintBytes } from '../model/chars.js';

/** What strace printed before a line's body: every kind of line has it. */
export interface Prefix {
  tid: number | null;
  /** seconds: epoch for -ttt, seconds since midnight for -t/-tt (see tod), null otherwise */
  ts: number | null;
  /** ts is a time of day (-t/-tt) that needs a date */
  tod: boolean;
  /** -Y: `PID<comm>` or `[pid N<comm>]` */
  comm: string | null;
}

/** One strace output line, by kind: each kind carries what its line says and nothing else. */
export type ScannedLine = Prefix & (
  /** `name(args) = ret` */
  | { kind: 'call'; name: string; args: string; ret: SyscallReturn }
  /**
   * `name(args <unfinished ...>`: the arguments printed so far. Also an entry half cut by `<detached ...>`
   * (strace detached mid-call) or `<pid changed to N ...>` (a non-leader execve: the call resumes as N).
   */
  | { kind: 'unfinished'; name: string; args: string; detached: boolean; pidChangedTo: number | null }
  /** `<... name resumed>args) = ret`: args is the text after `resumed>` up to the call's closing paren */
  | { kind: 'resumed'; name: string; args: string; ret: SyscallReturn }
  /** `--- SIGCHLD {si_signo=...} ---` */
  | { kind: 'signal'; signal: string; info: string }
  /** `+++ exited with N +++` (code), `+++ killed by SIG [(core dumped)] +++` (signal, core) */
  | { kind: 'exit'; code: number | null; signal: string | null; core: boolean }
  /** `+++ superseded by execve in pid N +++`: N's execve took this thread group's leader's id */
  | { kind: 'superseded'; by: number }
  /** `strace: Process N attached` / `detached` */
  | { kind: 'attached' | 'detached'; pid: number }
  /** any other `strace:` diagnostic */
  | { kind: 'message'; text: string }
  /** -k ` > /lib/...` stack lines; empty lines */
  | { kind: 'stack' | 'blank' }
  /** a call (or resumed half) of a name the caller does not care about: its arguments were not read */
  | { kind: 'skip' | 'skip-resumed'; name: string }
  | { kind: 'error'; reason: string }
);

type LineKind = ScannedLine['kind'];

/**
 * The object behind a ScannedLine: one shape for every kind, so V8 keeps the joiner's reads of it monomorphic,
 * and reusable, so the hot path allocates no line (an object literal per kind made the joiner 4-7% slower,
 * object spread six times). `reset` alone clears it; the writers below set what one kind carries and return
 * the typed view of it.
 */
export class LineRecord implements Prefix {
  tid!: number | null;
  ts!: number | null;
  tod!: boolean;
  comm!: string | null;
  kind!: LineKind;
  name!: string;
  args!: string;
  ret!: SyscallReturn | null;
  detached!: boolean;
  pidChangedTo!: number | null;
  signal!: string | null;
  info!: string;
  code!: number | null;
  core!: boolean;
  by!: number;
  pid!: number;
  text!: string;
  reason!: string;

  constructor() { this.reset(); }

  reset(): this {
    this.tid = null; this.ts = null; this.tod = false; this.comm = null; this.kind = 'error';
    this.name = ''; this.args = ''; this.ret = null; this.detached = false; this.pidChangedTo = null;
    this.signal = null; this.info = ''; this.code = null; this.core = false; this.by = 0; this.pid = 0;
    this.text = ''; this.reason = '';
    return this;
  }
}

// ---- one writer per kind, on a reset record: what it sets is what ScannedLine says that kind carries ----

const view = (l: LineRecord): ScannedLine => l as unknown as ScannedLine;

function call(l: LineRecord, kind: 'call' | 'resumed', name: string, args: string, ret: SyscallReturn): ScannedLine {
  l.kind = kind; l.name = name; l.args = args; l.ret = ret;
  return view(l);
}

function unfinished(l: LineRecord, name: string, args: string, detached: boolean, pidChangedTo: number | null): ScannedLine {
  l.kind = 'unfinished'; l.name = name; l.args = args; l.detached = detached; l.pidChangedTo = pidChangedTo;
  return view(l);
}

function signal(l: LineRecord, sig: string, info: string): ScannedLine {
  l.kind = 'signal'; l.signal = sig; l.info = info;
  return view(l);
}

function exit(l: LineRecord, code: number | null, sig: string | null, core: boolean): ScannedLine {
  l.kind = 'exit'; l.code = code; l.signal = sig; l.core = core;
  return view(l);
}

function superseded(l: LineRecord, by: number): ScannedLine {
  l.kind = 'superseded'; l.by = by;
  return view(l);
}

function attach(l: LineRecord, kind: 'attached' | 'detached', pid: number): ScannedLine {
  l.kind = kind; l.pid = pid;
  return view(l);
}

function message(l: LineRecord, text: string): ScannedLine {
  l.kind = 'message'; l.text = text;
  return view(l);
}

function skip(l: LineRecord, kind: 'skip' | 'skip-resumed', name: string): ScannedLine {
  l.kind = kind; l.name = name;
  return view(l);
}

function bare(l: LineRecord, kind: 'stack' | 'blank'): ScannedLine {
  l.kind = kind;
  return view(l);
}

function error(l: LineRecord, reason: string): ScannedLine {
  l.kind = 'error'; l.reason = reason;
  return view(l);
}

/** Reads the prefixes of the line s[pos0, end); returns the position of the body. */
function scanPrefix(s: string, out: Prefix, pos0 = 0, end = s.length): number {
  let pos = pos0;
  // fast path for the common `PID  [clock ]name(` of strace -f -o
  if (isDigit(s.charCodeAt(pos))) {
    const n = readUint(s, pos, end);
    let p = readEnd;
    if (p < end && s.charCodeAt(p) === Ch.Space) {
      out.tid = n;
      while (s.charCodeAt(++p) === Ch.Space) { /* padding */ }
      pos = p;
      const c1 = s.charCodeAt(pos);
      if (!isDigit(c1) && c1 !== Ch.LBracket) return pos;
    }
  }
  for (;;) {
    if (pos >= end) return pos;
    const c = s.charCodeAt(pos);
    if (c === Ch.Space) {
      // -r pads its stamp; -k stack lines start with " > "
      if (pos + 1 < end && s.charCodeAt(pos + 1) === Ch.Gt && s.charCodeAt(pos + 2) === Ch.Space) return pos;
      pos++;
      continue;
    }
    if (c === Ch.LBracket) {
      if (s.startsWith('[pid ', pos)) {
        let p = pos + 5;
        while (p < end && s.charCodeAt(p) === Ch.Space) p++;
        const n = readUint(s, p, end);
        if (readEnd === p) return pos;
        p = readEnd;
        if (s.charCodeAt(p) === Ch.Lt) {
          const close = s.indexOf('>]', p);
          if (close < 0 || close >= end) return pos;
          out.comm = s.slice(p + 1, close);
          p = close + 1;
        }
        if (s.charCodeAt(p) !== Ch.RBracket) return pos;
        out.tid = n;
        pos = p + 1;
        continue;
      }
      // -n `[ 231]` or -i `[00007f...]` / `[????????????????]`
      let p = pos + 1;
      while (p < end) {
        const d = s.charCodeAt(p);
        if (d === Ch.Space || d === Ch.Question || isHex(d)) p++;
        else break;
      }
      if (p > pos + 1 && p < end && s.charCodeAt(p) === Ch.RBracket) { pos = p + 1; continue; }
      return pos;
    }
    if (isDigit(c)) {
      const n = readUint(s, pos, end);
      const p = readEnd;
      const d = p < end ? s.charCodeAt(p) : -1;
      if (d === Ch.Colon) {
        // -t / -tt: HH:MM:SS[.frac]
        const m = parseClock(s, pos, out, end);
        if (m < 0) return pos;
        pos = m;
        continue;
      }
      if (d === Ch.Dot) {
        // -ttt (epoch) or -r (relative): digits.digits
        const frac = readFraction(s, p + 1, end);
        const q = readEnd;
        if (q === p + 1 || (q < end && s.charCodeAt(q) !== Ch.Space)) return pos;
        if (n >= 100000000) { out.ts = n + frac; out.tod = false; }
        pos = q;
        continue;
      }
      if (d === Ch.Lt && out.tid === null) {
        // -Y with -o: PID<comm>
        const close = s.indexOf('> ', p);
        if (close < 0 || close >= end) return pos;
        out.tid = n;
        out.comm = s.slice(p + 1, close);
        pos = close + 1;
        continue;
      }
      if (d === Ch.Space && out.tid === null && out.ts === null) {
        out.tid = n;
        pos = p;
        continue;
      }
      return pos;
    }
    return pos;
  }
}

/** HH:MM:SS[.ffffff[fff]] followed by a space; sets ts as seconds since midnight. */
function parseClock(s: string, pos: number, out: Prefix, end: number): number {
  if (pos + 8 > end) return -1;
  const h = (s.charCodeAt(pos) - Ch.D0) * 10 + (s.charCodeAt(pos + 1) - Ch.D0);
  const m = (s.charCodeAt(pos + 3) - Ch.D0) * 10 + (s.charCodeAt(pos + 4) - Ch.D0);
  const sec = (s.charCodeAt(pos + 6) - Ch.D0) * 10 + (s.charCodeAt(pos + 7) - Ch.D0);
  if (s.charCodeAt(pos + 2) !== Ch.Colon || s.charCodeAt(pos + 5) !== Ch.Colon) return -1;
  if (!(h >= 0 && h < 24 && m >= 0 && m < 60 && sec >= 0 && sec < 61)) return -1;
  let p = pos + 8;
  let frac = 0;
  if (p < end && s.charCodeAt(p) === Ch.Dot) {
    frac = readFraction(s, p + 1, end);
    p = readEnd;
  }
  if (p < end && s.charCodeAt(p) !== Ch.Space) return -1;
  out.ts = h * 3600 + m * 60 + sec + frac;
  out.tod = true;
  return p;
}

/** At an opening quote: the index just after its closing quote (backslash escapes skipped), or `end`. */
export function skipString(s: string, p: number, end: number): number {
  p++;
  // indexOf finds each quote natively (iov and path strings are long); an odd run of backslashes before it escapes it
  for (;;) {
    const q = s.indexOf('"', p);
    if (q < 0 || q >= end) return end;
    let b = q - 1;
    while (b >= p && s.charCodeAt(b) === Ch.Backslash) b--;
    if (((q - 1 - b) & 1) === 0) return q + 1;
    p = q + 1;
  }
}

/**
 * Arguments nested deeper than this make the line a parse error. strace output nests about 6 deep (a
 * recvmmsg vector of msghdrs with cmsgs); the argument parser recurses per level and must stay off the stack limit.
 */
export const MAX_NESTING = 64;
/** findCallClose / findResumedClose: the arguments nest deeper than MAX_NESTING */
export const TOO_DEEP = -2;
const TOO_DEEP_REASON = `arguments nested deeper than ${MAX_NESTING} levels`;

/**
 * Scans from `pos` (just inside the call's opening paren, at depth 1) to the paren that closes it.
 * Skips strings (with escapes) and fd decorations `3<...<...>>`. Returns the index of the closing paren,
 * -1, or TOO_DEEP.
 */
export function findCallClose(s: string, pos: number, depth0 = 1): number {
  const end = s.length;
  let depth = depth0;
  let p = pos;
  while (p < end) {
    const c = s.charCodeAt(p);
    switch (c) {
      case Ch.Quote:
        p = skipString(s, p, end);
        continue;
      case Ch.Lt: {
        // a decoration follows an fd: 3</path>, 5</dev/null<char 1:3>>, AT_FDCWD</cwd>
        if (p > 0 && opensDecoration(s, p)) {
          const q = skipDecoration(s, p);
          if (q < 0) return -1;
          p = q;
          continue;
        }
        p++;
        continue;
      }
      case Ch.LParen: case Ch.LBracket: case Ch.LBrace:
        // depth counts the call's own paren
        if (++depth > MAX_NESTING + 1) return TOO_DEEP;
        p++;
        continue;
      case Ch.RParen: case Ch.RBracket: case Ch.RBrace:
        depth--;
        if (depth === 0) return c === Ch.RParen ? p : -1;
        p++;
        continue;
      case Ch.Slash:
        // -X verbose comments: /* SOL_SOCKET */
        if (s.charCodeAt(p + 1) === Ch.Star) {
          const q = s.indexOf('*/', p + 2);
          if (q < 0) return -1;
          p = q + 2;
          continue;
        }
        p++;
        continue;
      default:
        p++;
    }
  }
  return -1;
}

/** The '<' at `p` opens an fd decoration: after an fd number (`3</path>`) or after AT_FDCWD (-y: `AT_FDCWD</cwd>`). */
export function opensDecoration(s: string, p: number): boolean {
  const b = s.charCodeAt(p - 1);
  if (s.charCodeAt(p + 1) === Ch.Lt) return false; // a shift, as strace prints huge page sizes: 21<<MAP_HUGE_SHIFT
  return isDigit(b) || (b === Ch.D && p >= 8 && s.startsWith('AT_FDCWD', p - 8));
}

/** At `<` of a decoration: returns the index after its matching `>` (nested decorations allowed), or -1. */
export function skipDecoration(s: string, p: number): number {
  const end = s.length;
  let depth = 0;
  let bracket = 0; // UNIX-STREAM:[1->2]: the arrow's '>' is not a closer
  // a path (`3</tmp/a[b>`) may hold brackets and quotes as they are; strace escapes only its < and >
  if (s.charCodeAt(p + 1) === Ch.Slash) {
    // a path: only its < and > count, found natively (`lt` is kept while it lies ahead)
    let lt = p;
    for (;;) {
      const gt = s.indexOf('>', p);
      if (gt < 0) return -1;
      if (lt >= 0 && lt < p) lt = s.indexOf('<', p);
      if (lt >= 0 && lt < gt) { depth++; p = lt + 1; lt = p - 1; continue; }
      if (--depth === 0) return gt + 1;
      p = gt + 1;
    }
  }
  while (p < end) {
    const c = s.charCodeAt(p);
    if (c === Ch.LBracket) bracket++;
    else if (c === Ch.RBracket) { if (bracket > 0) bracket--; }
    else if (bracket > 0) {
      if (c === Ch.Quote) {
        // UNIX:[1,"path"] — quoted paths inside decorations may hold < > ]
        p = skipString(s, p, end);
        continue;
      }
    } else if (c === Ch.Lt) depth++;
    else if (c === Ch.Gt) { depth--; if (depth === 0) return p + 1; }
    p++;
  }
  return -1;
}

const UNFINISHED = ' <unfinished ...>';
const DETACHED = ' <detached ...>';

/**
 * Parses what follows the closing paren: `   = 3</x> <0.000018>`, `= -1 ENOENT (No such file)`, `= ?`.
 * Returns null when no `=` follows.
 */
export function scanReturn(s: string, pos: number): SyscallReturn | null {
  const end = s.length;
  let p = pos;
  while (p < end && s.charCodeAt(p) === Ch.Space) p++;
  if (p >= end || s.charCodeAt(p) !== Ch.Eq) return null;
  p++;
  while (p < end && s.charCodeAt(p) === Ch.Space) p++;
  const start = p;
  let value: number | null = null;
  let decor: string | null = null;
  let errno: string | null = null;
  // reads stay in bounds: a charCodeAt past the end deoptimizes the compiled code, and `= 0` often ends the line
  const c = p < end ? s.charCodeAt(p) : -1;
  if (c === Ch.Question) {
    p++;
  } else if (c === Ch.Minus || isDigit(c)) {
    let neg = false;
    if (c === Ch.Minus) { neg = true; p++; }
    if (p + 1 < end && s.charCodeAt(p) === Ch.D0 && (s.charCodeAt(p + 1) === Ch.x || s.charCodeAt(p + 1) === Ch.X)) {
      // addresses (mmap) fit a double exactly below 2^53; a longer value loses precision, as parseInt would
      const n = readHex(s, p + 2, end);
      value = readEnd > p + 2 ? n : null;
      p = readEnd;
    } else {
      const n = readUint(s, p, end);
      if (readEnd === p) return null;
      p = readEnd;
      value = n;
    }
    if (neg && value !== null) value = -value;
    if (p < end && s.charCodeAt(p) === Ch.Lt) {
      const q = skipDecoration(s, p);
      if (q > 0) { decor = s.slice(p + 1, q - 1); p = q; }
    }
  } else {
    return null;
  }
  const text = s.slice(start, p);
  // errno name after the value: ` ENOENT (...)`, ` ERESTARTSYS (...)`
  let q = p;
  while (q < end && s.charCodeAt(q) === Ch.Space) q++;
  if (q < end) {
    const e0 = q;
    const first = s.charCodeAt(q);
    if (first === Ch.E) {
      while (q < end && isIdent(s.charCodeAt(q))) q++;
      errno = s.slice(e0, q);
    }
  }
  return { value, text, errno, decor };
}

/** Which (first character, length) pairs some interesting name has: most other names are rejected unsliced. */
export interface NameFilter {
  names: ReadonlySet<string>;
  /** bit L of [c] is set when some name of length L starts (first) or ends (last) with c */
  first: Uint32Array;
  last: Uint32Array;
  /** the names by length, as bytes, for comparing without decoding */
  byLength: Array<Array<{ bytes: Uint8Array; name: string }>>;
}

export function nameFilter(names: ReadonlySet<string>): NameFilter {
  const first = new Uint32Array(128);
  const last = new Uint32Array(128);
  const byLength: NameFilter['byLength'] = [];
  for (const n of names) {
    (byLength[n.length] ??= []).push({ bytes: Buffer.from(n, 'latin1'), name: n });
    if (n.length >= 32) continue;
    first[n.charCodeAt(0) & 127]! |= 1 << n.length;
    last[n.charCodeAt(n.length - 1) & 127]! |= 1 << n.length;
  }
  return { names, first, last, byLength };
}

/** The interesting name at s[a, b), or null. */
function interestingName(s: Uint8Array, a: number, b: number, f: NameFilter): string | null {
  const len = b - a;
  if (len < 32 && ((f.first[s[a]! & 127]! & f.last[s[b - 1]! & 127]!) >>> len & 1) === 0) return null;
  const cands = f.byLength[len];
  if (!cands) return null;
  next: for (const n of cands) {
    for (let i = 0; i < len; i++) if (n.bytes[i] !== s[a + i]) continue next;
    return n.name;
  }
  return null;
}

/** s[p..] starts with the ASCII text `lit` */
function bytesAt(s: Uint8Array, p: number, end: number, lit: string): boolean {
  if (p + lit.length > end) return false;
  for (let i = 0; i < lit.length; i++) if (s[p + i] !== lit.charCodeAt(i)) return false;
  return true;
}

const IDENT = new Uint8Array(256);
for (let c = 0; c < 128; c++) IDENT[c] = isIdent(c) ? 1 : 0;
const DIGIT = new Uint8Array(256);
for (let c = Ch.D0; c <= Ch.D9; c++) DIGIT[c] = 1;

/** s[p, p + 17) is ten digits, a dot, six digits (the dot at p + 10 is the caller's): a -ttt stamp as strace prints it. */
function epochStamp(s: Uint8Array, p: number): boolean {
  return (DIGIT[s[p]!]! & DIGIT[s[p + 1]!]! & DIGIT[s[p + 2]!]! & DIGIT[s[p + 3]!]! & DIGIT[s[p + 4]!]! & DIGIT[s[p + 5]!]! &
    DIGIT[s[p + 6]!]! & DIGIT[s[p + 7]!]! & DIGIT[s[p + 8]!]! & DIGIT[s[p + 9]!]! & DIGIT[s[p + 11]!]! & DIGIT[s[p + 12]!]! &
    DIGIT[s[p + 13]!]! & DIGIT[s[p + 14]!]! & DIGIT[s[p + 15]!]! & DIGIT[s[p + 16]!]!) === 1;
}

/**
 * quickSkip's verdict on a line's raw bytes, written into one object the caller keeps: the hot path allocates
 * nothing for the lines it skips.
 */
export class QuickScan {
  /**
   * skip / skip-resumed: a call (or resumed half) of a name outside the filter, or a call that decodes to nothing
   * (an anonymous mmap); skip-entry: the entry half of such a call, whose resumed half is skipped too; call /
   * resumed: one inside the filter
   */
  kind: 'skip' | 'skip-resumed' | 'skip-entry' | 'call' | 'resumed' = 'skip';
  tid: number | null = null;
  /** call / resumed: the name, and the byte offsets of the stamp (-1: none), the name and the arguments */
  name = '';
  stampAt = -1;
  nameAt = -1;
  bodyAt = -1;
}

/** skip: `q` says which kind and thread (the line is never decoded); interesting: finishScan it; unknown: scanLine it. */
export type QuickVerdict = 'skip' | 'interesting' | 'unknown';

/**
 * The hot path, on the raw bytes of the line s[start, end): is it a call (or resumed call) of a name outside
 * `f`? Decides from the pid, the stamp (stepped over, not read) and the name alone.
 */
export function quickSkip(s: Uint8Array, start: number, end: number, f: NameFilter, q: QuickScan): QuickVerdict {
  if (end - start < 3) return 'unknown';
  if (s[end - 1] === Ch.CR) end--;
  // a line cut by a spliced `strace: Process N attached` ends with it: the full path handles those
  if (s[end - 1] === Ch.d && bytesAt(s, end - 8, end, 'attached')) return 'unknown';
  let p = start;
  let c = s[p]!;
  let tid = -1;
  let stampAt = -1;
  if (c >= Ch.D0 && c <= Ch.D9) {
    // `PID  `, or a stamp when there is no pid
    const n = readUintBytes(s, p, end);
    p = readEnd;
    c = s[p]!;
    if (c === Ch.Space) {
      tid = n;
      while (c === Ch.Space) c = s[++p]!;
    } else {
      p = start;
      c = s[p]!;
    }
  } else if (c === Ch.LBracket) {
    if (!bytesAt(s, p, end, '[pid ')) return 'unknown';
    p += 5;
    c = s[p]!;
    while (c === Ch.Space) c = s[++p]!;
    const d0 = p;
    const n = readUintBytes(s, p, end);
    p = readEnd;
    c = s[p]!;
    if (p === d0 || c !== Ch.RBracket || s[p + 1] !== Ch.Space) return 'unknown';
    tid = n;
    p += 2;
    c = s[p]!;
  }
  // a skipped line needs no time: step over -t/-tt/-ttt stamps without reading them
  if (c >= Ch.D0 && c <= Ch.D9) {
    stampAt = p;
    // -ttt's SSSSSSSSSS.uuuuuu (epoch seconds: ten digits until 2286), the commonest: checked digit by digit in one
    // expression and jumped over whole; -tt is HH:MM:SS.uuuuuu: jump over it whole
    if (s[p + 10] === Ch.Dot && s[p + 17] === Ch.Space && epochStamp(s, p)) p += 17;
    else if (s[p + 2] === Ch.Colon && s[p + 8] === Ch.Dot && s[p + 15] === Ch.Space) p += 15;
    c = s[p]!;
    while ((c >= Ch.D0 && c <= Ch.D9) || c === Ch.Colon || c === Ch.Dot) c = s[++p]!;
    if (c !== Ch.Space) return 'unknown';
    c = s[++p]!;
  }
  if (p >= end) return 'unknown';
  q.tid = tid >= 0 ? tid : null;
  if (c === Ch.Lt) {
    // `<... NAME resumed>`, compared byte by byte: the hot path of interleaved -f logs
    if (s[p + 1] !== Ch.Dot || s[p + 2] !== Ch.Dot || s[p + 3] !== Ch.Dot || s[p + 4] !== Ch.Space) return 'unknown';
    const a = p + 5;
    p = a;
    while (p < end && IDENT[s[p]!] === 1) p++;
    if (p + 9 > end || s[p] !== Ch.Space || s[p + 1] !== Ch.r || s[p + 2] !== Ch.e || s[p + 3] !== Ch.s || s[p + 4] !== Ch.u ||
        s[p + 5] !== Ch.m || s[p + 6] !== Ch.e || s[p + 7] !== Ch.d || s[p + 8] !== Ch.Gt) return 'unknown'; // ` resumed>`
    const name = interestingName(s, a, p, f);
    if (name === null) { q.kind = 'skip-resumed'; return 'skip'; }
    // a resumed half's stamp is the call's return: the time of what it did (an fd installed, a message taken)
    return interesting(q, 'resumed', name, stampAt, a - 5, p + 9);
  }
  if (IDENT[c] === 0) return 'unknown'; // -r padding, -n/-i brackets, signals, exits: the full path
  const a = p;
  p++;
  while (p < end && IDENT[s[p]!] === 1) p++;
  if (p >= end || s[p] !== Ch.LParen) return 'unknown';
  const name = interestingName(s, a, p, f);
  if (name === null) { q.kind = 'skip'; return 'skip'; }
  if (name === 'mmap') {
    // an anonymous mapping names no file: nothing decodes from it (bench/maps.c: 16k of 20k mmaps)
    const anon = anonymousMmap(s, p + 1, end);
    if (anon === 1) { q.kind = 'skip'; return 'skip'; }
    if (anon === 2 && tid >= 0) { q.kind = 'skip-entry'; return 'skip'; }
  }
  return interesting(q, 'call', name, stampAt, a, p + 1);
}

const MAP_ANONYMOUS_TEXT = Buffer.from('MAP_ANONYMOUS', 'latin1');
const UNFINISHED_TEXT = Buffer.from(' <unfinished ...>', 'latin1');

/**
 * mmap's arguments at s[p, end) name no file: flags (the 4th argument) with MAP_ANONYMOUS and fd -1. 1: a whole
 * call, 2: its entry half (`<unfinished ...>`), 0: anything else, or anything unexpected (the full path decides).
 * The three arguments before the flags (address, length, PROT_ flags) hold no comma.
 */
function anonymousMmap(s: Uint8Array, p: number, end: number): 0 | 1 | 2 {
  for (let commas = 0; commas < 3; p++) {
    if (p >= end) return 0;
    const c = s[p]!;
    if (c === Ch.Comma) commas++;
    else if (c === Ch.LParen || c === Ch.Lt || c === Ch.LBrace || c === Ch.LBracket || c === Ch.Quote) return 0;
  }
  if (s[p] !== Ch.Space) return 0;
  const flags = ++p;
  while (p < end && s[p] !== Ch.Comma) p++;
  if (p >= end || !hasBytes(s, flags, p, MAP_ANONYMOUS_TEXT)) return 0;
  // `, -1, `: the fd, undecorated
  if (s[p + 1] !== Ch.Space || s[p + 2] !== Ch.Minus || s[p + 3] !== 49 || s[p + 4] !== Ch.Comma) return 0;
  if (end - p > UNFINISHED_TEXT.length && hasBytes(s, end - UNFINISHED_TEXT.length, end, UNFINISHED_TEXT)) return 2;
  return 1;
}

/** s[a, b) contains the bytes `lit` */
function hasBytes(s: Uint8Array, a: number, b: number, lit: Uint8Array): boolean {
  const n = lit.length;
  next: for (let i = a; i + n <= b; i++) {
    for (let j = 0; j < n; j++) if (s[i + j] !== lit[j]) continue next;
    return true;
  }
  return false;
}

function interesting(q: QuickScan, kind: 'call' | 'resumed', name: string, stampAt: number, nameAt: number, bodyAt: number): QuickVerdict {
  q.kind = kind;
  q.name = name;
  q.stampAt = stampAt;
  q.nameAt = nameAt;
  q.bodyAt = bodyAt;
  return 'interesting';
}

/**
 * Completes the line bytes[.., end) quickSkip found interesting: decodes it from its stamp (a call's, or a
 * resumed half's: the return), or from its arguments when it has none, to its end. `reuse` is overwritten (the line is returned in it).
 */
export function finishScan(q: QuickScan, bytes: Buffer, end: number, reuse = new LineRecord()): ScannedLine {
  const l = reuse.reset();
  if (bytes[end - 1] === Ch.CR) end--;
  const kind = q.kind === 'call' ? 'call' : 'resumed';
  const from = q.stampAt >= 0 ? q.stampAt : q.bodyAt;
  const text = bytes.toString('latin1', from, end);
  // the stamp alone (its digits are no pid)
  if (from === q.stampAt) readStamp(text, l, q.nameAt - from);
  l.tid = q.tid;
  return finishCall(text, q.bodyAt - from, kind, q.name, l);
}

/**
 * The stamp s[0, end) of a line quickSkip found (one space ends it), as scanPrefix reads it: -ttt and -tt read
 * here, a small function the hot path compiles at once; anything else by scanPrefix.
 */
function readStamp(s: string, l: LineRecord, end: number): void {
  const n = readUint(s, 0, end);
  const p = readEnd;
  if (p > 0 && p < end && s.charCodeAt(p) === Ch.Dot && n >= 100000000) {
    // -ttt: epoch seconds
    const frac = readFraction(s, p + 1, end);
    const q = readEnd;
    if (q > p + 1 && q === end - 1 && s.charCodeAt(q) === Ch.Space) { l.ts = n + frac; l.tod = false; return; }
  } else if (p === 2 && s.charCodeAt(p) === Ch.Colon) {
    // -t / -tt: a time of day
    if (parseClock(s, 0, l, end) === end - 1) return;
    l.ts = null;
    l.tod = false;
  }
  scanPrefix(s, l, 0, end);
}

/**
 * Scans one line (without its newline). Never throws. With `interesting`, calls of other names come back as
 * 'skip' without their arguments being read. `reuse` is overwritten (the line is returned in it).
 */
export function scanLine(s: string, interesting: ReadonlySet<string> | null = null, reuse = new LineRecord()): ScannedLine {
  const l = reuse.reset();
  let end = s.length;
  if (end > 0 && s.charCodeAt(end - 1) === Ch.CR) { s = s.slice(0, end - 1); end--; }
  const pos = scanPrefix(s, l);
  if (pos >= end) return l.tid === null && l.ts === null ? bare(l, 'blank') : error(l, 'prefix without body');
  const c = s.charCodeAt(pos);
  if (c === Ch.Minus && s.startsWith('--- ', pos)) {
    let p = pos + 4;
    const ns = p;
    while (p < end && isIdent(s.charCodeAt(p))) p++;
    const sig = s.slice(ns, p);
    if (!sig) return error(l, 'signal line without a signal');
    const close = s.lastIndexOf(' ---');
    return signal(l, sig, close > p ? s.slice(p + 1, close) : '');
  }
  if (c === Ch.Plus && s.startsWith('+++ ', pos)) {
    const rest = s.slice(pos + 4);
    if (rest.startsWith('exited with ')) {
      const code = parseInt(rest.slice(12), 10);
      if (Number.isNaN(code)) return error(l, 'bad exit status');
      return exit(l, code, null, false);
    }
    if (rest.startsWith('killed by ')) {
      let p = 10;
      while (p < rest.length && isIdent(rest.charCodeAt(p))) p++;
      return exit(l, null, rest.slice(10, p), rest.includes('(core dumped)'));
    }
    if (rest.startsWith('superseded by execve in pid ')) {
      const by = parseInt(rest.slice(28), 10);
      if (Number.isNaN(by)) return error(l, 'bad superseded pid');
      return superseded(l, by);
    }
    return error(l, 'unknown +++ line');
  }
  if (c === Ch.s && s.startsWith('strace: ', pos)) {
    const rest = s.slice(pos + 8);
    if (rest.startsWith('Process ')) {
      const pid = parseInt(rest.slice(8), 10);
      if (!Number.isNaN(pid)) {
        if (rest.endsWith(' attached') || rest.includes(' attached')) return attach(l, 'attached', pid);
        if (rest.includes(' detached')) return attach(l, 'detached', pid);
      }
    }
    return message(l, rest);
  }
  if (c === Ch.Gt && s.charCodeAt(pos + 1) === Ch.Space || (c === Ch.Space && s.startsWith(' > ', pos))) {
    return bare(l, 'stack');
  }
  if (c === Ch.Lt && s.startsWith('<... ', pos)) {
    const p = pos + 5;
    const r = s.indexOf(' resumed>', p);
    if (r < 0) return error(l, 'resumed line without a name');
    const name = s.slice(p, r);
    if (interesting !== null && !interesting.has(name)) return skip(l, 'skip-resumed', name);
    return finishCall(s, r + 9, 'resumed', name, l);
  }
  if (isIdent(c) || c === Ch.Question) {
    let p = pos;
    while (p < end && (isIdent(s.charCodeAt(p)) || s.charCodeAt(p) === Ch.Question)) p++;
    if (p < end && s.charCodeAt(p) === Ch.LParen) {
      const name = s.slice(pos, p);
      if (interesting !== null && !interesting.has(name)) return skip(l, 'skip', name);
      return finishCall(s, p + 1, 'call', name, l);
    }
  }
  return error(l, 'not a strace line');
}

/**
 * From `pos` (just inside the call's paren, or just after a resumed half's `resumed>`): the arguments' end,
 * then the return; or the entry half an unfinished line printed.
 */
function finishCall(s: string, pos: number, kind: 'call' | 'resumed', name: string, l: LineRecord): ScannedLine {
  // unfinished and friends end the line with '>'; they never carry a return
  if (s.charCodeAt(s.length - 1) === Ch.Gt && s.charCodeAt(s.length - 2) === Ch.Dot) {
    let end = -1;
    let detached = false;
    let pidChangedTo: number | null = null;
    if (s.endsWith(UNFINISHED)) end = s.length - UNFINISHED.length;
    else if (s.endsWith(DETACHED)) { end = s.length - DETACHED.length; detached = true; }
    else {
      const pc = s.lastIndexOf(' <pid changed to ');
      if (pc > 0 && s.endsWith(' ...>')) { end = pc; pidChangedTo = parseInt(s.slice(pc + 17), 10); }
    }
    if (end >= 0) {
      // a resumed half is the call's end: it cannot be cut again (it would carry no return)
      if (kind === 'resumed') return error(l, 'resumed line unfinished again');
      if (nestedTooDeep(s, pos, end)) return error(l, TOO_DEEP_REASON);
      return unfinished(l, name, s.slice(pos, end), detached, pidChangedTo);
    }
  }
  // a resumed body starts at depth 0 relative to the rest of the call: find the paren that closes the call
  const close = kind === 'call' ? findCallClose(s, pos, 1) : findResumedClose(s, pos);
  if (close === TOO_DEEP) return error(l, TOO_DEEP_REASON);
  if (close < 0) return error(l, 'unbalanced arguments (truncated line?)');
  const ret = scanReturn(s, close + 1);
  if (ret === null) return error(l, 'no return value');
  return call(l, kind, name, s.slice(pos, close), ret);
}

/** s[pos, end) opens more than MAX_NESTING brackets inside the call's paren (strings, decorations, comments skipped). */
function nestedTooDeep(s: string, pos: number, end: number): boolean {
  // a half shorter than the limit cannot open more brackets than it has characters
  if (end - pos <= MAX_NESTING) return false;
  // nearly every half opens a few brackets: counting them with indexOf (native) spares the scan below
  if (!opensMoreThan(s, pos, end, MAX_NESTING)) return false;
  let depth = 0;
  let p = pos;
  while (p < end) {
    const c = s.charCodeAt(p);
    if (c === Ch.Quote) { p = skipString(s, p, end); continue; }
    if (c === Ch.Lt && p > 0 && opensDecoration(s, p)) {
      const q = skipDecoration(s, p);
      if (q < 0) return false;
      p = q;
      continue;
    }
    if (c === Ch.LParen || c === Ch.LBracket || c === Ch.LBrace) { if (++depth > MAX_NESTING) return true; }
    else if ((c === Ch.RParen || c === Ch.RBracket || c === Ch.RBrace) && depth > 0) depth--;
    p++;
  }
  return false;
}

/** s[pos, end) holds more than `n` of `(`, `[` and `{` together (in strings too: an upper bound of the nesting). */
function opensMoreThan(s: string, pos: number, end: number, n: number): boolean {
  let count = 0;
  for (let i = s.indexOf('(', pos); i >= 0 && i < end; i = s.indexOf('(', i + 1)) if (++count > n) return true;
  for (let i = s.indexOf('[', pos); i >= 0 && i < end; i = s.indexOf('[', i + 1)) if (++count > n) return true;
  for (let i = s.indexOf('{', pos); i >= 0 && i < end; i = s.indexOf('{', i + 1)) if (++count > n) return true;
  return false;
}

/** The ')' at `p` is followed by ` = ` (strace pads the return to a column with more spaces). */
function closesBeforeReturn(s: string, p: number): boolean {
  // every read in bounds: a ')' that ends the line (`= -1 ENOENT (No such file or directory)`) is common, and a
  // charCodeAt past the end deoptimizes the compiled code
  const end = s.length;
  let q = p + 1;
  while (q < end && s.charCodeAt(q) === Ch.Space) q++;
  return q + 1 < end && s.charCodeAt(q) === Ch.Eq && s.charCodeAt(q + 1) === Ch.Space;
}

/**
 * For a resumed tail we do not know the depth the entry half stopped at: take the last top-level
 * `) = ` candidate by scanning forward and remembering every ')' followed by ` = ` outside strings.
 */
function findResumedClose(s: string, pos: number): number {
  const end = s.length;
  // the common `<... NAME resumed>) = RET`: when no later ')' is followed by ` = `, the first one is the close
  if (s.charCodeAt(pos) === Ch.RParen && closesBeforeReturn(s, pos)) {
    let later = s.indexOf(')', pos + 1);
    while (later >= 0 && !closesBeforeReturn(s, later)) later = s.indexOf(')', later + 1);
    if (later < 0) return pos;
  }
  let p = pos;
  let found = -1;
  // brackets opened in this half (the entry half's are closed here too, taking it below 0)
  let depth = 0;
  while (p < end) {
    const c = s.charCodeAt(p);
    if (c === Ch.Quote) {
      p = skipString(s, p, end);
      continue;
    }
    if (c === Ch.Lt && p > 0 && opensDecoration(s, p)) {
      const q = skipDecoration(s, p);
      if (q < 0) return found;
      p = q;
      continue;
    }
    if (c === Ch.LParen || c === Ch.LBracket || c === Ch.LBrace) { if (++depth > MAX_NESTING) return TOO_DEEP; }
    else if (c === Ch.RBracket || c === Ch.RBrace) depth--;
    else if (c === Ch.RParen) {
      depth--;
      if (closesBeforeReturn(s, p)) found = p;
    }
    p++;
  }
  return found;
}
