// strace's events -> FdOps: what each call did to kernel state, driven by the syscall table
// (src/model/syscalls.ts: argument positions, flag arguments, what the return means), with one decoder per
// kernel struct (msghdr, mmsghdr, sockaddr_un). The only place that reads strace argument text.
import { Ch } from '../model/chars.js';
import type { EntryEvent, TraceEvent, SyscallEvent } from '../model/events.js';
import { plainTarget, type CloneFlags, type FdOp, type FdRef, type FdTarget, type ScmMessage } from '../model/fdop.js';
import {
  CLONE_FILES, CLONE_PARENT, CLONE_THREAD, FD_CLOEXEC, MSG_CMSG_CLOEXEC, MSG_CTRUNC, MSG_PEEK, PAGE_SIZE, SCM_RIGHTS, SOL_SOCKET,
  UID_UNCHANGED, hasFlag,
} from '../model/kernel.js';
import { SYSCALLS, type SyscallSpec } from '../model/syscalls.js';
import { parseDecor } from './decor.js';
import { CloseRef, hotDecode, sendmsg, taskOp, type DecodeContext } from './hot.js';
import { after, field, fdOf, leadingFd, numOf, parseArg, parseArgs, textOf, type ArgAt, type Value } from './values.js';

export type { DecodeContext } from './hot.js';

const ALL_MAPS: DecodeContext = { privateMapsMatter: () => true };

/** One trace event -> the ops it stands for (most often exactly one). */
export function decode(e: TraceEvent, ctx: DecodeContext = ALL_MAPS): FdOp | null {
  switch (e.type) {
    // the commonest calls are read in place (hot.ts); the rest, and shapes it does not take, here
    case 'syscall': return (e.cut === true ? null : hotDecode(e, ctx)) ?? decodeSyscall(e, ctx);
    case 'entry': {
      const spec = SYSCALLS.get(e.name);
      switch (spec?.family) {
        case 'clone': return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: null, op: 'clone-entry', flags: cloneFlags(e.name, e.args) };
        // the msghdr is printed at entry: the message is on its way from here (its commonest shapes read in place)
        case 'sendmsg': return sendmsg(e, true) ?? sendEntry(e, spec);
        case 'sendmmsg': return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: null, op: 'send-begin', socket: fdRef(parseArg(e.args, spec.fdArg!)) };
        default: return null;
      }
    }
    case 'exit': return { op: 'exit', tid: e.tid, ts: e.ts, line: e.line, syscall: 'exit', comm: null, code: e.code, signal: e.signal };
    case 'superseded': return { op: 'superseded', tid: e.tid, ts: e.ts, line: e.line, syscall: 'execve', comm: null, by: e.by };
    case 'attached': return { op: 'attached', tid: e.tid, ts: e.ts, line: e.line, syscall: 'attach', comm: null };
    case 'detached': return { op: 'detached', tid: e.tid, ts: e.ts, line: e.line, syscall: 'detach', comm: null };
    case 'signal': return null;
  }
}

/** A sendmsg entry half, the general path (exported for the fast paths' tests). */
export function sendEntry(e: EntryEvent, spec: SyscallSpec): FdOp {
  const args = parseArgs(e.args);
  return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: null, op: 'send', socket: fdRef(args[spec.fdArg!]), messages: [scmRights(args[spec.msgArg!], false)], entry: true };
}

/** An fd argument and its -y/-yy decoration. */
export function fdRef(v: Value | undefined): FdRef | null {
  const a = fdOf(after(v));
  if (a === null || a.fd < 0) return null;
  return { fd: a.fd, target: a.decor !== null ? parseDecor(a.decor, a.suffix) : null };
}

