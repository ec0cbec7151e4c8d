// The native engine's SCM_RIGHTS probes: the exits of sendmsg, recvmsg, sendmmsg, recvmmsg and pidfd_getfd, with
// the text program's semantics (../program.ts: probesFor's cases, messageWalk) in ./format.ts's records. Pure:
// the kernel's offsets and the map fds come in (KernelCtx), instructions go out. Their entries are stashed by
// ./program.ts's entry probe (map `stash`, STASH layout, the entry's filter): an exit finds its call's arguments there.
//
// Per call: the message's cmsg headers (up to CMSG_MAX) are read from user memory; for each SCM_RIGHTS cmsg, a
// bpf_loop over its fds (253 iterations verify as one) writes an H record per sent fd (lean: the sender's table
// names it) or, for a received fd, a G record in full (the first MSG_WALKED, their names walked) or H; an SCM_RIGHTS
// cmsg without fds is an M record, and so is a receive's MSG_CTRUNC without rights. Only a call that carried
// rights (or MSG_CTRUNC) writes anything more: the socket (an F record of role 's', or the E record's DESC for the
// mmsg pair), then the E record. A send's records carry its entry time (its receive may return before it does).
//
// Records whose DESC comes with D/U/I records of its own are described into the stack first and copied into the
// record once those are written: ring order is reservation order, and the text protocol's order (a name, an
// address, then what uses it) is kept.
import { Asm, HELPER, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, type Reg } from '../asm.js';
import { DEFAULT_MMSG, MMSG_FD_MAX, X64_SYSCALL_NR } from '../program.js';
import { SYSCALLS, type SyscallSpec } from '../../model/syscalls.js';
import { DESC, KIND, REC_E, REC_F, REC_G, REC_M } from './format.js';
import {
  DESCRIBE, DESCRIBE_FN, STACK, STASH, emitCopy, emitDescribeFn, emitFilter, emitNotCompat, emitReserve, emitReturn, emitSubmit, emitSyscallRet, type KernelCtx, type Probe,
} from './kernel.js';

/** most fds one SCM_RIGHTS message carries (include/net/scm.h), as ../program.ts */
export const SCM_MAX_FD = 253;
/** cmsg headers walked per message (SCM_CREDENTIALS may come before SCM_RIGHTS) */
export const CMSG_MAX = 2;
/** received fds (per cmsg) described in full, their dentries walked this deep: the sender may be untraced */
export const MSG_WALKED = 4;
export const MSG_DEPTH = 8;
/** fds of each message of a recvmmsg described in full (no walk); the rest are lean */
export const MMSG_DESCRIBED = 4;

/** struct user_msghdr (include/linux/socket.h): msg_control, msg_controllen, msg_flags, read as 24 bytes */
const MSGHDR_CONTROL = 32;
/** struct mmsghdr: a user_msghdr and msg_len, padded */
const MMSGHDR_SIZE = 64;
/** struct cmsghdr: cmsg_len (size_t), cmsg_level, cmsg_type; then the data */
const CMSG_HDR = 16;
const SOL_SOCKET = 1, SCM_RIGHTS = 1;
const MSG_CTRUNC = 8;
const BPF_ANY = 0;
const ROLE = { s: 0x73, p: 0x70, r: 0x72 } as const;

/**
 * The walk's state (on the main program's stack; bpf_loop's callbacks reach it by pointer). Once the walk is done,
 * its first 72 bytes are the DESC buffer of the socket (or of pidfd_getfd's fd), and the walk-only words after
 * them the map keys and ids of the records that follow.
 */
const W = {
  ns: 0, hdr: 8, msg: 16, any: 24, ctl: 32, cl: 40, off: 48, ct: 56, rights: 64, fdBase: 72, n: 80, clen: 88,
  /** the mmsg pair: the vector's address */
  base: 96,
  /** probe reads land here: the msghdr's 24 bytes, then each cmsghdr's 16 */
  scratch: 104,
  /** kept from the stash for the records after the walk: the socket (pidfd_getfd: the pidfd), the flags (targetfd) */
  fd: 128, flags: 136,
  size: 144,
} as const;

