// The native engine's fd-table and process probes (pure: offsets and map fds come in, instructions go out). Same
// semantics as the bpftrace program's (../program.ts: its header comment and probesFor/schedProbes), written as
// ./format.ts records:
//   entry    one program for sys_enter_<name> of every call an exit probe handles (and close, and the clone family):
//            the follow filter, then the call's number, entry time and arguments stashed per thread (map `stash`);
//            close is written at its entry (after the call its file is gone from the table); mmap, fcntl and
//            signalfd are stashed only when they matter (the text program's entry conditions)
//   <family> one exit program per family, for all its calls' sys_exit tracepoints: pairs with its entry
//            by the syscall number, then F/D/U/I records and the E record that ends the group
//   fork, exec, exit   sched_process_fork/exec/exit: P, X, Q
// Every one is a raw tracepoint program (./kernel.ts: RAW). ./load.ts runs the syscall programs from raw_syscalls
// dispatchers (`dispatcher`: a tail call by syscall number), so a program runs for its calls only.
// Records of one probe run reach the ring in the order they were reserved: a DESC is built on the stack (its
// D/U/I records are written while describing it) and copied into its record reserved afterwards.
import { Asm, HELPER, R0, R1, R2, R3, R4, R6, R7, R8, R9, R10, type Reg } from '../asm.js';
import { SYSCALLS, type SyscallSpec } from '../../model/syscalls.js';
import { CLONE_THREAD, F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD, MAP_ANONYMOUS, MAP_SHARED } from '../../model/kernel.js';
import { CLONE_CALLS, CLONE_SEEN, X64_SYSCALL_NR } from '../program.js';
import { DESC, KIND, NAME_BYTES, REC_E, REC_F, REC_P, REC_Q, REC_X } from './format.js';
import {
  DESCRIBE, DESCRIBE_FN, RAW, STACK, STASH, argSpan, emitCopy, emitDescribeFn, emitFileOf, emitFilter, emitNotCompat, emitRead, emitReserve,
  emitReturn, emitSubmit, emitSyscallArgs, emitSyscallId, emitSyscallNr, emitSyscallRet, type KernelCtx, type Offsets, type Probe,
} from './kernel.js';
import { MESSAGE_CALLS, messageProbe } from './messages.js';

/** Program names start with this (bpftool shows them; a test checks none is left). */
export const PROG_PREFIX = 'fdw_';

// a probe's own stack slots (below STACK.free): the stash copied from the map, the return value, a DESC or two
const S_STASH = -104;
const S_NR = S_STASH + STASH.nr;
const S_TS = S_STASH + STASH.ts;
const S_ARGS = S_STASH + STASH.args;
const S_RET = -40;
const S_AUX = -32;
const S_DESC = -176;
const S_DESC2 = -248;
/** the entry's scratch for the pt_regs span of the arguments (argSpan: 64 bytes on x86-64) */
const S_REGS = -376, S_REGS_BYTES = 128;

const ROLE_R = 0x72;
/** x86-64 numbers of the calls the entry probe looks at */
const NR = {
  close: 3, mmap: 9, fcntl: 72, signalfd: 282, signalfd4: 289, clone: 56, fork: 57, vfork: 58, clone3: 435,
} as const;
/** clone flags of fork(2) and vfork(2): SIGCHLD, CLONE_VM|CLONE_VFORK|SIGCHLD */
const FORK_FLAGS = 0x11, VFORK_FLAGS = 0x4111;

type ExitFamily = 'file' | 'socket' | 'anon' | 'pair' | 'dup' | 'fcntl' | 'close_range' | 'mmap';

/** x86-64 syscall numbers of every call a probe names (the E records' and the clone family's) */
export const SYSCALL_NR: Readonly<Record<string, number>> = { ...X64_SYSCALL_NR, clone: NR.clone, fork: NR.fork, vfork: NR.vfork, clone3: NR.clone3 };
/** syscall numbers a dispatcher's program array covers (x86-64's are below 512) */
export const SYSCALL_SLOTS = 512;

