// The commonest calls of a trace (openat, close, mmap, munmap, fcntl, dup, recvmsg) decoded straight from their
// argument text: one pass over the characters, no argument tree. Each reader accepts only the shape strace prints
// for its call and returns null for anything else, which decode.ts's general path then reads (so a reader here
// never has to be complete, only exact: test/tracer/fastpaths.test.ts holds it to the general path).
import { Ch, isIdent, readEnd, readUint } from '../model/chars.js';
import type { SyscallEvent } from '../model/events.js';
import type { FdOp, FdRef, FdTarget, ScmMessage } from '../model/fdop.js';
import { FD_CLOEXEC, MSG_CMSG_CLOEXEC, MSG_CTRUNC, MSG_PEEK, PAGE_SIZE, hasFlag } from '../model/kernel.js';
import { parseDecor } from './decor.js';
import { skipDecoration, skipString } from './scan.js';
import { parseNumber } from './values.js';

/** What decode may ask the kernel model, so it can skip work that cannot matter. */
export interface DecodeContext {
  /** a private file mapping matters only to a process holding a transferred fd */
  privateMapsMatter(tid: number, ts: number | null): boolean;
}

/** A call that changed nothing (ops are object literals with their fields in one order: decode is a hot path). */
export function taskOp(e: SyscallEvent): FdOp {
  return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'task' };
}

/** close's one argument `3</path>(deleted)`: its decoration is parsed without the argument parser, when asked. */
export class CloseRef implements FdRef {
  private t: FdTarget | null | undefined = undefined;
  constructor(readonly fd: number, private readonly args: string) {}

  get target(): FdTarget | null {
    if (this.t === undefined) {
      const lt = this.args.indexOf('<');
      const gt = this.args.lastIndexOf('>');
      this.t = lt < 0 || gt <= lt ? null : parseDecor(this.args.slice(lt + 1, gt), this.args.slice(gt + 1));
    }
    return this.t;
  }
}

/**
 * The op of a call of one of the commonest names, or null: another name, a shape the reader does not take, or a
 * return the general path decides (`= ?`, a negative value without errno, close's EINTR). `e` is never cut.
 */
export function hotDecode(e: SyscallEvent, ctx: DecodeContext): FdOp | null {
  const r = e.ret;
  const name = e.name;
  if (r.errno !== null) {
    // a failed call changes no table (close/EINTR does: Linux always releases the fd)
    if (name === 'close') return r.errno === 'EINTR' ? null : taskOp(e);
    return name === 'openat' || name === 'mmap' || name === 'munmap' || name === 'fcntl' || name === 'recvmsg' ||
      name === 'dup' || name === 'dup2' || name === 'dup3' ? taskOp(e) : null;
  }
  if (r.value === null || r.value < 0) return null;
  switch (name) {
    case 'close': {
      const n = readUint(e.args, 0, e.args.length);
      if (readEnd === 0) return taskOp(e);
      // its decoration is read only if the fd table does not know the fd already
      return { tid: e.tid, ts: e.ts, line: e.line, syscall: name, comm: e.comm, op: 'close', fd: new CloseRef(n, e.args) };
    }
    case 'openat': return openat(e, r.decor, r.value);
    case 'mmap': return mmap(e, ctx, r.text);
    // nothing of munmap's arguments is read
    case 'munmap': return taskOp(e);
    case 'fcntl': return fcntl(e, r.value, r.text);
    case 'dup': case 'dup2': case 'dup3': return dup(e, r.value);
    case 'recvmsg': return recvmsg(e);
    case 'sendmsg': return sendmsg(e, false);
    default: return null;
  }
}

// ---- the readers: each returns the index after what it read, or -1 for a shape it does not take ----

/** the fd readFd read (-1: `-1`, no fd), its decoration's text bounds (decorA < 0: undecorated), ` (deleted)` after it */
let fdNum = -1;
let decorA = -1;
let decorB = -1;
let deleted = false;