/** Main program stack slots: the walk's state right below the emitters' (STACK.free is its last word). */
const WALK = STACK.free + 8 - W.size;
const S = {
  walk: WALK, fd: WALK + W.fd, flags: WALK + W.flags, arg2: WALK + W.flags,
  rxKey: WALK + W.fdBase, rxVal: WALK + W.n, euid: WALK + W.clen, tgid: WALK + W.base,
} as const;
/** fd callback's slots: the fd read from the cmsg, and the DESC buffer of a G record */
const CB = { read: -32, fd: -40, desc: -40 - DESC.size } as const;

type Family = 'sendmsg' | 'recvmsg' | 'sendmmsg' | 'recvmmsg' | 'pidfd_getfd';
/** the verifier's heaviest first (recvmmsg ~9.6k steps, recvmsg ~4.9k, sendmmsg ~4.1k, sendmsg ~1.7k): loaded in this order */
export const MESSAGE_CALLS: readonly Family[] = ['recvmmsg', 'recvmsg', 'sendmmsg', 'sendmsg', 'pidfd_getfd'];

export function messageProbes(k: KernelCtx): Probe[] {
  return MESSAGE_CALLS.map((name) => messageProbe(k, name));
}

/** The exit probe of one message call. */
export function messageProbe(k: KernelCtx, name: Family): Probe {
  const spec = SYSCALLS.get(name);
  const nr = X64_SYSCALL_NR[name];
  if (spec === undefined || nr === undefined) throw new Error(`messages: ${name} is not in the syscall tables`);
  const a = new Asm();
  if (name === 'pidfd_getfd') pidfdGetfd(a, k, spec, nr);
  else messageCall(a, k, spec, nr, name === 'recvmsg' || name === 'recvmmsg', spec.vector === true);
  return { name: `fdw_${name}`, tracepoints: [`syscalls/sys_exit_${name}`], insns: a.assemble() };
}

function arg(spec: SyscallSpec, key: 'fdArg' | 'msgArg' | 'targetFdArg'): number {
  const i = spec[key];
  if (i === undefined) throw new Error(`messages: no ${key}`);
  return i;
}

/**
 * The exit's prologue: r6 = the return value; this thread's stash entry, if it is this call's, is copied from by
 * `copy` (r0 points at it) and marked used (nr -1: ./program.ts's exits do the same; the thread's exit deletes it,
 * a store is cheaper than a delete). With `blocked`, a call without its entry (one that was already waiting when the
 * probes were attached: a worker blocked in recvmsg on its channel) takes its arguments from the task's saved
 * registers (they hold them until the call returns), its time from now, after the follow filter the entry would
 * have applied; without, it jumps to `out`.
 */
function prologue(a: Asm, k: KernelCtx, nr: number, out: string, copy: () => void, blocked = false): void {
  const miss = blocked ? a.fresh('nostash') : out;
  const copied = a.fresh('copied');
  emitSyscallRet(a, k, R6, R1);
  a.call(HELPER.get_current_pid_tgid).zext32(R0).stx(8, R10, STACK.key, R0);
  a.ldMap(R1, k.maps.stash).mov(R2, R10).addi(R2, STACK.key).call(HELPER.map_lookup_elem);
  a.jeqi(R0, 0, miss);
  a.ldx(8, R1, R0, STASH.nr).jnei(R1, nr, miss);
  a.st(8, R0, STASH.nr, -1);
  copy();
  if (!blocked) return;
  a.ja(copied);
  a.label(miss);
  emitFilter(a, k, out);
  // the entry skips an ia32 call (its number is another call's): with no stash, so does this
  emitNotCompat(a, k, out);
  // STACK.key as the lookup above left it (the filter wrote 4 bytes of it): with the two paths' stacks alike the
  // verifier prunes the miss path where it joins, instead of walking the whole program again (recvmmsg: 19.1k
  // steps -> 9.6k, recvmsg 9.0k -> 4.9k)
  a.call(HELPER.get_current_pid_tgid).zext32(R0).stx(8, R10, STACK.key, R0);
  // a stash of its own on the stack, in walk words the copy does not write (W.any up to W.clen)
  const fake = S.walk + W.any;
  a.call(HELPER.get_current_task_btf).mov(R1, R0).call(HELPER.task_pt_regs).mov(R7, R0);
  k.off.regs.args.forEach((off, i) => {
    a.mov(R1, R10).addi(R1, fake + STASH.args + 8 * i).movi(R2, 8).mov(R3, R7).addi(R3, off).call(HELPER.probe_read_kernel);
  });
  a.call(HELPER.ktime_get_ns).stx(8, R10, fake + STASH.ts, R0);
  a.mov(R0, R10).addi(R0, fake);
  copy();
  a.label(copied);
}