/**
 * A dispatcher for raw_syscalls:sys_enter or sys_exit: tail-calls the program at slot `nr` of the program array, if
 * any; nr is the enter's args[1] (id), the exit's pt_regs orig_ax (its args[1] is the return value). Two raw
 * tracepoints for every syscall: no perf event (whose record path costs ~275 ns a call even with an empty program,
 * and whose close waits for a tracepoint unregister, ~60 ms each).
 */
export function dispatcher(progArray: number, side: 'enter' | 'exit', off: Offsets): Uint8Array {
  const a = new Asm();
  if (side === 'enter') {
    a.ldx(8, R3, R1, RAW.id);
  } else {
    a.mov(R6, R1).ldx(8, R3, R1, RAW.regs).addi(R3, off.regs.origAx);
    a.mov(R1, R10).addi(R1, STACK.key).movi(R2, 8).call(HELPER.probe_read_kernel);
    a.ldx(8, R3, R10, STACK.key).mov(R1, R6);
  }
  a.jmpi('jge', R3, SYSCALL_SLOTS, 'out');
  a.ldMap(R2, progArray).call(HELPER.tail_call);
  emitReturn(a, 'out');
  return a.assemble();
}

/** Which exit program handles a call, by the text program's rules (none: not traced in the kernel). */
export function exitFamily(name: string, spec: SyscallSpec): ExitFamily | null {
  switch (spec.family) {
    case 'open': case 'accept':
      // bpf(2) returns an fd for some commands only; its fds are seen when used
      if (name === 'bpf') return null;
      if (spec.kind === 'socket') return 'socket';
      return spec.kind === 'anon' && spec.pidArg === undefined ? 'anon' : 'file';
    case 'pair': case 'dup': case 'fcntl': case 'close_range': case 'mmap': return spec.family;
    default: return null;
  }
}

/** The probes (./messages.ts's, one exit program per family, the entry, fork/exec/exit), as nativeProbesByCost yields them. */
export function nativeProbes(k: KernelCtx): Probe[] {
  return [...nativeProbesByCost(k)];
}

/** Which exit program handles which calls, and every call the entry probe stashes for. */
function plan(): { byFamily: Map<ExitFamily, Array<{ name: string; spec: SyscallSpec }>>; entered: Set<string> } {
  const byFamily = new Map<ExitFamily, Array<{ name: string; spec: SyscallSpec }>>();
  const entered = new Set<string>();
  for (const [name, spec] of SYSCALLS) {
    if (X64_SYSCALL_NR[name] === undefined && spec.family !== 'clone') continue;
    const f = exitFamily(name, spec);
    if (f) {
      let l = byFamily.get(f);
      if (!l) byFamily.set(f, (l = []));
      l.push({ name, spec });
      entered.add(name);
    }
    if (spec.family === 'close' || (spec.family === 'clone' && (CLONE_CALLS as readonly string[]).includes(name))) entered.add(name);
  }
  for (const name of MESSAGE_CALLS) entered.add(name);
  return { byFamily, entered };
}

/**
 * nativeProbes' probes one at a time, in the order to load them: the verifier's heaviest first (the message walks:
 * most of its ~47 ms here), so the longest verification starts first, and each one's load (on a worker thread) can
 * start while the next is built.
 */
