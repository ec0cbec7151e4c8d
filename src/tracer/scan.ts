// One strace output line -> ScannedLine. Hand-written over charCodeAt; never throws.
// Prefixes handled, in any order: `PID `, `[pid N]`, `PID<comm>`, -t/-tt/-ttt/-r stamps, -n `[ 231]`, -i `[00007f..]`.
import type { SyscallReturn } from '../model/events.js';

export type LineKind =
  | 'call'        // name(args) = ret
  | 'unfinished'  // name(args <unfinished ...>
  | 'resumed'     // <... name resumed>rest) = ret
  | 'signal'
  | 'exit'        // +++ exited with N +++ / +++ killed by SIG +++
  | 'superseded'  // +++ superseded by execve in pid N +++
  | 'attached' | 'detached'
  | 'message'     // other strace: diagnostics
  | 'stack'       // -k ` > /lib/...`
  | 'blank'
  | 'skip'        // a syscall the caller does not care about: only tid, ts and name are set
  | 'skip-resumed'
  | 'error';

export interface ScannedLine {
  kind: LineKind;
  tid: number | null;
  ts: number | null;      // seconds: epoch for -ttt, seconds since midnight for -t/-tt (see tod), null otherwise
  tod: boolean;           // ts is a time of day (-t/-tt) that needs a date
  comm: string | null;
  name: string;           // syscall name, signal name
  /** call: args text; unfinished: the args printed so far; resumed: the text after `resumed>` up to the closing paren */
  body: string;
  ret: SyscallReturn | null;
  /** exit code, or N of "superseded by execve in pid N", or N of "Process N attached" */
  num: number | null;
  signal: string | null;
  core: boolean;
  /** `<pid changed to N ...>` ended this line (a non-leader execve) */
  pidChangedTo: number | null;
  /** `<detached ...>` ended this line: the call was cut by strace detaching */
  detached: boolean;
  reason: string;         // error: why
  /** quickSkip 'interesting': byte offsets of the stamp (-1: none), the name and the arguments */
  stampAt: number;
  nameAt: number;
  bodyAt: number;
}

const enum Ch {
  Tab = 9, Space = 32, Bang = 33, Quote = 34, Hash = 35, Plus = 43, Comma = 44, Minus = 45, Dot = 46, Slash = 47,
  D0 = 48, D9 = 57, Colon = 58, Lt = 60, Eq = 61, Gt = 62, Question = 63, At = 64,
  A = 65, Z = 90, LBracket = 91, Backslash = 92, RBracket = 93, Underscore = 95,
  a = 97, z = 122, LBrace = 123, RBrace = 125, LParen = 40, RParen = 41, Star = 42, Tilde = 126,
}

function blank(kind: LineKind): ScannedLine {
  return {
    kind, tid: null, ts: null, tod: false, comm: null, name: '', body: '', ret: null, num: null,
    signal: null, core: false, pidChangedTo: null, detached: false, reason: '', stampAt: -1, nameAt: -1, bodyAt: -1,
  };
}