/** Stash argument `i` (r0 points at the entry) into r10+slot; `int`: an int argument, sign-extended. */
function stashArg(a: Asm, i: number, slot: number, int = false): void {
  a.ldx(8, R1, R0, STASH.args + 8 * i);
  if (int) a.sext32(R1);
  a.stx(8, R10, slot, R1);
}

/** The E record's tgid and euid (task->cred->euid) into the stack, before the record is reserved. */
function taskIds(a: Asm, k: KernelCtx): void {
  a.call(HELPER.get_current_pid_tgid).rshi(R0, 32).stx(8, R10, S.tgid, R0);
  a.call(HELPER.get_current_task).mov(R3, R0).addi(R3, k.off.task.cred);
  a.mov(R1, R10).addi(R1, S.euid).movi(R2, 8).call(HELPER.probe_read_kernel);
  a.ldx(8, R3, R10, S.euid).addi(R3, k.off.cred.euid);
  a.mov(R1, R10).addi(R1, S.euid).movi(R2, 4).call(HELPER.probe_read_kernel);
}

/** rx[tgid] = 1: this process received an fd (its private file mappings matter; ../program.ts's RECEIVED). */
function markReceived(a: Asm, k: KernelCtx): void {
  a.call(HELPER.get_current_pid_tgid).rshi(R0, 32).stx(8, R10, S.rxKey, R0);
  a.st(8, R10, S.rxVal, 1);
  a.ldMap(R1, k.maps.rx).mov(R2, R10).addi(R2, S.rxKey).mov(R3, R10).addi(R3, S.rxVal).movi(R4, BPF_ANY);
  a.call(HELPER.map_update_elem);
}

/** describe(r1 = the fd `fd` loads, r2 = dst[0] + dst[1] (a stack DESC, or one in a reserved record), flags, ns): r0 = its file */
function callDescribe(a: Asm, fd: () => void, dst: [Reg, number], flags: number, ns: Reg): void {
  fd();
  a.mov(R2, dst[0]).addi(R2, dst[1]).movi(R3, flags).mov(R4, ns).callLocal(DESCRIBE_FN);
}

/** Copies a DESC from the stack into its record. */
function copyDesc(a: Asm, dst: Reg, dOff: number, src: Reg, sOff: number): void {
  emitCopy(a, dst, dOff, src, sOff, DESC.size);
}

/** The E record: header (ns `ns`), tgid, euid, nr, fields from `fields` (each emits r1 = the value), DESC from
 * r10+descSlot or none (the record then ends at REC_E.desc). */
function emitE(a: Asm, k: KernelCtx, nr: number, ns: Reg, fields: Array<() => void>, descSlot: number | null, out: string): void {
  taskIds(a, k);
  // without a DESC the record ends where the DESC would start (REC_E.desc)
  emitReserve(a, k, R8, descSlot === null ? REC_E.desc : REC_E.size, KIND.E, 0, out, ns);
  a.ldx(4, R1, R10, S.tgid).stx(4, R8, REC_E.tgid, R1);
  a.ldx(4, R1, R10, S.euid).stx(4, R8, REC_E.euid, R1);
  a.st(4, R8, REC_E.nr, nr).st(4, R8, REC_E.nfields, fields.length);
  for (let i = 0; i < REC_E.maxFields; i++) {
    const f = fields[i];
    if (f === undefined) a.st(8, R8, REC_E.fields + 8 * i, 0);
    else { f(); a.stx(8, R8, REC_E.fields + 8 * i, R1); }
  }
  a.st(8, R8, REC_E.hasDesc, descSlot === null ? 0 : 1);
  if (descSlot !== null) copyDesc(a, R8, REC_E.desc, R10, descSlot);
  emitSubmit(a, R8);
}