/**
 * An fd argument at `p`: `-1`, or digits (no leading zero: the general path would read octal) with an optional
 * decoration right after them, followed by `,` or the end (or `close`: an array's `]`).
 */
function readFd(s: string, p: number, close: number = Ch.Comma): number {
  decorA = -1;
  if (p < 0) return -1;
  if (s.charCodeAt(p) === Ch.Minus) {
    if (s.charCodeAt(p + 1) !== 49 || p + 2 < s.length && s.charCodeAt(p + 2) !== Ch.Comma) return -1;
    fdNum = -1;
    return p + 2;
  }
  const n = readUint(s, p, s.length);
  const q = readEnd;
  if (q === p || (q - p > 1 && s.charCodeAt(p) === Ch.D0) || q - p > 9) return -1;
  fdNum = n;
  if (q === s.length || s.charCodeAt(q) === Ch.Comma || s.charCodeAt(q) === close) return q;
  // `21<<MAP_HUGE_SHIFT` is a shift, not a decoration
  if (s.charCodeAt(q) !== Ch.Lt || s.charCodeAt(q + 1) === Ch.Lt) return -1;
  let end = skipDecoration(s, q);
  if (end < 0) return -1;
  decorA = q + 1;
  decorB = end - 1;
  // a file unlinked since it was opened (a memfd always is): `4</memfd:x>(deleted)`
  deleted = s.startsWith('(deleted)', end);
  if (deleted) end += 9;
  return end === s.length || s.charCodeAt(end) === Ch.Comma || s.charCodeAt(end) === close ? end : -1;
}

/** The FdRef of what readFd read, as the general path's fdRef makes it (null for a negative fd). */
function fdRefRead(s: string): FdRef | null {
  if (fdNum < 0) return null;
  return { fd: fdNum, target: decorA >= 0 ? parseDecor(s.slice(decorA, decorB), deleted ? '(deleted)' : '') : null };
}

/** `, ` at `p`: the index after it, or -1. */
function comma(s: string, p: number): number {
  return p >= 0 && s.charCodeAt(p) === Ch.Comma && s.charCodeAt(p + 1) === Ch.Space ? p + 2 : -1;
}

/** A flag set, a name or a number (`O_RDONLY|O_CLOEXEC`, `NULL`, `0x7f00`, `8192`) at `p`: at least one character. */
function readWord(s: string, p: number): number {
  if (p < 0) return -1;
  const a = p;
  for (; p < s.length; p++) {
    const c = s.charCodeAt(p);
    if (!isIdent(c) && c !== Ch.Pipe) break;
  }
  return p > a && (p === s.length || s.charCodeAt(p) === Ch.Comma) ? p : -1;
}

/** openat(DIRFD, "path", FLAGS[, MODE]) with a decorated return: the path is stepped over (the return names the file). */
function openat(e: SyscallEvent, decor: string | null, fd: number): FdOp | null {
  if (decor === null) return null;
  const s = e.args;
  let p: number;
  if (s.startsWith('AT_FDCWD')) {
    p = 8;
    if (s.charCodeAt(p) === Ch.Lt) {
      if (s.charCodeAt(p + 1) === Ch.Lt) return null;
      p = skipDecoration(s, p);
    }
  } else {
    p = readFd(s, 0);
  }
  p = comma(s, p);
  if (p < 0 || s.charCodeAt(p) !== Ch.Quote) return null;
  p = skipString(s, p, s.length);
  if (s.startsWith('...', p)) p += 3;
  p = comma(s, p);
  if (p < 0) return null;
  const f = p;
  p = readWord(s, p);
  if (p < 0) return null;
  const flags = s.slice(f, p);
  if (p < s.length && readWord(s, comma(s, p)) !== s.length) return null;
  const target = parseDecor(decor);
  if (flags.includes('O_DIRECTORY') && target.kind === 'file') target.kind = 'dir';
  return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'open', fd, target, cloexec: flags.includes('CLOEXEC'), socket: false };
}