export function* nativeProbesByCost(k: KernelCtx): Generator<Probe> {
  const { byFamily, entered } = plan();
  for (const name of MESSAGE_CALLS) yield messageProbe(k, name);
  for (const [family, calls] of byFamily) {
    yield { name: `${PROG_PREFIX}${family}`, tracepoints: calls.map((c) => `syscalls/sys_exit_${c.name}`), insns: exitProgram(k, family, calls) };
  }
  // every exit probe pairs with it
  yield { name: `${PROG_PREFIX}enter`, tracepoints: [...entered].map((n) => `syscalls/sys_enter_${n}`), insns: entryProgram(k) };
  yield { name: `${PROG_PREFIX}fork`, tracepoints: ['sched/sched_process_fork'], insns: forkProgram(k) };
  yield { name: `${PROG_PREFIX}exec`, tracepoints: ['sched/sched_process_exec'], insns: execProgram(k) };
  yield { name: `${PROG_PREFIX}exit`, tracepoints: ['sched/sched_process_exit'], insns: exitTaskProgram(k) };
}

/** r1 = stashed argument i of the call (u64) */
function arg(a: Asm, i: number, dst: Reg = R1): Asm {
  return a.ldx(8, dst, R10, S_ARGS + 8 * i);
}

/** stack[slot] = the current tgid (a u32 map key) */
function tgidKey(a: Asm, slot: number): void {
  a.call(HELPER.get_current_pid_tgid).rshi(R0, 32).stx(4, R10, slot, R0);
}

/** The record's tgid and euid (task->cred->euid) at `tgidOff`, `tgidOff + 4`. */
function emitIds(a: Asm, k: KernelCtx, rec: Reg, tgidOff: number): void {
  a.call(HELPER.get_current_pid_tgid).rshi(R0, 32).stx(4, rec, tgidOff, R0);
  a.call(HELPER.get_current_task);
  emitRead(a, STACK.tmp, 8, R0, k.off.task.cred);
  a.ldx(8, R0, R10, STACK.tmp);
  emitRead(a, STACK.tmp, 4, R0, k.off.cred.euid);
  a.ldx(4, R1, R10, STACK.tmp).stx(4, rec, tgidOff + 4, R1);
}

/**
 * The E record that ends the group: nr from S_NR, `fields` (each writes r1 with its value), the DESC at stack
 * `desc` (null: none, and the record is REC_E.desc bytes long). ns from r8.
 */
function emitE(a: Asm, k: KernelCtx, fields: Array<(a: Asm) => void>, desc: number | null, done: string): void {
  if (fields.length > REC_E.maxFields) throw new RangeError(`${fields.length} E fields`);
  // without a DESC the record ends where the DESC would start (REC_E.desc)
  emitReserve(a, k, R9, desc === null ? REC_E.desc : REC_E.size, KIND.E, 0, done, R8);
  emitIds(a, k, R9, REC_E.tgid);
  a.ldx(8, R1, R10, S_NR).stx(4, R9, REC_E.nr, R1).st(4, R9, REC_E.nfields, fields.length);
  fields.forEach((f, i) => { f(a); a.stx(8, R9, REC_E.fields + 8 * i, R1); });
  for (let i = fields.length; i < REC_E.maxFields; i++) a.st(8, R9, REC_E.fields + 8 * i, 0);
  a.st(8, R9, REC_E.hasDesc, desc === null ? 0 : 1);
  if (desc !== null) emitCopy(a, R9, REC_E.desc, R10, desc, DESC.size);
  emitSubmit(a, R9);
}

/** describe(fd in `fdReg`) into the stack DESC at `slot` (flags a constant; ns from r8). */
function describe(a: Asm, fdReg: Reg, slot: number, flags: number): void {
  if (fdReg !== R1) a.mov(R1, fdReg);
  a.mov(R2, R10).addi(R2, slot).movi(R3, flags).mov(R4, R8).callLocal(DESCRIBE_FN);
}

/** An F record of the stack DESC at `slot`. */
function emitF(a: Asm, k: KernelCtx, slot: number, role: number): void {
  const skip = a.fresh('f');
  emitReserve(a, k, R9, REC_F.size, KIND.F, role, skip, R8);
  emitCopy(a, R9, REC_F.desc, R10, slot, DESC.size);
  emitSubmit(a, R9);
  a.label(skip);
}