/**
 * An F record of `role` for the fd at r10+fdSlot. `flags` with ADDRESS or WALK write records of their own: the
 * DESC is made in the stack at r10+descSlot, then copied. Nothing when the fd's slot is empty (the text's F line).
 */
function emitF(a: Asm, k: KernelCtx, role: number, fdSlot: number, flags: number, ns: Reg, descSlot: number): void {
  const done = a.fresh('f');
  const fd = (): void => { a.ldx(8, R1, R10, fdSlot); };
  if ((flags & (DESCRIBE.ADDRESS | DESCRIBE.WALK)) === 0) {
    emitReserve(a, k, R8, REC_F.size, KIND.F, role, done, ns);
    callDescribe(a, fd, [R8, REC_F.desc], flags, ns);
    discardUnless(a, R8, done);
  } else {
    callDescribe(a, fd, [R10, descSlot], flags, ns);
    a.jeqi(R0, 0, done);
    emitReserve(a, k, R8, REC_F.size, KIND.F, role, done, ns);
    copyDesc(a, R8, REC_F.desc, R10, descSlot);
    emitSubmit(a, R8);
  }
  a.label(done);
}

/** After describe into a reserved record in `rec`: discard it when r0 (the file) is 0, else submit; then `done`. */
function discardUnless(a: Asm, rec: Reg, done: string): void {
  const keep = a.fresh('keep');
  a.jnei(R0, 0, keep);
  a.mov(R1, rec).movi(R2, 0).call(HELPER.ringbuf_discard).ja(done);
  a.label(keep);
  emitSubmit(a, rec);
}

/** sendmsg, recvmsg, sendmmsg, recvmmsg. */
function messageCall(a: Asm, k: KernelCtx, spec: SyscallSpec, nr: number, receive: boolean, vector: boolean): void {
  const out = 'out';
  const fdCb = 'fd_cb', msgCb = 'msg_cb', cmsgCb = 'cmsg_cb';
  prologue(a, k, nr, out, () => {
    a.ldx(8, R1, R0, STASH.ts).stx(8, R10, S.walk + W.ns, R1);
    stashArg(a, arg(spec, 'fdArg'), S.fd, true);
    stashArg(a, arg(spec, 'msgArg'), S.walk + (vector ? W.base : W.hdr));
    if (spec.flagsArg !== undefined) stashArg(a, spec.flagsArg, S.flags);
    else a.st(8, R10, S.flags, 0);
  }, true);
  // the mmsg pair returns how many messages it moved; the others the bytes (0 is a message of fds alone)
  a.jmpi(vector ? 'jsle' : 'jslt', R6, 0, out);
  // a receive's time: its exit (the mmsg pair's now; a recvmsg's once its message has control data, see walk)
  if (receive && vector) a.call(HELPER.ktime_get_ns).stx(8, R10, S.walk + W.ns, R0);
  a.mov(R9, R10).addi(R9, S.walk);
  a.st(8, R9, W.any, 0).st(8, R9, W.msg, 0);
  if (vector) {
    // up to DEFAULT_MMSG messages, one callback each (the verifier walks it once, not per message)
    a.mov(R1, R6);
    const le = a.fresh('le');
    a.jmpi('jle', R1, DEFAULT_MMSG, le).movi(R1, DEFAULT_MMSG).label(le);
    a.ldFunc(R2, msgCb).mov(R3, R9).movi(R4, 0).call(HELPER.loop);
  } else {
    walk(a, k, receive, false, cmsgCb);
  }
  a.ldx(8, R1, R9, W.any).jeqi(R1, 0, out);
  a.ldx(8, R7, R9, W.ns);
  if (receive) markReceived(a, k);
  // the socket: an F record of role s (sendmsg/recvmsg), or the E record's DESC (the mmsg pair); its addresses
  // as U/I records of role s either way
  const sockFlags = DESCRIBE.ADDRESS | (ROLE.s << 16);
  const descSlot = S.walk;
  if (vector) {
    callDescribe(a, () => { a.ldx(8, R1, R10, S.fd); }, [R10, descSlot], sockFlags, R7);
  } else {
    emitF(a, k, ROLE.s, S.fd, sockFlags, R7, descSlot);
  }
  emitE(a, k, nr, R7, [() => { a.mov(R1, R6); }, () => { a.ldx(8, R1, R10, S.flags); }], vector ? descSlot : null, out);
  emitReturn(a, out);

  if (vector) {
    // msg_cb(index, walk): message `index` of the vector
    a.label(msgCb);
    a.mov(R9, R2);
    a.stx(8, R9, W.msg, R1);
    a.lshi(R1, Math.log2(MMSGHDR_SIZE)).ldx(8, R2, R9, W.base).add(R2, R1).stx(8, R9, W.hdr, R2);
    walk(a, k, receive, true, cmsgCb);
    emitReturn(a);
  }
  cmsgCallback(a, k, cmsgCb, vector, fdCb);
  fdCallback(a, k, fdCb, receive, vector);
  emitDescribeFn(a, k);
}