/** mmap(ADDR, LENGTH, PROT, FLAGS, FD, OFFSET), LENGTH in decimal. */
function mmap(e: SyscallEvent, ctx: DecodeContext, retText: string): FdOp | null {
  const s = e.args;
  let p = comma(s, readWord(s, 0));
  if (p < 0) return null;
  const l = p;
  p = readWord(s, p);
  // decimal, no leading zero (the general path would read octal), exact in a double
  if (p < 0 || p - l > 15 || (s.charCodeAt(l) === Ch.D0 && p - l > 1)) return null;
  for (let i = l; i < p; i++) if (s.charCodeAt(i) > Ch.D9) return null;
  const pr = comma(s, p);
  p = readWord(s, pr);
  const fl = comma(s, p);
  p = readWord(s, fl);
  if (p < 0) return null;
  const flagsEnd = p;
  p = readFd(s, comma(s, p));
  const off = comma(s, p);
  if (readWord(s, off) !== s.length) return null;
  const shared = s.includes('MAP_SHARED');
  if (!shared && !ctx.privateMapsMatter(e.tid, e.ts)) return taskOp(e);
  const fd = fdRefRead(s);
  if (fd === null) return taskOp(e);
  if (s.slice(fl, flagsEnd).includes('MAP_ANONYMOUS')) return taskOp(e);
  let start: bigint;
  try { start = BigInt(retText); } catch { return taskOp(e); }
  const prot = s.slice(pr, fl - 2);
  const perms = (prot.includes('PROT_READ') ? 'r' : '-') + (prot.includes('PROT_WRITE') ? 'w' : '-') +
    (prot.includes('PROT_EXEC') ? 'x' : '-') + (shared ? 's' : 'p');
  let offset = 0n;
  try { offset = BigInt(s.slice(off)); } catch { offset = 0n; }
  // page-rounded, as /proc/PID/maps shows it
  const length = (BigInt(parseInt(s.slice(l, pr - 2), 10)) + PAGE_SIZE - 1n) & ~(PAGE_SIZE - 1n);
  return { op: 'map', tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, fd, start, length, perms, shared, offset };
}

/** fcntl(FD, CMD[, ARG]): only F_DUPFD*, F_SETFD and F_GETFD change or tell an fd table. */
function fcntl(e: SyscallEvent, ret: number, retText: string): FdOp | null {
  const s = e.args;
  const c = comma(s, readFd(s, 0));
  if (c < 0) return null;
  const p = readWord(s, c);
  if (p < 0) return null;
  const dupfd = s.startsWith('F_DUPFD', c);
  const set = s.startsWith('F_SETFD', c);
  // most commands (F_GETFL, F_SETLK, F_ADD_SEALS...) change no fd table: their argument is never read
  if (!dupfd && !set && !s.startsWith('F_GETFD', c)) return taskOp(e);
  const a = p === s.length ? -1 : comma(s, p);
  if (a >= 0 ? readWord(s, a) !== s.length : p !== s.length) return null;
  if (dupfd) {
    const from = fdRefRead(s);
    return from ? { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'dup', from, fd: ret, cloexec: s.startsWith('F_DUPFD_CLOEXEC', c) } : taskOp(e);
  }
  const fd = fdRefRead(s);
  if (!fd) return taskOp(e);
  let cloexec: boolean;
  if (set) {
    const arg = a < 0 ? '' : s.slice(a);
    cloexec = arg.includes('FD_CLOEXEC') || parseNumber(arg) === FD_CLOEXEC;
  } else {
    cloexec = retText.includes('FD_CLOEXEC') || ret === FD_CLOEXEC;
  }
  return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'set-cloexec', fd, set, cloexec };
}