const ret = (a: Asm): void => { a.ldx(8, R1, R10, S_RET); };
const sarg = (i: number) => (a: Asm): void => { arg(a, i).sext32(R1); };
const uarg = (i: number) => (a: Asm): void => { arg(a, i).zext32(R1); };
const rarg = (i: number) => (a: Asm): void => { arg(a, i); };

/** the argument indexes each exit program reads (the same for all of its calls) */
const USED_ARGS: Record<ExitFamily, ReadonlyArray<'fdArg' | 'cmdArg' | 'flagsArg' | 'lengthArg' | 'protArg' | 'offsetArg'>> = {
  file: [], socket: [], anon: [], pair: [], dup: ['fdArg'], fcntl: ['fdArg', 'cmdArg'], close_range: ['flagsArg'],
  mmap: ['fdArg', 'flagsArg', 'lengthArg', 'protArg', 'offsetArg'],
};

/**
 * The families whose calls may block (accept, accept4, an openat of a FIFO) and whose exits read none of the stashed
 * arguments: a call already waiting at attach has no stash, and is written from its exit alone.
 */
const BLOCKING_FAMILIES: ReadonlySet<ExitFamily> = new Set(['file', 'socket']);

/**
 * An exit program: pairs with its entry's stash (the same syscall number; the stash is then marked used), copies
 * it to the stack, and writes the family's records.
 */