/**
 * One message's cmsgs (r9 = the walk state with `hdr` and `msg` set, and `ns` but for a recvmsg): its msghdr's
 * control data, then cmsg_cb over up to CMSG_MAX headers; a receive's MSG_CTRUNC without rights is an M record.
 * Sets `any`. Uses r0-r5, r7 and r8.
 */
function walk(a: Asm, k: KernelCtx, receive: boolean, vector: boolean, cmsgCb: string): void {
  const done = a.fresh('wdone');
  a.st(8, R9, W.rights, 0);
  a.mov(R1, R9).addi(R1, W.scratch).movi(R2, 24).ldx(8, R3, R9, W.hdr).addi(R3, MSGHDR_CONTROL);
  a.call(HELPER.probe_read_user);
  a.st(8, R9, W.ct, 0);
  a.jnei(R0, 0, done);
  a.ldx(8, R1, R9, W.scratch).stx(8, R9, W.ctl, R1);
  a.ldx(8, R1, R9, W.scratch + 8).stx(8, R9, W.cl, R1);
  if (receive) a.ldx(4, R1, R9, W.scratch + 16).rshi(R1, 3).andi(R1, MSG_CTRUNC >> 3).stx(8, R9, W.ct, R1);
  a.st(8, R9, W.off, 0);
  // no control data: nothing to walk (the loop is entered in one state only: fewer states for the verifier)
  if (receive && !vector) {
    // most messages carry none: no clock read for them, unless MSG_CTRUNC says some was dropped
    const timed = a.fresh('timed');
    a.ldx(8, R1, R9, W.ctl).jnei(R1, 0, timed).ldx(8, R1, R9, W.ct).jeqi(R1, 0, done);
    a.call(HELPER.ktime_get_ns).stx(8, R9, W.ns, R0).ja(done);
    a.label(timed).call(HELPER.ktime_get_ns).stx(8, R9, W.ns, R0);
  } else {
    a.ldx(8, R1, R9, W.ctl).jeqi(R1, 0, done);
  }
  // one callback for every header: the verifier walks its fd loop once, not once per header (the words the callbacks
  // write are written first, so their loop's states match sooner)
  a.st(8, R9, W.n, 0).st(8, R9, W.clen, 0).st(8, R9, W.fdBase, 0).st(8, R9, W.scratch, 0).st(8, R9, W.scratch + 8, 0);
  a.movi(R1, CMSG_MAX).ldFunc(R2, cmsgCb).mov(R3, R9).movi(R4, 0).call(HELPER.loop);
  a.label(done);
  if (receive) {
    // MSG_CTRUNC and no rights: the fds the kernel dropped leave only this
    const end = a.fresh('wend');
    a.ldx(8, R1, R9, W.ct).jeqi(R1, 0, end);
    a.ldx(8, R1, R9, W.rights).jnei(R1, 0, end);
    a.st(8, R9, W.any, 1);
    a.ldx(8, R7, R9, W.ns);
    emitM(a, k, end, true);
    a.label(end);
  }
}