export function isDigit(c: number): boolean { return c >= Ch.D0 && c <= Ch.D9; }
export function isIdent(c: number): boolean {
  return (c >= Ch.a && c <= Ch.z) || (c >= Ch.A && c <= Ch.Z) || (c >= Ch.D0 && c <= Ch.D9) || c === Ch.Underscore;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

/** Reads the prefixes of the line s[pos0, end); returns the position of the body. */
function scanPrefix(s: string, out: ScannedLine, pos0 = 0, end = s.length): number {
  let pos = pos0;
  // fast path for the common `PID  [clock ]name(` of strace -f -o
  let c0 = s.charCodeAt(pos);
  if (c0 >= Ch.D0 && c0 <= Ch.D9) {
    let p = pos;
    let n = 0;
    while (c0 >= Ch.D0 && c0 <= Ch.D9) { n = n * 10 + (c0 - Ch.D0); c0 = s.charCodeAt(++p); }
    if (c0 === Ch.Space && p < end) {
      out.tid = n;
      while (s.charCodeAt(++p) === Ch.Space) { /* padding */ }
      pos = p;
      const c1 = s.charCodeAt(pos);
      if (!(c1 >= Ch.D0 && c1 <= Ch.D9) && c1 !== Ch.LBracket) return pos;
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
        const start = p;
        let n = 0;
        while (p < end && isDigit(s.charCodeAt(p))) { n = n * 10 + (s.charCodeAt(p) - Ch.D0); p++; }
        if (p === start) return pos;
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
      let p = pos;
      let n = 0;
      while (p < end && isDigit(s.charCodeAt(p))) { n = n * 10 + (s.charCodeAt(p) - Ch.D0); p++; }
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
        let q = p + 1;
        let frac = 0;
        let scale = 1;
        while (q < end && isDigit(s.charCodeAt(q))) {
          if (scale < 1e15) { frac = frac * 10 + (s.charCodeAt(q) - Ch.D0); scale *= 10; }
          q++;
        }
        if (q === p + 1 || (q < end && s.charCodeAt(q) !== Ch.Space)) return pos;
        if (n >= 100000000) { out.ts = n + frac / scale; out.tod = false; }
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
function parseClock(s: string, pos: number, out: ScannedLine, end: number): number {
  if (pos + 8 > end) return -1;
  const h = (s.charCodeAt(pos) - Ch.D0) * 10 + (s.charCodeAt(pos + 1) - Ch.D0);
  const m = (s.charCodeAt(pos + 3) - Ch.D0) * 10 + (s.charCodeAt(pos + 4) - Ch.D0);
  const sec = (s.charCodeAt(pos + 6) - Ch.D0) * 10 + (s.charCodeAt(pos + 7) - Ch.D0);
  if (s.charCodeAt(pos + 2) !== Ch.Colon || s.charCodeAt(pos + 5) !== Ch.Colon) return -1;
  if (!(h >= 0 && h < 24 && m >= 0 && m < 60 && sec >= 0 && sec < 61)) return -1;
  let p = pos + 8;
  let frac = 0;
  let scale = 1;
  if (p < end && s.charCodeAt(p) === Ch.Dot) {
    p++;
    while (p < end && isDigit(s.charCodeAt(p))) {
      frac = frac * 10 + (s.charCodeAt(p) - Ch.D0);
      scale *= 10;
      p++;
    }
  }
  if (p < end && s.charCodeAt(p) !== Ch.Space) return -1;
  out.ts = h * 3600 + m * 60 + sec + frac / scale;
  out.tod = true;
  return p;
}

/** At an opening quote: the index just after its closing quote (backslash escapes skipped), or `end`. */
export function skipString(s: string, p: number, end: number): number {
  p++;
  while (p < end) {
    const d = s.charCodeAt(p);
    if (d === Ch.Backslash) p += 2;
    else if (d === Ch.Quote) return p + 1;
    else p++;
  }
  return end;
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
  return isDigit(b) || (b === 68 /* D */ && p >= 8 && s.startsWith('AT_FDCWD', p - 8));
}

/** At `<` of a decoration: returns the index after its matching `>` (nested decorations allowed), or -1. */
export function skipDecoration(s: string, p: number): number {
  const end = s.length;
  let depth = 0;
  let bracket = 0; // UNIX-STREAM:[1->2]: the arrow's '>' is not a closer
  // a path (`3</tmp/a[b>`) may hold brackets and quotes as they are; strace escapes only its < and >
  const path = s.charCodeAt(p + 1) === Ch.Slash;
  while (p < end) {
    const c = s.charCodeAt(p);
    if (path) {
      if (c === Ch.Lt) depth++;
      else if (c === Ch.Gt && --depth === 0) return p + 1;
      p++;
      continue;
    }
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
  const c = s.charCodeAt(p);
  if (c === Ch.Question) {
    p++;
  } else if (c === Ch.Minus || isDigit(c)) {
    let neg = false;
    if (c === Ch.Minus) { neg = true; p++; }
    if (s.charCodeAt(p) === Ch.D0 && (s.charCodeAt(p + 1) === 120 || s.charCodeAt(p + 1) === 88)) {
      // addresses (mmap) fit a double exactly below 2^53; a longer value loses precision, as parseInt would
      p += 2;
      const hs = p;
      let n = 0;
      for (let d = s.charCodeAt(p); p < end && isHex(d); d = s.charCodeAt(++p)) n = n * 16 + (d <= Ch.D9 ? d - Ch.D0 : (d | 32) - 87);
      value = p > hs ? n : null;
    } else {
      let n = 0;
      const ds = p;
      while (p < end && isDigit(s.charCodeAt(p))) { n = n * 10 + (s.charCodeAt(p) - Ch.D0); p++; }
      if (p === ds) return null;
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
    if (first === 69 /* E */) {
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
for (let c = 0; c < 128; c++) IDENT[c] = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 ? 1 : 0;

/**
 * The hot path, on the raw bytes of the line s[start, end): is it a call (or resumed call) of a name outside
 * `f`? Then `out` gets kind 'skip'/'skip-resumed' and the tid, and the line is never decoded. False: scan
 * it in full.
 */
export type QuickVerdict = 'skip' | 'interesting' | 'unknown';

export function quickSkip(s: Uint8Array, start: number, end: number, f: NameFilter, out: ScannedLine): QuickVerdict {
  if (end - start < 3) return 'unknown';
  if (s[end - 1] === 13) end--;
  // a line cut by a spliced `strace: Process N attached` ends with it: the full path handles those
  if (s[end - 1] === 100 /* d */ && bytesAt(s, end - 8, end, 'attached')) return 'unknown';
  let p = start;
  let c = s[p]!;
  let tid = -1;
  let stampAt = -1;
  if (c >= Ch.D0 && c <= Ch.D9) {
    // `PID  `, or a stamp when there is no pid
    let n = 0;
    while (c >= Ch.D0 && c <= Ch.D9) { n = n * 10 + (c - Ch.D0); c = s[++p]!; }
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
    let n = 0;
    const d0 = p;
    while (c >= Ch.D0 && c <= Ch.D9) { n = n * 10 + (c - Ch.D0); c = s[++p]!; }
    if (p === d0 || c !== Ch.RBracket || s[p + 1] !== Ch.Space) return 'unknown';
    tid = n;
    p += 2;
    c = s[p]!;
  }
  // a skipped line needs no time: step over -t/-tt/-ttt stamps without reading them
  if (c >= Ch.D0 && c <= Ch.D9) {
    stampAt = p;
    // -tt is HH:MM:SS.uuuuuu: jump over it whole
    if (s[p + 2] === Ch.Colon && s[p + 8] === Ch.Dot && s[p + 15] === Ch.Space) p += 15;
    c = s[p]!;
    while ((c >= Ch.D0 && c <= Ch.D9) || c === Ch.Colon || c === Ch.Dot) c = s[++p]!;
    if (c !== Ch.Space) return 'unknown';
    c = s[++p]!;
  }
  if (p >= end) return 'unknown';
  let kind: LineKind;
  if (c === Ch.Lt) {
    // `<... NAME resumed>`, compared byte by byte: the hot path of interleaved -f logs
    if (s[p + 1] !== Ch.Dot || s[p + 2] !== Ch.Dot || s[p + 3] !== Ch.Dot || s[p + 4] !== Ch.Space) return 'unknown';
    const a = p + 5;
    p = a;
    while (p < end && IDENT[s[p]!] === 1) p++;
    if (p + 9 > end || s[p] !== Ch.Space || s[p + 1] !== 114 || s[p + 2] !== 101 || s[p + 3] !== 115 || s[p + 4] !== 117 ||
        s[p + 5] !== 109 || s[p + 6] !== 101 || s[p + 7] !== 100 || s[p + 8] !== Ch.Gt) return 'unknown'; // ` resumed>`
    const name = interestingName(s, a, p, f);
    if (name !== null) return interesting(out, 'resumed', name, tid, -1, -1, p + 9);
    kind = 'skip-resumed';
  } else {
    if (IDENT[c] === 0) return 'unknown'; // -r padding, -n/-i brackets, signals, exits: the full path
    const a = p;
    p++;
    while (p < end && IDENT[s[p]!] === 1) p++;
    if (p >= end || s[p] !== Ch.LParen) return 'unknown';
    const name = interestingName(s, a, p, f);
    if (name !== null) return interesting(out, 'call', name, tid, stampAt, a, p + 1);
    kind = 'skip';
  }
  out.kind = kind;
  out.tid = tid >= 0 ? tid : null;
  out.ts = null;
  out.tod = false;
  out.comm = null;
  return 'skip';
}

function interesting(out: ScannedLine, kind: 'call' | 'resumed', name: string, tid: number, stampAt: number, nameAt: number, bodyAt: number): QuickVerdict {
  out.kind = kind;
  out.name = name;
  out.tid = tid >= 0 ? tid : null;
  out.ts = null;
  out.tod = false;
  out.comm = null;
  out.stampAt = stampAt;
  out.nameAt = nameAt;
  out.bodyAt = bodyAt;
  return 'interesting';
}

/**
 * Completes a line quickSkip found interesting. `text` is the line decoded from its stamp (a call with one)
 * or from its arguments (a resumed half's time is its entry's) to its end; the arguments start at `bodyAt`
 * and the stamp, if any, ends before `stampEnd`.
 */
export function finishScan(out: ScannedLine, text: string, bodyAt: number, stampEnd: number): ScannedLine {
  out.body = ''; out.ret = null; out.num = null; out.signal = null; out.core = false; out.pidChangedTo = null;
  out.detached = false; out.reason = '';
  if (stampEnd > 0) {
    const tid = out.tid;
    scanPrefix(text, out, 0, stampEnd);
    out.tid = tid;
  }
  return finishCall(text, bodyAt, out.kind === 'call' ? 1 : 0, out);
}

export function newScannedLine(): ScannedLine {
  return blank('error');
}

function reset(out: ScannedLine): ScannedLine {
  out.kind = 'error'; out.tid = null; out.ts = null; out.tod = false; out.comm = null; out.name = ''; out.body = '';
  out.ret = null; out.num = null; out.signal = null; out.core = false; out.pidChangedTo = null; out.detached = false;
  out.reason = '';
  return out;
}

/**
 * Scans one line (without its newline). Never throws. With `interesting`, calls of other names
 * come back as 'skip' without their arguments being read. `reuse` avoids an allocation per line.
 */
export function scanLine(s: string, interesting: ReadonlySet<string> | null = null, reuse?: ScannedLine): ScannedLine {
  const out = reuse ? reset(reuse) : blank('error');
  let end = s.length;
  if (end > 0 && s.charCodeAt(end - 1) === 13) { s = s.slice(0, end - 1); end--; }
  const pos = scanPrefix(s, out);
  if (pos >= end) {
    out.kind = out.tid === null && out.ts === null ? 'blank' : 'error';
    out.reason = 'prefix without body';
    return out;
  }
  const c = s.charCodeAt(pos);
  if (c === Ch.Minus && s.startsWith('--- ', pos)) {
    out.kind = 'signal';
    let p = pos + 4;
    const ns = p;
    while (p < end && isIdent(s.charCodeAt(p))) p++;
    out.name = s.slice(ns, p);
    out.signal = out.name;
    const close = s.lastIndexOf(' ---');
    out.body = close > p ? s.slice(p + 1, close) : '';
    if (!out.name) { out.kind = 'error'; out.reason = 'signal line without a signal'; }
    return out;
  }
  if (c === Ch.Plus && s.startsWith('+++ ', pos)) {
    const rest = s.slice(pos + 4);
    if (rest.startsWith('exited with ')) {
      out.kind = 'exit';
      out.num = parseInt(rest.slice(12), 10);
      if (Number.isNaN(out.num)) { out.kind = 'error'; out.reason = 'bad exit status'; }
      return out;
    }
    if (rest.startsWith('killed by ')) {
      out.kind = 'exit';
      let p = 10;
      while (p < rest.length && isIdent(rest.charCodeAt(p))) p++;
      out.signal = rest.slice(10, p);
      out.core = rest.includes('(core dumped)');
      return out;
    }
    if (rest.startsWith('superseded by execve in pid ')) {
      out.kind = 'superseded';
      out.num = parseInt(rest.slice(28), 10);
      if (Number.isNaN(out.num)) { out.kind = 'error'; out.reason = 'bad superseded pid'; }
      return out;
    }
    out.reason = 'unknown +++ line';
    return out;
  }
  if (c === 115 /* s */ && s.startsWith('strace: ', pos)) {
    const rest = s.slice(pos + 8);
    if (rest.startsWith('Process ')) {
      const n = parseInt(rest.slice(8), 10);
      if (!Number.isNaN(n)) {
        if (rest.endsWith(' attached') || rest.includes(' attached')) { out.kind = 'attached'; out.num = n; return out; }
        if (rest.includes(' detached')) { out.kind = 'detached'; out.num = n; return out; }
      }
    }
    out.kind = 'message';
    out.body = rest;
    return out;
  }
  if (c === Ch.Gt && s.charCodeAt(pos + 1) === Ch.Space || (c === Ch.Space && s.startsWith(' > ', pos))) {
    out.kind = 'stack';
    return out;
  }
  if (c === Ch.Lt && s.startsWith('<... ', pos)) {
    const p = pos + 5;
    const r = s.indexOf(' resumed>', p);
    if (r < 0) { out.reason = 'resumed line without a name'; return out; }
    out.kind = 'resumed';
    out.name = s.slice(p, r);
    if (interesting !== null && !interesting.has(out.name)) { out.kind = 'skip-resumed'; return out; }
    return finishCall(s, r + 9, 0, out);
  }
  if (isIdent(c) || c === Ch.Question) {
    let p = pos;
    while (p < end && (isIdent(s.charCodeAt(p)) || s.charCodeAt(p) === Ch.Question)) p++;
    if (p < end && s.charCodeAt(p) === Ch.LParen) {
      out.kind = 'call';
      out.name = s.slice(pos, p);
      if (interesting !== null && !interesting.has(out.name)) { out.kind = 'skip'; return out; }
      return finishCall(s, p + 1, 1, out);
    }
  }
  out.reason = 'not a strace line';
  return out;
}

/** From `pos` (inside the args at `depth`), find the args' end, then the return. */
function finishCall(s: string, pos: number, depth: number, out: ScannedLine): ScannedLine {
  // unfinished and friends end the line with '>'; they never carry a return
  if (s.charCodeAt(s.length - 1) === Ch.Gt && s.charCodeAt(s.length - 2) === Ch.Dot) {
    if (s.endsWith(UNFINISHED)) {
      if (out.kind === 'resumed') { out.reason = 'resumed line unfinished again'; out.kind = 'error'; return out; }
      out.kind = 'unfinished';
      return entryHalf(s, pos, s.length - UNFINISHED.length, out);
    }
    if (s.endsWith(DETACHED)) {
      out.detached = true;
      if (out.kind === 'call') out.kind = 'unfinished';
      return entryHalf(s, pos, s.length - DETACHED.length, out);
    }
    const pc = s.lastIndexOf(' <pid changed to ');
    if (pc > 0 && s.endsWith(' ...>')) {
      out.pidChangedTo = parseInt(s.slice(pc + 17), 10);
      if (out.kind === 'call') out.kind = 'unfinished';
      return entryHalf(s, pos, pc, out);
    }
  }
  // a resumed body starts at depth 0 relative to the rest of the call: find the paren that closes the call
  const close = depth === 1 ? findCallClose(s, pos, 1) : findResumedClose(s, pos);
  if (close === TOO_DEEP) return tooDeep(s, pos, out);
  if (close < 0) {
    out.kind = 'error';
    out.reason = 'unbalanced arguments (truncated line?)';
    out.body = s.slice(pos);
    return out;
  }
  out.body = s.slice(pos, close);
  out.ret = scanReturn(s, close + 1);
  if (out.ret === null) {
    out.kind = 'error';
    out.reason = 'no return value';
  }
  return out;
}

/** The half printed before `<unfinished ...>` (or `<detached ...>`, `<pid changed to N ...>`): s[pos, end). */
function entryHalf(s: string, pos: number, end: number, out: ScannedLine): ScannedLine {
  if (nestedTooDeep(s, pos, end)) return tooDeep(s, pos, out);
  out.body = s.slice(pos, end);
  return out;
}

function tooDeep(s: string, pos: number, out: ScannedLine): ScannedLine {
  out.kind = 'error';
  out.reason = TOO_DEEP_REASON;
  out.body = s.slice(pos, pos + 200);
  return out;
}

/** s[pos, end) opens more than MAX_NESTING brackets inside the call's paren (strings, decorations, comments skipped). */
function nestedTooDeep(s: string, pos: number, end: number): boolean {
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

/** The ')' at `p` is followed by ` = ` (strace pads the return to a column with more spaces). */
function closesBeforeReturn(s: string, p: number): boolean {
  let q = p + 1;
  while (s.charCodeAt(q) === Ch.Space) q++;
  return s.charCodeAt(q) === Ch.Eq && s.charCodeAt(q + 1) === Ch.Space;
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