function exitProgram(k: KernelCtx, family: ExitFamily, calls: ReadonlyArray<{ name: string; spec: SyscallSpec }>): Uint8Array {
  const spec = calls[0]!.spec;
  // the argument indexes are the family's (checked here), but for the pair's array (socketpair's 3, pipe's 0)
  const used = USED_ARGS[family];
  for (const c of calls) {
    for (const key of used) if (c.spec[key] !== spec[key]) throw new Error(`${c.name}: its ${key} differs from ${calls[0]!.name}'s`);
  }
  const a = new Asm();
  const out = 'out';
  const blocked = BLOCKING_FAMILIES.has(family);
  if (blocked && used.length > 0) throw new Error(`${family}: an exit without its stash has no arguments to read`);
  const miss = blocked ? a.fresh('nostash') : out;
  a.mov(R6, R1);
  a.call(HELPER.get_current_pid_tgid).stx(4, R10, STACK.key, R0);
  a.ldMap(R1, k.maps.stash).mov(R2, R10).addi(R2, STACK.key).call(HELPER.map_lookup_elem);
  a.jeqi(R0, 0, miss).mov(R7, R0);
  // the call's number, read only for a thread with a stash (pt_regs orig_ax: sys_exit's args[1] is the return value)
  emitSyscallNr(a, k, R6, S_NR);
  a.ldx(8, R2, R7, STASH.nr).jmp('jne', R0, R2, miss);
  a.st(8, R7, STASH.nr, -1);
  emitCopy(a, R10, S_TS, R7, STASH.ts, STASH.size - STASH.ts);
  if (blocked) {
    // no entry of this call: it was already waiting when the probes were attached (a server blocked in accept4, an
    // openat of a FIFO with no writer yet). The entry's own checks, then its number and time; no argument is read
    const stashed = a.fresh('stashed');
    a.ja(stashed);
    a.label(miss);
    emitFilter(a, k, out);
    emitNotCompat(a, k, out);
    emitSyscallNr(a, k, R6, S_NR);
    a.call(HELPER.ktime_get_ns).stx(8, R10, S_TS, R0);
    a.label(stashed);
  }
  emitSyscallRet(a, k, R7, R6);
  a.stx(8, R10, S_RET, R7);
  a.call(HELPER.ktime_get_ns).mov(R8, R0);
  const role = ROLE_R << 16;
  switch (family) {
    case 'file': case 'socket': case 'anon': {
      a.jmpi('jslt', R7, 0, out);
      const flags = family === 'file' ? DESCRIBE.WALK : family === 'socket' ? DESCRIBE.PEER | DESCRIBE.ADDRESS | role : DESCRIBE.LEAN;
      describe(a, R7, S_DESC, flags);
      emitE(a, k, [ret], S_DESC, out);
      break;
    }
    case 'pair': {
      a.jnei(R7, 0, out);
      // the int[2] argument: its index by the call's number
      const read = a.fresh('pa');
      a.ldx(8, R1, R10, S_NR);
      for (const c of calls) {
        if (c.spec.pairArg === spec.pairArg) continue;
        const next = a.fresh('pn');
        a.jnei(R1, X64_SYSCALL_NR[c.name]!, next);
        arg(a, c.spec.pairArg!, R3).ja(read);
        a.label(next);
      }
      arg(a, spec.pairArg!, R3);
      a.label(read).mov(R1, R10).addi(R1, S_AUX).movi(R2, 8).call(HELPER.probe_read_user);
      a.ldx(4, R1, R10, S_AUX).sext32(R1);
      describe(a, R1, S_DESC, DESCRIBE.PEER);
      emitF(a, k, S_DESC, ROLE_R);
      a.ldx(4, R1, R10, S_AUX + 4).sext32(R1);
      describe(a, R1, S_DESC2, DESCRIBE.PEER);
      emitF(a, k, S_DESC2, ROLE_R);
      emitE(a, k, [ret], null, out);
      break;
    }
    case 'dup':
      a.jmpi('jslt', R7, 0, out);
      describe(a, R7, S_DESC, 0);
      emitE(a, k, [ret, sarg(spec.fdArg!)], S_DESC, out);
      break;
    case 'fcntl': {
      const ci = spec.cmdArg!;
      a.jmpi('jslt', R7, 0, out);
      // F_SETFD changes no fd: an empty DESC (fd -1)
      const d = a.fresh('fc');
      a.mov(R1, R7);
      arg(a, ci, R2).sext32(R2).jnei(R2, F_SETFD, d).movi(R1, -1);
      a.label(d);
      describe(a, R1, S_DESC, 0);
      emitE(a, k, [ret, sarg(spec.fdArg!), sarg(ci), rarg(ci + 1)], S_DESC, out);
      break;
    }
    case 'close_range':
      a.jnei(R7, 0, out);
      emitE(a, k, [ret, uarg(0), uarg(1), rarg(spec.flagsArg!)], null, out);
      break;
    case 'mmap': {
      // an address, or -errno
      a.jmpi('jge', R7, -4096, out);
      arg(a, spec.fdArg!).sext32(R1);
      emitFileOf(a, k, R1);
      a.stx(8, R10, S_AUX, R0).st(8, R10, S_DESC, 0);
      const none = a.fresh('mi');
      a.jeqi(R0, 0, none);
      emitRead(a, S_DESC, 8, R0, k.off.file.inode);
      a.ldx(8, R0, R10, S_DESC);
      emitRead(a, S_DESC, 8, R0, k.off.inode.ino);
      a.label(none);
      emitE(a, k, [ret, sarg(spec.fdArg!), (b) => { b.ldx(8, R1, R10, S_AUX); }, rarg(spec.lengthArg!), rarg(spec.protArg!), rarg(spec.flagsArg!),
        rarg(spec.offsetArg!), (b) => { b.ldx(8, R1, R10, S_DESC); }], null, out);
      break;
    }
  }
  emitReturn(a, out);
  if (family !== 'close_range' && family !== 'mmap') emitDescribeFn(a, k);
  return a.assemble();
}

/**
 * The entry program: the filter, close's E record, and the stash of every other call (mmap, fcntl and signalfd
 * only when the exit would write something).
 */