/**
 * cmsg_cb(i, walk): the cmsg header at walk.off, if there is room for one (CMSG_NXTHDR's rule); an SCM_RIGHTS one is
 * an M record (no fds) or a bpf_loop of fd_cb over its fds. Returns 1 (stop) at the end of the control data.
 */
function cmsgCallback(a: Asm, k: KernelCtx, label: string, vector: boolean, fdCb: string): void {
  const stop = a.fresh('cstop'), next = a.fresh('cnext'), fds = a.fresh('fds'), le = a.fresh('le');
  const fdMax = vector ? MMSG_FD_MAX : SCM_MAX_FD;
  a.label(label);
  a.mov(R9, R2).ldx(8, R7, R9, W.ns);
  a.ldx(8, R3, R9, W.ctl).jeqi(R3, 0, stop);
  a.ldx(8, R1, R9, W.off).mov(R2, R1).addi(R2, CMSG_HDR).ldx(8, R5, R9, W.cl).jmp('jgt', R2, R5, stop);
  a.add(R3, R1).mov(R1, R9).addi(R1, W.scratch).movi(R2, CMSG_HDR).call(HELPER.probe_read_user);
  a.jnei(R0, 0, stop);
  a.ldx(8, R1, R9, W.scratch).stx(8, R9, W.clen, R1);
  a.jmpi('jlt', R1, CMSG_HDR, stop);
  a.ldx(4, R2, R9, W.scratch + 8).jnei(R2, SOL_SOCKET, next);
  a.ldx(4, R2, R9, W.scratch + 12).jnei(R2, SCM_RIGHTS, next);
  a.st(8, R9, W.rights, 1).st(8, R9, W.any, 1);
  a.addi(R1, -CMSG_HDR).rshi(R1, 2).stx(8, R9, W.n, R1);
  a.jnei(R1, 0, fds);
  emitM(a, k, next, false);
  a.ja(next);
  a.label(fds);
  a.ldx(8, R2, R9, W.ctl).ldx(8, R3, R9, W.off).add(R2, R3).addi(R2, CMSG_HDR).stx(8, R9, W.fdBase, R2);
  a.jmpi('jle', R1, fdMax, le).movi(R1, fdMax).label(le);
  a.ldFunc(R2, fdCb).mov(R3, R9).movi(R4, 0).call(HELPER.loop);
  a.label(next);
  // CMSG_NXTHDR: the next header starts CMSG_ALIGN(cmsg_len) further
  a.ldx(8, R1, R9, W.clen).addi(R1, 7).andi(R1, -8).ldx(8, R2, R9, W.off).add(R2, R1).stx(8, R9, W.off, R2);
  emitReturn(a);
  a.label(stop).movi(R0, 1).exit();
}

/** An M record of message `msg` (r9 = the walk state, r7 = ns): nfds `n` and ctrunc `ct` from it, or 0 and 1. */
function emitM(a: Asm, k: KernelCtx, full: string, ctrunc: boolean): void {
  emitReserve(a, k, R8, REC_M.size, KIND.M, 0, full, R7);
  a.ldx(4, R1, R9, W.msg).stx(4, R8, REC_M.msg, R1);
  if (ctrunc) a.st(4, R8, REC_M.nfds, 0).st(4, R8, REC_M.ctrunc, 1);
  else a.ldx(4, R1, R9, W.n).stx(4, R8, REC_M.nfds, R1).ldx(4, R1, R9, W.ct).stx(4, R8, REC_M.ctrunc, R1);
  a.st(4, R8, REC_M.ctrunc + 4, 0);
  emitSubmit(a, R8);
}