/** The general path: every call of the syscall table, whatever its shape (exported for the fast paths' tests). */
export function decodeSyscall(e: SyscallEvent, ctx: DecodeContext): FdOp {
  const spec = SYSCALLS.get(e.name);
  if (!spec) return taskOp(e);
  if (spec.family === 'uid') return uid(e, spec) ?? taskOp(e);
  if (spec.family === 'clone' && (e.cut || e.ret.errno !== null || e.ret.value === null || e.ret.value <= 0)) {
    return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'clone', child: null, flags: cloneFlags(e.name, e.args) };
  }
  const ok = e.ret.errno === null && e.ret.value !== null && e.ret.value >= 0;
  if ((spec.family === 'sendmsg' || spec.family === 'sendmmsg') && (e.cut || !ok)) return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'send-failed' };
  if (e.cut) return taskOp(e);
  // a failed call changes no table (but close/EINTR does: Linux always releases the fd)
  if (!ok && !(spec.family === 'close' && e.ret.errno === 'EINTR')) {
    if (spec.family === 'execve' || spec.family === 'exit') return taskOp(e);
    if (e.ret.errno !== null || e.ret.value === null) return taskOp(e);
  }
  const ret = e.ret.value!;
  switch (spec.family) {
    case 'close': {
      // the commonest call: one argument, read without the parser
      const fd = leadingFd(e.args);
      if (fd === null) return taskOp(e);
      // its decoration is read only if the fd table does not know the fd already
      return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'close', fd: new CloseRef(fd, e.args) };
    }
    case 'open': case 'accept': {
      // a new fd needs one or two of the arguments: parse only those
      const arg: ArgAt = (i) => parseArg(e.args, i);
      if (spec.newIfMinusOne !== undefined && numOf(arg(spec.newIfMinusOne)) !== -1) return taskOp(e);
      const target = targetFor(e, spec, arg);
      if (spec.pidArg !== undefined) target.pid = numOf(arg(spec.pidArg));
      const flags = flagsText(spec, arg);
      if (flags.includes('O_DIRECTORY') && target.kind === 'file') target.kind = 'dir';
      const cloexec = spec.alwaysCloexec === true || flags.includes('CLOEXEC');
      if (spec.family === 'accept') return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'accept', fd: ret, target, cloexec, listener: fdRef(arg(spec.fdArg ?? 0)) };
      return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'open', fd: ret, target, cloexec, socket: spec.kind === 'socket' };
    }
    case 'mmap': {
      const shared = e.args.includes('MAP_SHARED');
      if (!shared && !ctx.privateMapsMatter(e.tid, e.ts)) return taskOp(e);
      return mmap(e, spec, parseArgs(e.args), shared) ?? taskOp(e);
    }
    case 'clone': return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'clone', child: ret, flags: cloneFlags(e.name, e.args) };
    case 'execve': {
      // the path alone (execve's first argument: argv and the environment are never read)
      if (e.ret.value !== 0) return taskOp(e);
      const path = textOf(spec.pathArg === 0 ? parseArg(e.args, 0) : parseArgs(e.args)[spec.pathArg ?? 0]);
      return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'exec', path };
    }
    case 'fcntl': {
      // most commands (F_GETFL, F_SETLK, F_ADD_SEALS...) change no fd table: the command is read first, alone
      const cmd = textOf(parseArg(e.args, spec.cmdArg!));
      if (!cmd.startsWith('F_DUPFD') && !cmd.startsWith('F_SETFD') && !cmd.startsWith('F_GETFD')) return taskOp(e);
      break;
    }
    case 'pair': case 'dup': case 'close_range': case 'sendmsg': case 'sendmmsg': case 'recvmsg': case 'recvmmsg':
    case 'pidfd_getfd': case 'connect': case 'bind':
      break;
    // munmap, exit...: nothing of their arguments is read
    default: return taskOp(e);
  }
  const args = parseArgs(e.args);
  const arg: ArgAt = (i) => args[i];
  switch (spec.family) {
    case 'pair': {
      const arr = after(args[spec.pairArg!]);
      if (!arr || arr.t !== 'arr' || arr.items.length < 2) return taskOp(e);
      const cloexec = flagsText(spec, arg).includes('CLOEXEC');
      const ends: Array<FdRef & { target: FdTarget }> = [];
      for (const item of arr.items.slice(0, 2)) {
        const a = fdOf(item);
        if (!a) return taskOp(e);
        ends.push({ fd: a.fd, target: a.decor !== null ? parseDecor(a.decor, a.suffix) : plainTarget(spec.target ?? '?', spec.kind ?? 'unknown') });
      }
      return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'pair', fds: [ends[0]!, ends[1]!], cloexec };
    }
    case 'dup': {
      const from = fdRef(args[spec.fdArg ?? 0]);
      return from ? { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'dup', from, fd: ret, cloexec: flagsText(spec, arg).includes('CLOEXEC') } : taskOp(e);
    }
    case 'fcntl': return fcntl(e, spec, args) ?? taskOp(e);
    case 'close_range': {
      const lastText = textOf(args[1]);
      const flags = textOf(args[spec.flagsArg!]);
      return {
        tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'close_range', first: numOf(args[0]) ?? 0,
        last: lastText.startsWith('~') || lastText === '-1' ? Infinity : (numOf(args[1]) ?? Infinity),
        cloexec: flags.includes('CLOSE_RANGE_CLOEXEC'), unshare: flags.includes('CLOSE_RANGE_UNSHARE'),
      };
    }
    case 'sendmsg': case 'sendmmsg': case 'recvmsg': case 'recvmmsg': {
      const hdr = args[spec.msgArg!];
      const headers = spec.vector ? mmsgHeaders(hdr, ret) : [hdr];
      const socket = fdRef(args[spec.fdArg ?? 0]);
      if (spec.family === 'sendmsg' || spec.family === 'sendmmsg') {
        return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'send', socket, messages: headers.map((h) => scmRights(h, false)), entry: false };
      }
      const flags = flagsText(spec, arg);
      return {
        tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'receive', socket, messages: headers.map((h) => scmRights(h, true)),
        cloexec: hasFlag(flags, 'MSG_CMSG_CLOEXEC', MSG_CMSG_CLOEXEC), peek: hasFlag(flags, 'MSG_PEEK', MSG_PEEK),
      };
    }
    case 'pidfd_getfd': {
      return {
        tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'take', pidfd: fdRef(args[spec.fdArg ?? 0]), targetFd: numOf(args[spec.targetFdArg!]), fd: ret,
        target: e.ret.decor !== null ? parseDecor(e.ret.decor) : null,
      };
    }
    case 'connect':
      if (e.ret.value !== 0 && e.ret.errno !== 'EINPROGRESS') return taskOp(e);
      return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'connect', socket: fdRef(args[spec.fdArg ?? 0]), path: sunPath(args[spec.addrArg!]) };
    case 'bind': return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'bind', socket: fdRef(args[spec.fdArg ?? 0]), path: sunPath(args[spec.addrArg!]) };
    default: return taskOp(e);
  }
}