function entryProgram(k: KernelCtx): Uint8Array {
  const a = new Asm();
  const out = 'out', stash = 'stash', notClose = 'nclose';
  a.mov(R6, R1);
  emitFilter(a, k, out);
  // an ia32 syscall has ia32's numbers: not one of these
  emitNotCompat(a, k, out);
  emitSyscallId(a, k, R7, R6);
  a.stx(8, R10, S_NR, R7);
  if (argSpan(k.off).bytes > S_REGS_BYTES) throw new RangeError(`pt_regs arguments span ${argSpan(k.off).bytes} bytes`);
  emitSyscallArgs(a, k, R6, S_ARGS, S_REGS);
  a.jnei(R7, NR.close, notClose);
  // close: the fd's file before the call releases it
  a.call(HELPER.ktime_get_ns).mov(R8, R0);
  arg(a, 0).sext32(R1).stx(8, R10, S_AUX, R1);
  emitFileOf(a, k, R1);
  a.jeqi(R0, 0, out).stx(8, R10, S_RET, R0);
  emitE(a, k, [(b) => { b.ldx(8, R1, R10, S_AUX); }, (b) => { b.ldx(8, R1, R10, S_RET); }], null, out);
  a.ja(out);
  a.label(notClose);
  // mmap: a file, not anonymous, shared or in a process that received an fd
  const notMmap = a.fresh('nm');
  a.jnei(R7, NR.mmap, notMmap);
  arg(a, 4).sext32(R1).jmpi('jslt', R1, 0, out);
  arg(a, 3).jmpi('jset', R1, MAP_ANONYMOUS, out).jmpi('jset', R1, MAP_SHARED, stash);
  tgidKey(a, STACK.key);
  a.ldMap(R1, k.maps.rx).mov(R2, R10).addi(R2, STACK.key).call(HELPER.map_lookup_elem);
  a.jeqi(R0, 0, out).ja(stash);
  a.label(notMmap);
  // fcntl: the commands that make or change an fd
  const notFcntl = a.fresh('nf');
  a.jnei(R7, NR.fcntl, notFcntl);
  arg(a, 1).sext32(R1).jeqi(R1, F_DUPFD, stash).jeqi(R1, F_DUPFD_CLOEXEC, stash).jeqi(R1, F_SETFD, stash).ja(out);
  a.label(notFcntl);
  // signalfd(fd != -1) changes an existing fd
  const notSignalfd = a.fresh('ns');
  a.jeqi(R7, NR.signalfd, 'sfd').jnei(R7, NR.signalfd4, notSignalfd);
  a.label('sfd');
  arg(a, 0).sext32(R1).jnei(R1, -1, out);
  a.label(notSignalfd);
  a.label(stash);
  a.call(HELPER.ktime_get_ns).stx(8, R10, S_TS, R0);
  a.call(HELPER.get_current_pid_tgid).stx(4, R10, STACK.key, R0);
  // the thread's stash rewritten in place (a lookup), made only by its first call (an update allocates)
  const fresh = a.fresh('new');
  a.ldMap(R1, k.maps.stash).mov(R2, R10).addi(R2, STACK.key).call(HELPER.map_lookup_elem);
  a.jeqi(R0, 0, fresh);
  emitCopy(a, R0, 0, R10, S_STASH, STASH.size);
  a.ja(out);
  a.label(fresh);
  a.ldMap(R1, k.maps.stash).mov(R2, R10).addi(R2, STACK.key).mov(R3, R10).addi(R3, S_STASH).movi(R4, 0).call(HELPER.map_update_elem);
  emitReturn(a, out);
  return a.assemble();
}

// the fork program's slots
const P_FLAGS = -32, P_WHICH = -40, P_CHILD = -48, P_ONE = -56, P_TGID = -64;

/**
 * sched_process_fork, in the parent: P with the parent's clone flags (from its stash: clone's first argument,
 * clone3's clone_args.flags, fork's and vfork's implied ones; 0 for a kernel-made task); a new process (not a
 * thread) of a followed group is followed, and inherits `rx`.
 */