/**
 * fd_cb(i, walk): fd `i` of the cmsg at walk.fdBase, as a G record (received, i < the described) or an H record.
 * Returns 1 (stop) when the fds cannot be read.
 */
function fdCallback(a: Asm, k: KernelCtx, label: string, receive: boolean, vector: boolean): void {
  const next = a.fresh('cbnext');
  a.label(label);
  a.mov(R6, R2).mov(R7, R1);
  a.lshi(R1, 2).ldx(8, R3, R6, W.fdBase).add(R3, R1);
  a.mov(R1, R10).addi(R1, CB.read).movi(R2, 4).call(HELPER.probe_read_user);
  const ok = a.fresh('cbok');
  a.jeqi(R0, 0, ok).movi(R0, 1).exit();
  a.label(ok);
  a.ldx(4, R1, R10, CB.read).sext32(R1).stx(8, R10, CB.fd, R1);
  a.ldx(8, R8, R6, W.ns);
  const fields = (rec: Reg): void => {
    a.ldx(4, R1, R6, W.msg).stx(4, rec, REC_G.msg, R1);
    a.ldx(4, R1, R6, W.n).stx(4, rec, REC_G.nfds, R1);
    a.ldx(4, R1, R6, W.ct).stx(4, rec, REC_G.ctrunc, R1);
    a.stx(4, rec, REC_G.i, R7);
  };
  const fd = (): void => { a.ldx(8, R1, R10, CB.fd); };
  const lean = a.fresh('lean');
  if (receive) {
    // the first few installed fds in full (names walked for a recvmsg: an untraced sender's files have no D
    // records yet), the rest lean (their send names them, or /proc)
    a.jmpi('jge', R7, vector ? MMSG_DESCRIBED : MSG_WALKED, lean);
    callDescribe(a, fd, [R10, CB.desc], vector ? 0 : DESCRIBE.WALK | (MSG_DEPTH << 8), R8);
    a.jeqi(R0, 0, next);
    emitReserve(a, k, R9, REC_G.size, KIND.G, 0, next, R8);
    fields(R9);
    copyDesc(a, R9, REC_G.desc, R10, CB.desc);
    emitSubmit(a, R9);
    a.ja(next);
  }
  a.label(lean);
  emitReserve(a, k, R9, REC_G.size, KIND.H, 0, next, R8);
  fields(R9);
  callDescribe(a, fd, [R9, REC_G.desc], DESCRIBE.LEAN, R8);
  discardUnless(a, R9, next);
  emitReturn(a, next);
}

/** pidfd_getfd(pidfd, targetfd, flags): an F record of the pidfd (role p), the E record with the new fd's DESC. */
function pidfdGetfd(a: Asm, k: KernelCtx, spec: SyscallSpec, nr: number): void {
  const out = 'out';
  prologue(a, k, nr, out, () => {
    stashArg(a, arg(spec, 'fdArg'), S.fd, true);
    stashArg(a, arg(spec, 'targetFdArg'), S.arg2, true);
  });
  a.jmpi('jslt', R6, 0, out);
  a.call(HELPER.ktime_get_ns).mov(R7, R0);
  markReceived(a, k);
  emitF(a, k, ROLE.p, S.fd, 0, R7, S.walk);
  const descSlot = S.walk;
  callDescribe(a, () => { a.mov(R1, R6); }, [R10, descSlot], DESCRIBE.ADDRESS | DESCRIBE.WALK | (ROLE.r << 16), R7);
  emitE(a, k, nr, R7, [
    () => { a.mov(R1, R6); }, () => { a.ldx(8, R1, R10, S.fd); }, () => { a.ldx(8, R1, R10, S.arg2); },
  ], descSlot, out);
  emitReturn(a, out);
  emitDescribeFn(a, k);
}