/** dup(FD), dup2(FD, NEWFD), dup3(FD, NEWFD, FLAGS) */
function dup(e: SyscallEvent, ret: number): FdOp | null {
  const s = e.args;
  let p = readFd(s, 0);
  if (p < 0) return null;
  const from = fdRefRead(s);
  let cloexec = false;
  if (e.name !== 'dup') {
    p = readFd(s, comma(s, p));
    if (e.name === 'dup3') {
      const f = comma(s, p);
      p = readWord(s, f);
      if (p < 0) return null;
      cloexec = s.slice(f, p).includes('CLOEXEC');
    }
  }
  if (p !== s.length) return null;
  return from ? { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'dup', from, fd: ret, cloexec } : taskOp(e);
}

/**
 * msghdr(): the value of its first top-level msg_control field, s[controlA, controlB) (controlA < 0: none), and the
 * bounds of its msg_flags field's value (flagsA < 0: none)
 */
let controlA = -1;
let controlB = -1;
let flagsA = -1;
let flagsB = -1;
/** message(): the call's socket, and where its FLAGS argument starts */
let messageSocket: FdRef | null = null;
let messageFlags = -1;

/**
 * `FD, {msghdr}, FLAGS`, sendmsg's and recvmsg's arguments: the message, with no control data (msg_control is
 * printed only when there is some) or with SCM_RIGHTS control messages alone (controlRights); its socket and FLAGS
 * in messageSocket and messageFlags. Null for anything else in msg_control (other control messages, strace's `...`,
 * raw numbers), which is the general path's.
 */
function message(s: string): ScmMessage | null {
  const h = comma(s, readFd(s, 0));
  if (h < 0 || s.charCodeAt(h) !== Ch.LBrace) return null;
  messageSocket = fdRefRead(s);
  messageFlags = comma(s, msghdr(s, h));
  if (readWord(s, messageFlags) !== s.length) return null;
  const out: ScmMessage = { fds: [], hidden: false, ctrunc: false };
  return controlA >= 0 && !controlRights(s, controlA, controlB, out.fds) ? null : out;
}

/** recvmsg(FD, {msghdr}, FLAGS): a receive of the fds message() read. */
function recvmsg(e: SyscallEvent): FdOp | null {
  const s = e.args;
  const out = message(s);
  if (out === null) return null;
  const flags = s.slice(messageFlags);
  out.ctrunc = hasFlag(flagsA < 0 ? '' : s.slice(flagsA, flagsB), 'MSG_CTRUNC', MSG_CTRUNC);
  return {
    tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'receive', socket: messageSocket, messages: [out],
    cloexec: hasFlag(flags, 'MSG_CMSG_CLOEXEC', MSG_CMSG_CLOEXEC), peek: hasFlag(flags, 'MSG_PEEK', MSG_PEEK),
  };
}

/**
 * sendmsg(FD, {msghdr}, FLAGS), whole or (`entry`) its entry half, which strace prints with the msghdr: a send of
 * the fds message() read.
 */
export function sendmsg(e: { tid: number; ts: number | null; line: number; name: string; args: string; comm?: string | null }, entry: boolean): FdOp | null {
  const out = message(e.args);
  if (out === null) return null;
  return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: entry ? null : e.comm ?? null, op: 'send', socket: messageSocket, messages: [out], entry };
}

const CMSG_RIGHTS = 'cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[';

/**
 * msg_control's value s[a, b): `[{cmsg_len=N, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[FD, ...]}, ...]`,
 * each FD as readFd takes it; its fds go into `fds`. False for any other shape (nothing is then kept of it).
 */
function controlRights(s: string, a: number, b: number, fds: FdRef[]): boolean {
  if (s.charCodeAt(a) !== Ch.LBracket || s.charCodeAt(b - 1) !== Ch.RBracket) return false;
  let p = a + 1;
  for (;;) {
    if (!s.startsWith('{cmsg_len=', p)) return false;
    const l = p + 10;
    readUint(s, l, b);
    p = readEnd;
    if (p === l || s.charCodeAt(p) !== Ch.Comma || s.charCodeAt(p + 1) !== Ch.Space || !s.startsWith(CMSG_RIGHTS, p + 2)) return false;
    p += 2 + CMSG_RIGHTS.length;
    for (;;) {
      p = readFd(s, p, Ch.RBracket);
      if (p < 0 || fdNum < 0) return false;
      fds.push(fdRefRead(s)!);
      if (s.charCodeAt(p) === Ch.RBracket) break;
      p = comma(s, p);
      if (p < 0) return false;
    }
    if (s.charCodeAt(p + 1) !== Ch.RBrace) return false;
    p += 2;
    if (p === b - 1) return true;
    p = comma(s, p);
    if (p < 0) return false;
  }
}