function forkProgram(k: KernelCtx): Uint8Array {
  const a = new Asm();
  const out = 'out', flagsDone = 'fl', seen = 'seen';
  a.mov(R6, R1);
  emitFilter(a, k, out);
  a.st(8, R10, P_FLAGS, 0).st(8, R10, P_WHICH, 0).st(4, R10, P_ONE, 1);
  // the child's pid (the tracepoint's child_pid)
  a.ldx(8, R0, R6, RAW.sched.forkChild);
  emitRead(a, P_CHILD, 4, R0, k.off.task.pid);
  a.call(HELPER.get_current_pid_tgid).stx(4, R10, STACK.key, R0).rshi(R0, 32).stx(4, R10, P_TGID, R0);
  a.ldMap(R1, k.maps.stash).mov(R2, R10).addi(R2, STACK.key).call(HELPER.map_lookup_elem);
  a.jeqi(R0, 0, flagsDone).mov(R7, R0);
  a.ldx(8, R1, R7, STASH.nr);
  const which = (n: string): number => (CLONE_CALLS as readonly string[]).indexOf(n) + 1;
  const notClone = a.fresh('c'), notClone3 = a.fresh('c3'), notFork = a.fresh('f');
  a.jnei(R1, NR.clone, notClone);
  a.ldx(8, R2, R7, STASH.args).stx(8, R10, P_FLAGS, R2).st(8, R10, P_WHICH, which('clone')).ja(seen);
  a.label(notClone).jnei(R1, NR.clone3, notClone3);
  // struct clone_args starts with its flags (u64)
  a.mov(R1, R10).addi(R1, P_FLAGS).movi(R2, 8).ldx(8, R3, R7, STASH.args).call(HELPER.probe_read_user);
  a.st(8, R10, P_WHICH, which('clone3')).ja(seen);
  a.label(notClone3).jnei(R1, NR.fork, notFork);
  a.st(8, R10, P_FLAGS, FORK_FLAGS).st(8, R10, P_WHICH, which('fork')).ja(seen);
  a.label(notFork).jnei(R1, NR.vfork, flagsDone);
  a.st(8, R10, P_FLAGS, VFORK_FLAGS).st(8, R10, P_WHICH, which('vfork'));
  a.label(seen);
  a.st(8, R7, STASH.nr, -1);
  a.ldx(8, R1, R10, P_FLAGS).ld64(R2, CLONE_SEEN).alu('or', R1, R2).stx(8, R10, P_FLAGS, R1);
  a.label(flagsDone);
  // a new process, not a thread (a kernel-made task has no flags: a thread of the caller)
  const record = 'rec';
  a.ldx(8, R1, R10, P_FLAGS).jeqi(R1, 0, record).jmpi('jset', R1, CLONE_THREAD, record);
  if (!k.all) a.ldMap(R1, k.maps.follow).mov(R2, R10).addi(R2, P_CHILD).mov(R3, R10).addi(R3, P_ONE).movi(R4, 0).call(HELPER.map_update_elem);
  a.ldMap(R1, k.maps.rx).mov(R2, R10).addi(R2, P_TGID).call(HELPER.map_lookup_elem);
  a.jeqi(R0, 0, record);
  a.ldMap(R1, k.maps.rx).mov(R2, R10).addi(R2, P_CHILD).mov(R3, R10).addi(R3, P_ONE).movi(R4, 0).call(HELPER.map_update_elem);
  a.label(record);
  emitReserve(a, k, R9, REC_P.size, KIND.P, 0, out);
  emitIds(a, k, R9, REC_P.tgid);
  a.ldx(4, R1, R10, P_CHILD).stx(4, R9, REC_P.child, R1);
  a.ldx(8, R1, R10, P_WHICH).stx(4, R9, REC_P.which, R1);
  a.ldx(8, R1, R10, P_FLAGS).stx(8, R9, REC_P.flags, R1);
  emitSubmit(a, R9);
  emitReturn(a, out);
  return a.assemble();
}