function targetFor(e: SyscallEvent, spec: SyscallSpec, arg: ArgAt): FdTarget {
  if (e.ret.decor !== null) return parseDecor(e.ret.decor);
  let target = spec.target ?? '';
  if (spec.pathArg !== undefined) {
    const path = textOf(arg(spec.pathArg));
    target = target ? target.replace('%s', path) : path;
  }
  if (!target) target = `${e.name}:?`;
  return plainTarget(target, spec.kind ?? 'unknown');
}

function flagsText(spec: SyscallSpec, arg: ArgAt): string {
  if (spec.flagsArg === undefined) return '';
  const v = arg(spec.flagsArg);
  return spec.flagsField ? textOf(field(v, spec.flagsField)) : textOf(v);
}

function uid(e: SyscallEvent, spec: SyscallSpec): FdOp | null {
  if (e.ret.errno !== null || e.ret.value === null || e.ret.value < 0) return null;
  // getuid/geteuid return it; the set*uid calls name it in an argument
  if (spec.uidArg === undefined) return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'uid', uid: e.ret.value, effective: e.name === 'geteuid', set: false };
  const n = numOf(parseArgs(e.args)[spec.uidArg]);
  if (n === null || n < 0 || n === UID_UNCHANGED) return null;
  return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'uid', uid: n, effective: true, set: true };
}

function fcntl(e: SyscallEvent, spec: SyscallSpec, args: Value[]): FdOp | null {
  const c = spec.cmdArg!;
  const cmd = textOf(args[c]);
  const fd = fdRef(args[spec.fdArg!]);
  if (!fd) return null;
  if (cmd.startsWith('F_DUPFD')) return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'dup', from: fd, fd: e.ret.value!, cloexec: cmd.startsWith('F_DUPFD_CLOEXEC') };
  if (cmd.startsWith('F_SETFD')) {
    return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'set-cloexec', fd, set: true, cloexec: textOf(args[c + 1]).includes('FD_CLOEXEC') || numOf(args[c + 1]) === FD_CLOEXEC };
  }
  if (cmd.startsWith('F_GETFD')) {
    return { tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, op: 'set-cloexec', fd, set: false, cloexec: e.ret.text.includes('FD_CLOEXEC') || e.ret.value === FD_CLOEXEC };
  }
  return null;
}