/**
 * A struct msghdr at `p` (its `{`): `name=value` fields, each value stepped over (strings, decorations, brackets).
 * Returns the index after its `}`, or -1 (an unnamed field, an in/out value, a comment: the general path's).
 */
function msghdr(s: string, p: number): number {
  controlA = -1;
  flagsA = -1;
  p++;
  for (;;) {
    const a = p;
    while (p < s.length && isIdent(s.charCodeAt(p))) p++;
    if (p === a || s.charCodeAt(p) !== Ch.Eq) return -1;
    const name = p - a;
    const v = ++p;
    if (s.charCodeAt(v) === Ch.Eq) return -1;
    p = valueEnd(s, p);
    if (p < 0) return -1;
    if (name === 11 && s.startsWith('msg_control', a)) {
      // the first one, as the general path's field() takes it
      if (controlA < 0) { controlA = v; controlB = p; }
    }
    else if (name === 9 && flagsA < 0 && s.startsWith('msg_flags', a)) {
      // a flag set or a number, as the general path's text of it
      if (readWord(s.slice(0, p), v) !== p) return -1;
      flagsA = v;
      flagsB = p;
    }
    if (s.charCodeAt(p) === Ch.RBrace) return p + 1;
    p = comma(s, p);
    if (p < 0) return -1;
  }
}

/** `,` or `}` at `p`: a field ends there. */
function fieldEnd(s: string, p: number): number {
  const c = s.charCodeAt(p);
  return c === Ch.Comma || c === Ch.RBrace ? p : -1;
}

/**
 * One field's value from `p`: the index of the `,` or `}` that ends it, or -1. A value that is a string, an array or
 * a struct ends with it (the general parser would read what follows as another field).
 */
function valueEnd(s: string, p: number): number {
  let depth = 0;
  const start = p;
  while (p < s.length) {
    const c = s.charCodeAt(p);
    if (c === Ch.Quote) {
      // a string value (`"..."`, abstract `@"..."`) rather than a quote inside a scalar
      const whole = p === start || (p === start + 1 && s.charCodeAt(start) === Ch.At);
      p = skipString(s, p, s.length);
      if (whole) {
        if (s.startsWith('...', p)) p += 3;
        return fieldEnd(s, p);
      }
      continue;
    }
    if (c === Ch.Lt) {
      // a decoration after an fd number; `<<` (a shift) and a `<` elsewhere are the general path's
      const b = s.charCodeAt(p - 1);
      if (p === start || b < Ch.D0 || b > Ch.D9 || s.charCodeAt(p + 1) === Ch.Lt) return -1;
      const q = skipDecoration(s, p);
      if (q < 0) return -1;
      p = q;
      continue;
    }
    if (c === Ch.LBracket || c === Ch.LBrace || c === Ch.LParen) depth++;
    else if (c === Ch.RBracket || c === Ch.RBrace || c === Ch.RParen) {
      if (depth === 0) return c === Ch.RBrace && p > start ? p : -1;
      // the closer of the array or struct the value is (any closer closes any opener, as in the general parser)
      if (--depth === 0 && (s.charCodeAt(start) === Ch.LBracket || s.charCodeAt(start) === Ch.LBrace)) return fieldEnd(s, p + 1);
    } else if (depth === 0 && c === Ch.Comma) return p > start ? p : -1;
    else if (c === Ch.Slash && s.charCodeAt(p + 1) === Ch.Star) return -1;
    else if (c === Ch.Eq && s.charCodeAt(p + 1) === Ch.Gt) return -1;
    p++;
  }
  return -1;
}