/**
 * sched_process_exec: X with the tracepoint's old_pid and file name (bprm->filename; len: its length, cut at
 * NATIVE_STRLEN as the name is).
 */
function execProgram(k: KernelCtx): Uint8Array {
  const a = new Asm();
  const out = 'out', sized = 'sized';
  a.mov(R6, R1);
  emitFilter(a, k, out);
  emitReserve(a, k, R9, REC_X.size, KIND.X, 0, out);
  emitIds(a, k, R9, REC_X.tgid);
  a.ldx(8, R1, R6, RAW.sched.execOldPid).stx(4, R9, REC_X.oldTid, R1);
  a.mov(R1, R9).addi(R1, REC_X.comm).movi(R2, 16).call(HELPER.get_current_comm);
  a.ldx(8, R0, R6, RAW.sched.execBprm);
  emitRead(a, STACK.tmp, 8, R0, k.off.binprm.filename);
  a.ldx(8, R3, R10, STACK.tmp).mov(R1, R9).addi(R1, REC_X.path).movi(R2, NAME_BYTES).call(HELPER.probe_read_kernel_str);
  // the bytes read with the NUL, or -errno (an empty name then)
  a.addi(R0, -1).jmpi('jsge', R0, 0, sized).movi(R0, 0).st(1, R9, REC_X.path, 0);
  a.label(sized).stx(4, R9, REC_X.len, R0);
  emitSubmit(a, R9);
  emitReturn(a, out);
  return a.assemble();
}

const Q_DEAD = -32, Q_CODE = -40, Q_TGID = -48;

/** sched_process_exit: Q; the thread's stash goes, and a dead group's follow and rx entries. */
function exitTaskProgram(k: KernelCtx): Uint8Array {
  const a = new Asm();
  const out = 'out';
  a.mov(R6, R1);
  emitFilter(a, k, out);
  a.call(HELPER.get_current_task).mov(R7, R0);
  emitRead(a, Q_CODE, 4, R7, k.off.task.exitCode);
  emitRead(a, Q_DEAD, 8, R7, k.off.task.signal);
  a.ldx(8, R0, R10, Q_DEAD);
  emitRead(a, Q_DEAD, 4, R0, k.off.signal.liveCounter);
  // the group is dead once its last thread's exit brought `live` to 0
  const alive = a.fresh('alive'), dead = a.fresh('dead');
  a.ldx(4, R1, R10, Q_DEAD).jeqi(R1, 0, dead).st(4, R10, Q_DEAD, 0).ja(alive);
  a.label(dead).st(4, R10, Q_DEAD, 1);
  a.label(alive);
  const written = 'written';
  emitReserve(a, k, R9, REC_Q.size, KIND.Q, 0, written);
  a.call(HELPER.get_current_pid_tgid).rshi(R0, 32).stx(4, R9, REC_Q.tgid, R0);
  a.ldx(4, R1, R10, Q_DEAD).stx(4, R9, REC_Q.groupDead, R1);
  a.ldx(4, R1, R10, Q_CODE).stx(4, R9, REC_Q.exitCode, R1).st(4, R9, REC_Q.exitCode + 4, 0);
  emitSubmit(a, R9);
  a.label(written);
  a.call(HELPER.get_current_pid_tgid).stx(4, R10, STACK.key, R0).rshi(R0, 32).stx(4, R10, Q_TGID, R0);
  a.ldMap(R1, k.maps.stash).mov(R2, R10).addi(R2, STACK.key).call(HELPER.map_delete_elem);
  a.ldx(4, R1, R10, Q_DEAD).jeqi(R1, 0, out);
  if (!k.all) a.ldMap(R1, k.maps.follow).mov(R2, R10).addi(R2, Q_TGID).call(HELPER.map_delete_elem);
  a.ldMap(R1, k.maps.rx).mov(R2, R10).addi(R2, Q_TGID).call(HELPER.map_delete_elem);
  emitReturn(a, out);
  return a.assemble();
}