function mmap(e: SyscallEvent, spec: SyscallSpec, args: Value[], shared: boolean): FdOp | null {
  const fd = fdRef(args[spec.fdArg!]);
  if (!fd) return null;
  if (textOf(args[spec.flagsArg!]).includes('MAP_ANONYMOUS')) return null;
  let start: bigint;
  try { start = BigInt(e.ret.text); } catch { return null; }
  // `= -1` or `= -1 (errno N)`: a failure strace could not name is no mapping either
  if (start < 0n) return null;
  const prot = textOf(args[spec.protArg!]);
  const perms = (prot.includes('PROT_READ') ? 'r' : '-') + (prot.includes('PROT_WRITE') ? 'w' : '-') +
    (prot.includes('PROT_EXEC') ? 'x' : '-') + (shared ? 's' : 'p');
  let offset = 0n;
  try { offset = BigInt(textOf(args[spec.offsetArg!]).split(' ')[0] || '0'); } catch { offset = 0n; }
  // page-rounded, as /proc/PID/maps shows it
  const length = (BigInt(numOf(args[spec.lengthArg!]) ?? 0) + PAGE_SIZE - 1n) & ~(PAGE_SIZE - 1n);
  return { op: 'map', tid: e.tid, ts: e.ts, line: e.line, syscall: e.name, comm: e.comm, fd, start, length, perms, shared, offset };
}

/** clone's flags= (clone3: the struct's flags field); fork and vfork share nothing but what fork shares. */
function cloneFlags(name: string, args: string): CloneFlags {
  if (name === 'fork' || name === 'vfork') return { thread: false, files: false, parent: false };
  const i = args.indexOf('flags=');
  let text = '';
  if (i >= 0) {
    let j = i + 6;
    while (j < args.length && args.charCodeAt(j) !== Ch.Comma && args.charCodeAt(j) !== Ch.RBrace) j++;
    text = args.slice(i + 6, j);
  }
  return {
    thread: hasFlag(text, 'CLONE_THREAD', CLONE_THREAD),
    files: hasFlag(text, 'CLONE_FILES', CLONE_FILES),
    parent: hasFlag(text, 'CLONE_PARENT', CLONE_PARENT),
  };
}

/** struct sockaddr_un's sun_path (`@name` for the abstract namespace). */
function sunPath(v: Value | undefined): string | null {
  const s = field(v, 'sun_path');
  if (!s || s.t !== 'str') return null;
  return (s.abstract ? '@' : '') + s.s;
}

/** struct mmsghdr[]: the msg_hdr of each of the first `n` messages (the call's return). */
function mmsgHeaders(v: Value | undefined, n: number): Array<Value | undefined> {
  const arr = after(v);
  if (!arr || arr.t !== 'arr') return [];
  return arr.items.slice(0, Math.max(0, n)).map((m) => field(m, 'msg_hdr'));
}

/**
 * struct msghdr: the fds of its SCM_RIGHTS control messages, or 'opaque' when strace did not decode it.
 * `hidden`: strace left some out (it prints at most -s elements of an array, then `...`).
 */
export function scmRights(h: Value | undefined, receive: boolean): ScmMessage | 'opaque' {
  const hdr = after(h);
  if (!hdr || hdr.t !== 'struct') return 'opaque';
  const out: ScmMessage = { fds: [], hidden: false, ctrunc: false };
  if (receive) out.ctrunc = hasFlag(textOf(field(hdr, 'msg_flags')), 'MSG_CTRUNC', MSG_CTRUNC);
  const ctl = after(field(hdr, 'msg_control'));
  if (!ctl) return out;
  if (ctl.t !== 'arr') {
    // an undecoded buffer address holds control data only when msg_controllen says so
    if (ctl.t !== 'sym' || ctl.text === 'NULL' || numOf(field(hdr, 'msg_controllen')) === 0) return out;
    return 'opaque';
  }
  for (const c of ctl.items) {
    if (elided(c)) { out.hidden = true; continue; }
    // -X raw prints the numbers
    const rights = textOf(field(c, 'cmsg_type')).includes('SCM_RIGHTS') ||
      (numOf(field(c, 'cmsg_level')) === SOL_SOCKET && numOf(field(c, 'cmsg_type')) === SCM_RIGHTS);
    if (!rights) continue;
    const data = after(field(c, 'cmsg_data'));
    if (!data || data.t !== 'arr') { out.hidden = true; continue; }
    for (const it of data.items) {
      if (elided(it)) { out.hidden = true; continue; }
      const a = fdOf(it);
      // a receive reports every installed fd; a send only those it can name
      if (a) out.fds.push({ fd: a.fd, target: a.decor !== null ? parseDecor(a.decor, a.suffix) : null });
    }
  }
  return out.fds.length === 0 && out.hidden ? 'opaque' : out;
}

/** strace's `...` for array elements past its -s limit */
function elided(v: Value): boolean {
  return v.t === 'sym' && v.text === '...';
}
