// Building blocks of the native engine's BPF programs (pure: offsets and map fds come in; instructions go out).
// ./program.ts (the fd-table and process probes) and ./messages.ts (the SCM_RIGHTS probes) are made of these.
//
// CONTRACT (the API both program files rely on; bodies may change, signatures only by agreement):
//
// Registers: r10 is the frame pointer (the stack is [r10-512, r10)). Helpers and these emitters clobber r0-r5;
// r6-r9 survive them. Each emitter documents which stack slots it uses: STACK below reserves the top for them.
//
// Every probe is a BPF_PROG_TYPE_RAW_TRACEPOINT program (./load.ts attaches them with BPF_RAW_TRACEPOINT_OPEN; a
// tail call needs its target to be of the dispatcher's type): its ctx is the tracepoint's arguments as u64 args[]
// (RAW below), read with aligned 8-byte loads inside the tracepoint's arguments (a load past them makes the attach
// fail, EINVAL). A syscall probe is run for exactly the calls its tracepoints name: ./load.ts reaches it from
// raw_syscalls:sys_enter/sys_exit through a dispatcher's tail call by syscall number. Their ctx: args[0] the
// struct pt_regs * of the call, args[1] the syscall number (sys_enter) or its return value (sys_exit); the call's
// arguments and, at exit, its number (orig_ax) are read from the pt_regs (emitSyscallArgs, emitSyscallNr).
// sched tracepoints: the struct task_struct * and the rest their TP_PROTO names (RAW.sched).
// KernelCtx.attach 'syscalls': the syscall probes are instead BPF_PROG_TYPE_TRACEPOINT programs on each call's own
// syscalls:sys_enter_X/sys_exit_X (struct trace_event_raw_sys_enter/_sys_exit: TP below); only the emitters that
// read a syscall probe's ctx (emitSyscallId, emitSyscallArgs, emitSyscallNr, emitSyscallRet) differ.
//
// Record order: the ring orders records by RESERVATION. A DESC whose D/U/I records (written by describe) must come
// before its record is built on the stack and copied (emitCopy) into its record reserved after the call.
// emitReserve does not zero a record: write every byte the reader reads.
import { type Asm, HELPER, R0, R1, R2, R3, R4, R6, R7, R8, R9, R10, type Reg } from '../asm.js';
import { memberOffsets } from '../btf.js';
import { MAGIC } from '../program.js';
import { PF_KTHREAD } from '../../model/kernel.js';
import { DESC, HEADER, KIND, NAME_BYTES, REC_D, REC_I, REC_U } from './format.js';

/** Offsets of the kernel struct members the probes read (from /sys/kernel/btf/vmlinux: see kernelOffsets). */
export interface Offsets {
  task: { files: number; cred: number; signal: number; exitCode: number; flags: number; pid: number; tgid: number; comm: number };
  files: { fdt: number };
  fdtable: { maxFds: number; fd: number; closeOnExec: number };
  file: { inode: number; pathMnt: number; pathDentry: number; privateData: number };
  inode: { ino: number; sb: number; mode: number; nlink: number; private: number };
  superBlock: { magic: number };
  /** struct mount: where its struct vfsmount is, and its id */
  mount: { mnt: number; mntId: number };
  vfsmount: { mntRoot: number };
  dentry: { name: number; parent: number };
  /** struct qstr inside the dentry: hash_len (u64) and name (pointer) */
  qstr: { hashLen: number; name: number };
  socket: { sk: number };
  sock: { family: number; type: number; state: number; rcvSaddr: number; daddr: number; num: number; dport: number; v6RcvSaddr: number; v6Daddr: number };
  unixSock: { peer: number; addr: number };
  sock2: { socket: number };
  socketAlloc: { vfsInode: number };
  unixAddress: { len: number; name: number };
  cred: { euid: number };
  signal: { liveCounter: number };
  /** struct pid: its first struct upid's nr (a pidfd's pid) */
  pid: { firstNr: number };
  /** the task's thread_info.status (x86: TS_COMPAT while an ia32 syscall runs), from the task's address */
  threadInfo: { status: number };
  /** struct pt_regs: the syscall's arguments in order (x86-64: di, si, dx, r10, r8, r9) and its number (orig_ax) */
  regs: { args: readonly number[]; origAx: number };
  /** struct linux_binprm: the file name exec was given */
  binprm: { filename: number };
}

/** Raw tracepoint contexts: byte offsets of the u64 args[] a probe's ctx is (the tracepoints' TP_PROTO). */
export const RAW = {
  /** raw_syscalls:sys_enter(struct pt_regs *regs, long id), sys_exit(struct pt_regs *regs, long ret) */
  regs: 0, id: 8, ret: 8,
  sched: {
    /** sched_process_fork(struct task_struct *parent, struct task_struct *child) */
    forkChild: 8,
    /** sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) */
    execOldPid: 8, execBprm: 16,
  },
} as const;

/** Per-call tracepoint contexts (include/trace/events/syscalls.h): ctx+8 int __syscall_nr, ctx+16 args[6] or long ret. */
export const TP = { nr: 8, args: 16, ret: 16 } as const;

/** thread_info.status: an ia32 syscall is running (arch/x86/include/asm/thread_info.h) */
export const TS_COMPAT = 0x0002;

/** The maps every program shares (fds made by ./load.ts before the programs are assembled). */
export interface Maps {
  /** BPF_MAP_TYPE_RINGBUF: the records (./format.ts) */
  ring: number;
  /** HASH u32 tgid -> u8: followed thread groups (unused with --all) */
  follow: number;
  /** HASH u32 tid -> Stash: a call's entry, for its exit */
  stash: number;
  /** HASH u32 tgid -> u8: processes that received an fd (private file mmaps matter only there) */
  rx: number;
  /** LRU_HASH u64 dentry -> u64 (parent ^ d_name.hash_len): dentry names already written as D records */
  dk: number;
  /** PERCPU_ARRAY u32 0 -> u64: records that found the ring full */
  lost: number;
}

/** A call's entry, kept per thread until its exit (map `stash`): 64 bytes. */
export const STASH = { nr: 0, ts: 8, args: 16, size: 64 } as const;

export interface KernelCtx {
  off: Offsets;
  maps: Maps;
  /** --all: no follow filter (fdwatch itself still excepted) */
  all: boolean;
  /** fdwatch's own tgid */
  self: number;
  /** how the syscall probes are attached, so how their ctx reads (the header above): 'raw' or 'syscalls' */
  attach: 'raw' | 'syscalls';
}

/** One BPF program and the tracepoints (tracefs `category/name`: the raw tracepoint is `name`) it serves (see the note on raw_syscalls above). */
export interface Probe {
  name: string;
  tracepoints: string[];
  /** assembled with the maps of the KernelCtx it was made with */
  insns: Uint8Array;
}

/** Stack slots (offsets from r10) the emitters below use; programs use [-STACK.free, -1 - ...) for their own. */
export const STACK = {
  /** 8-byte scratch for map keys and probe reads */
  key: -8,
  tmp: -16,
  tmp2: -24,
  /** programs may use r10-32 and below */
  free: -32,
} as const;

/** describe(): what to read besides fd, file, inode and CLOEXEC */
export const DESCRIBE = {
  /** only fd, file, inode, CLOEXEC (DESC.lean = 1) */
  LEAN: 1,
  /** a unix socket's peer inode (DESC.peer), its family and type */
  PEER: 2,
  /** PEER, and U/I records of the socket's addresses (role in bits 16-23) */
  ADDRESS: 4,
  /** D records for the dentries up to the mount root, depth in bits 8-15 (0: the default depth) */
  WALK: 8,
} as const;

export const DESCRIBE_FN = 'describe';

/** Where struct members are, by struct (names as in the kernel's BTF). atomic_t.counter and kuid_t.val are at 0. */
const WANT = {
  task_struct: ['files', 'cred', 'signal', 'exit_code', 'flags', 'pid', 'tgid', 'comm', 'thread_info'],
  files_struct: ['fdt'],
  fdtable: ['max_fds', 'fd', 'close_on_exec'],
  file: ['f_inode', 'f_path', 'private_data'],
  path: ['mnt', 'dentry'],
  inode: ['i_ino', 'i_sb', 'i_mode', 'i_nlink', 'i_private'],
  super_block: ['s_magic'],
  mount: ['mnt', 'mnt_id'],
  vfsmount: ['mnt_root'],
  dentry: ['d_name', 'd_parent'],
  qstr: ['hash_len', 'name'],
  socket: ['sk'],
  sock: ['__sk_common', 'sk_type', 'sk_socket'],
  sock_common: ['skc_family', 'skc_state', 'skc_rcv_saddr', 'skc_daddr', 'skc_num', 'skc_dport', 'skc_v6_rcv_saddr', 'skc_v6_daddr'],
  unix_sock: ['peer', 'addr'],
  socket_alloc: ['socket', 'vfs_inode'],
  unix_address: ['len', 'name'],
  cred: ['euid'],
  signal_struct: ['live'],
  pid: ['numbers'],
  upid: ['nr'],
  thread_info: ['status'],
  pt_regs: ['di', 'si', 'dx', 'r10', 'r8', 'r9', 'orig_ax'],
  linux_binprm: ['filename'],
} as const satisfies Record<string, readonly string[]>;

/**
 * Member offsets from the kernel's BTF; a string naming the first member missing (the engine is then unavailable,
 * and says which member).
 */
export function kernelOffsets(btf: Uint8Array): Offsets | string {
  const o = memberOffsets(btf, WANT);
  if (!o) return 'the kernel BTF is not BTF';
  for (const [struct, members] of Object.entries(WANT)) {
    for (const m of members) if (!o.has(`${struct}.${m}`)) return `no ${struct}.${m} in the kernel BTF`;
  }
  const g = (struct: keyof typeof WANT, m: string): number => o.get(`${struct}.${m}`)!;
  const sk = (m: string): number => g('sock', '__sk_common') + g('sock_common', m);
  return {
    task: { files: g('task_struct', 'files'), cred: g('task_struct', 'cred'), signal: g('task_struct', 'signal'), exitCode: g('task_struct', 'exit_code'), flags: g('task_struct', 'flags'), pid: g('task_struct', 'pid'), tgid: g('task_struct', 'tgid'), comm: g('task_struct', 'comm') },
    files: { fdt: g('files_struct', 'fdt') },
    fdtable: { maxFds: g('fdtable', 'max_fds'), fd: g('fdtable', 'fd'), closeOnExec: g('fdtable', 'close_on_exec') },
    file: { inode: g('file', 'f_inode'), pathMnt: g('file', 'f_path') + g('path', 'mnt'), pathDentry: g('file', 'f_path') + g('path', 'dentry'), privateData: g('file', 'private_data') },
    inode: { ino: g('inode', 'i_ino'), sb: g('inode', 'i_sb'), mode: g('inode', 'i_mode'), nlink: g('inode', 'i_nlink'), private: g('inode', 'i_private') },
    superBlock: { magic: g('super_block', 's_magic') },
    mount: { mnt: g('mount', 'mnt'), mntId: g('mount', 'mnt_id') },
    vfsmount: { mntRoot: g('vfsmount', 'mnt_root') },
    dentry: { name: g('dentry', 'd_name'), parent: g('dentry', 'd_parent') },
    qstr: { hashLen: g('qstr', 'hash_len'), name: g('qstr', 'name') },
    socket: { sk: g('socket', 'sk') },
    sock: { family: sk('skc_family'), type: g('sock', 'sk_type'), state: sk('skc_state'), rcvSaddr: sk('skc_rcv_saddr'), daddr: sk('skc_daddr'), num: sk('skc_num'), dport: sk('skc_dport'), v6RcvSaddr: sk('skc_v6_rcv_saddr'), v6Daddr: sk('skc_v6_daddr') },
    unixSock: { peer: g('unix_sock', 'peer'), addr: g('unix_sock', 'addr') },
    sock2: { socket: g('sock', 'sk_socket') },
    // the inode after the struct socket in a socket_alloc, from the socket's address
    socketAlloc: { vfsInode: g('socket_alloc', 'vfs_inode') - g('socket_alloc', 'socket') },
    unixAddress: { len: g('unix_address', 'len'), name: g('unix_address', 'name') },
    cred: { euid: g('cred', 'euid') },
    signal: { liveCounter: g('signal_struct', 'live') },
    pid: { firstNr: g('pid', 'numbers') + g('upid', 'nr') },
    threadInfo: { status: g('task_struct', 'thread_info') + g('thread_info', 'status') },
    regs: { args: (['di', 'si', 'dx', 'r10', 'r8', 'r9'] as const).map((r) => g('pt_regs', r)), origAx: g('pt_regs', 'orig_ax') },
    binprm: { filename: g('linux_binprm', 'filename') },
  };
}

/** stack[r10 + slot] = `size` bytes at src + off, through bpf_probe_read_kernel (zeros when unreadable). Clobbers r0-r5. */
export function emitRead(a: Asm, slot: number, size: number, src: Reg, off: number): void {
  a.mov(R3, src);
  if (off !== 0) a.addi(R3, off);
  a.mov(R1, R10).addi(R1, slot).movi(R2, size).call(HELPER.probe_read_kernel);
}

/** bytes emitSyscallArgs reads into its scratch: the span of pt_regs holding the six arguments */
export function argSpan(o: Offsets): { lo: number; bytes: number } {
  const lo = Math.min(...o.regs.args);
  return { lo, bytes: Math.max(...o.regs.args) + 8 - lo };
}

/**
 * The syscall's six arguments (u64 each) into stack[r10 + slot ...] (`ctx` one of r6-r9). Raw: from the pt_regs at
 * `ctx` + RAW.regs, one probe read of their span into stack[r10 + scratch ...] (argSpan bytes), then moved in order.
 * Per-call tracepoints: one probe read of ctx + TP.args (a ctx load past a 0-argument call's record is refused at
 * attach). Clobbers r0-r5.
 */
export function emitSyscallArgs(a: Asm, k: KernelCtx, ctx: Reg, slot: number, scratch: number): void {
  if (k.attach === 'syscalls') {
    emitRead(a, slot, 48, ctx, TP.args);
    return;
  }
  const { lo, bytes } = argSpan(k.off);
  a.ldx(8, R0, ctx, RAW.regs);
  emitRead(a, scratch, bytes, R0, lo);
  k.off.regs.args.forEach((off, i) => { a.ldx(8, R1, R10, scratch + off - lo).stx(8, R10, slot + 8 * i, R1); });
}

/** r0 = the syscall's number at its exit (pt_regs orig_ax, or the tracepoint's __syscall_nr; from the ctx in `ctx`); stack[r10 + slot] holds it too. Clobbers r1-r5. */
export function emitSyscallNr(a: Asm, k: KernelCtx, ctx: Reg, slot: number): void {
  if (k.attach === 'syscalls') {
    a.ldx(4, R0, ctx, TP.nr).stx(8, R10, slot, R0);
    return;
  }
  a.ldx(8, R0, ctx, RAW.regs);
  emitRead(a, slot, 8, R0, k.off.regs.origAx);
  a.ldx(8, R0, R10, slot);
}

/** `dst` = the syscall's number at its entry (raw sys_enter's id, or the tracepoint's __syscall_nr), from the ctx in `ctx`. */
export function emitSyscallId(a: Asm, k: KernelCtx, dst: Reg, ctx: Reg): void {
  if (k.attach === 'syscalls') a.ldx(4, dst, ctx, TP.nr);
  else a.ldx(8, dst, ctx, RAW.id);
}

/** `dst` = the syscall's return value at its exit, from the ctx in `ctx`. */
export function emitSyscallRet(a: Asm, k: KernelCtx, dst: Reg, ctx: Reg): void {
  a.ldx(8, dst, ctx, k.attach === 'syscalls' ? TP.ret : RAW.ret);
}

/** Copies `bytes` (a multiple of 8) from src + srcOff to dst + dstOff (a stack DESC into a reserved record). Clobbers r1. */
export function emitCopy(a: Asm, dst: Reg, dstOff: number, src: Reg, srcOff: number, bytes: number): void {
  for (let i = 0; i < bytes; i += 8) a.ldx(8, R1, src, srcOff + i).stx(8, dst, dstOff + i, R1);
}

/**
 * Jumps to `skip` during an ia32 syscall (int $0x80, a 32-bit process: ia32's numbers, which raw_syscalls passes on
 * and the per-call tracepoints ignore, x86-64's ARCH_TRACE_IGNORE_COMPAT_SYSCALLS). Leaves r6-r9 alone; uses
 * STACK.tmp.
 */
export function emitNotCompat(a: Asm, k: KernelCtx, skip: string): void {
  a.call(HELPER.get_current_task);
  emitRead(a, STACK.tmp, 4, R0, k.off.threadInfo.status);
  a.ldx(4, R1, R10, STACK.tmp).jmpi('jset', R1, TS_COMPAT, skip);
}

/**
 * The follow filter: jumps to `skip` unless the current task's thread group is followed (or, with --all, unless it
 * is fdwatch itself or a kernel thread). Leaves r6-r9 alone; uses STACK.key.
 */
export function emitFilter(a: Asm, k: KernelCtx, skip: string): void {
  a.call(HELPER.get_current_pid_tgid).rshi(R0, 32);
  if (k.all) {
    a.jeqi(R0, k.self, skip);
    a.call(HELPER.get_current_task);
    emitRead(a, STACK.key, 4, R0, k.off.task.flags);
    a.ldx(4, R1, R10, STACK.key).jmpi('jset', R1, PF_KTHREAD, skip);
    return;
  }
  a.stx(4, R10, STACK.key, R0);
  a.ldMap(R1, k.maps.follow).mov(R2, R10).addi(R2, STACK.key).call(HELPER.map_lookup_elem);
  a.jeqi(R0, 0, skip);
}

/**
 * Reserves a ring record of `size` bytes (a constant) and writes its header: ns (from `nsReg`, else
 * bpf_ktime_get_ns), tid, kind, role. The record's pointer ends in `dst` (one of r6-r9); when the ring is full the
 * per-CPU `lost` counter is raised and control jumps to `full`. The rest of the record is NOT zeroed (ring memory
 * holds older records): write every byte the reader reads. Uses STACK.key (and STACK.tmp when nsReg is r1-r5).
 */
export function emitReserve(a: Asm, k: KernelCtx, dst: Reg, size: number, kind: number, role: number, full: string, nsReg?: Reg): void {
  if (dst < 6 || dst > 9) throw new RangeError(`emitReserve: r${dst} does not survive helper calls`);
  const saved = nsReg !== undefined && nsReg < 6;
  if (saved) a.stx(8, R10, STACK.tmp, nsReg);
  const ok = a.fresh('rsv');
  a.ldMap(R1, k.maps.ring).movi(R2, size).movi(R3, 0).call(HELPER.ringbuf_reserve);
  a.jnei(R0, 0, ok);
  a.st(4, R10, STACK.key, 0).ldMap(R1, k.maps.lost).mov(R2, R10).addi(R2, STACK.key).call(HELPER.map_lookup_elem);
  a.jeqi(R0, 0, full);
  a.ldx(8, R1, R0, 0).addi(R1, 1).stx(8, R0, 0, R1).ja(full);
  a.label(ok).mov(dst, R0);
  if (nsReg === undefined) a.call(HELPER.ktime_get_ns).stx(8, dst, HEADER.ns, R0);
  else if (saved) a.ldx(8, R1, R10, STACK.tmp).stx(8, dst, HEADER.ns, R1);
  else a.stx(8, dst, HEADER.ns, nsReg);
  a.call(HELPER.get_current_pid_tgid).stx(4, dst, HEADER.tid, R0);
  a.st(1, dst, HEADER.kind, kind).st(1, dst, HEADER.role, role).st(2, dst, 14, 0);
}

/** Submits the record in `rec` (after which the register holds nothing usable). */
export function emitSubmit(a: Asm, rec: Reg): void {
  // flags 0: the kernel wakes a waiting reader only when it had caught up (adaptive)
  a.mov(R1, rec).movi(R2, 0).call(HELPER.ringbuf_submit);
}

/**
 * r0 = the current task's struct file * for the fd in `fdReg` (s64; 0 when out of range or empty). Uses STACK.tmp
 * and STACK.tmp2 (the fd stays in STACK.tmp2's low 32 bits).
 */
export function emitFileOf(a: Asm, k: KernelCtx, fdReg: Reg): void {
  const zero = a.fresh('fo0'), done = a.fresh('fo');
  const o = k.off;
  if (fdReg !== R1) a.mov(R1, fdReg);
  a.jmpi('jslt', R1, 0, zero).jmpi('jsgt', R1, 0x7fffffff, zero);
  a.stx(4, R10, STACK.tmp2, R1);
  a.call(HELPER.get_current_task);
  emitRead(a, STACK.tmp, 8, R0, o.task.files);
  a.ldx(8, R0, R10, STACK.tmp);
  emitRead(a, STACK.tmp, 8, R0, o.files.fdt);
  a.ldx(8, R0, R10, STACK.tmp);
  // max_fds into the upper half of tmp2
  emitRead(a, STACK.tmp2 + 4, 4, R0, o.fdtable.maxFds);
  a.ldx(4, R1, R10, STACK.tmp2).ldx(4, R2, R10, STACK.tmp2 + 4).jmp('jge', R1, R2, zero);
  a.ldx(8, R0, R10, STACK.tmp);
  emitRead(a, STACK.tmp, 8, R0, o.fdtable.fd);
  a.ldx(8, R0, R10, STACK.tmp).ldx(4, R1, R10, STACK.tmp2).lshi(R1, 3).add(R0, R1);
  emitRead(a, STACK.tmp, 8, R0, 0);
  a.ldx(8, R0, R10, STACK.tmp).ja(done);
  a.label(zero).movi(R0, 0);
  a.label(done);
}

/** dentries a WALK reads at most (the verifier walks every iteration), and by default */
export const WALK_MAX = 32;
export const WALK_DEFAULT = 24;

// the describe subprogram's own stack slots (its frame; STACK.key/tmp/tmp2 above them are the emitters')
const D_FILE = -32, D_INODE = -40, D_FDT = -48, D_MAGIC = -56, D_DENTRY = -64, D_SK = -72, D_WD = -80, D_WP = -88, D_WH = -96, D_WK = -104;
/** describe's struct buffer: members of one struct read together (fdtable, file, inode, dentry) */
const D_BUF = -184, D_BUF_BYTES = 80;

/**
 * Reads members of the struct whose address is in stack slot `ptrSlot` into describe's buffer: one probe read when
 * they lie within D_BUF_BYTES of each other (a probe read costs about as much for 80 bytes as for 8), else one
 * each. Returns where each member's bytes landed (by its offset). Clobbers r0-r5.
 */
function gather(a: Asm, ptrSlot: number, members: ReadonlyArray<{ off: number; size: number }>): (off: number) => number {
  const lo = Math.min(...members.map((m) => m.off));
  const hi = Math.max(...members.map((m) => m.off + m.size));
  a.ldx(8, R0, R10, ptrSlot);
  if (hi - lo <= D_BUF_BYTES) {
    emitRead(a, D_BUF, hi - lo, R0, lo);
    return (off) => D_BUF + off - lo;
  }
  if (members.length * 8 > D_BUF_BYTES) throw new RangeError('gather: too many members');
  members.forEach((m, i) => {
    if (i > 0) a.ldx(8, R0, R10, ptrSlot);
    emitRead(a, D_BUF + 8 * i, m.size, R0, m.off);
  });
  return (off) => D_BUF + 8 * members.findIndex((m) => m.off === off);
}

/**
 * The describe subprogram, emitted once at the end of a program that calls it (label DESCRIBE_FN):
 *   call with r1 = fd (s64), r2 = pointer to 72 writable bytes (a DESC), r3 = DESCRIBE flags, r4 = the event's ns
 *   (for the D/U/I records it writes)
 *   returns r0 = the struct file * (0: no such fd; the DESC then has fd set and file 0)
 * It writes D records (WALK) and U/I records (ADDRESS) itself: they reach the ring before any record reserved
 * after the call, so a DESC whose D/U/I records must come first is written to the stack and copied (emitCopy)
 * into its record reserved after the call. Stack: 184 bytes of its own frame (and may_goto's 8).
 */
export function emitDescribeFn(a: Asm, k: KernelCtx): void {
  const o = k.off;
  const ret0 = 'describe.ret0', retFile = 'describe.file', lean = 'describe.lean';
  a.label(DESCRIBE_FN);
  a.mov(R6, R2).mov(R7, R3).mov(R8, R4).mov(R9, R1);
  for (let i = 0; i < DESC.size; i += 8) a.st(8, R6, i, 0);
  a.stx(4, R6, DESC.fd, R9);
  a.jmpi('jslt', R9, 0, ret0).jmpi('jsgt', R9, 0x7fffffff, ret0);
  // the fd table, kept for the close-on-exec bits
  a.call(HELPER.get_current_task);
  emitRead(a, D_FDT, 8, R0, o.task.files);
  a.ldx(8, R0, R10, D_FDT);
  emitRead(a, D_FDT, 8, R0, o.files.fdt);
  const fdt = gather(a, D_FDT, [{ off: o.fdtable.maxFds, size: 4 }, { off: o.fdtable.fd, size: 8 }, { off: o.fdtable.closeOnExec, size: 8 }]);
  a.ldx(8, R1, R10, fdt(o.fdtable.closeOnExec)).stx(8, R10, D_FDT, R1);
  a.ldx(4, R1, R10, fdt(o.fdtable.maxFds)).jmp('jge', R9, R1, ret0);
  a.ldx(8, R0, R10, fdt(o.fdtable.fd)).mov(R1, R9).lshi(R1, 3).add(R0, R1);
  emitRead(a, D_FILE, 8, R0, 0);
  a.ldx(8, R1, R10, D_FILE).jeqi(R1, 0, ret0);
  a.stx(8, R6, DESC.file, R1);
  // FD_CLOEXEC: bit fd of close_on_exec (D_FDT now holds the bitmap's address)
  a.ldx(8, R0, R10, D_FDT).mov(R1, R9).rshi(R1, 6).lshi(R1, 3).add(R0, R1);
  emitRead(a, STACK.tmp, 8, R0, 0);
  a.ldx(8, R1, R10, STACK.tmp).mov(R2, R9).andi(R2, 63).alu('rsh', R1, R2).andi(R1, 1).stx(1, R6, DESC.cloexec, R1);
  // the file: its inode, path (mount, dentry) and private data (a socket's struct socket) in one read
  const file = gather(a, D_FILE, [{ off: o.file.inode, size: 8 }, { off: o.file.pathMnt, size: 8 }, { off: o.file.pathDentry, size: 8 }, { off: o.file.privateData, size: 8 }]);
  a.ldx(8, R1, R10, file(o.file.inode)).stx(8, R10, D_INODE, R1);
  a.ldx(8, R1, R10, file(o.file.pathDentry)).stx(8, R10, D_DENTRY, R1);
  a.ldx(8, R1, R10, file(o.file.pathMnt)).stx(8, R10, STACK.tmp2, R1);
  a.ldx(8, R1, R10, file(o.file.privateData)).stx(8, R10, D_SK, R1);
  const inode = gather(a, D_INODE, [{ off: o.inode.ino, size: 8 }, { off: o.inode.sb, size: 8 }, { off: o.inode.mode, size: 2 }, { off: o.inode.nlink, size: 4 }]);
  a.ldx(8, R1, R10, inode(o.inode.ino)).stx(8, R6, DESC.ino, R1);
  a.jmpi('jset', R7, DESCRIBE.LEAN, lean);
  a.ldx(2, R1, R10, inode(o.inode.mode)).stx(4, R6, DESC.mode, R1);
  a.ldx(4, R1, R10, inode(o.inode.nlink)).stx(4, R6, DESC.nlink, R1);
  a.ldx(8, R0, R10, inode(o.inode.sb));
  emitRead(a, D_MAGIC, 8, R0, o.superBlock.magic);
  a.ldx(4, R1, R10, D_MAGIC).stx(4, R6, DESC.magic, R1);
  a.ldx(8, R1, R10, D_DENTRY).stx(8, R6, DESC.dentry, R1);
  // the mount: its root, and the struct mount around the vfsmount for its id
  a.ldx(8, R0, R10, STACK.tmp2);
  emitRead(a, STACK.tmp, 8, R0, o.vfsmount.mntRoot);
  a.ldx(8, R1, R10, STACK.tmp).stx(8, R6, DESC.mntRoot, R1);
  const noMnt = a.fresh('dmnt');
  a.ldx(8, R0, R10, STACK.tmp2).jeqi(R0, 0, noMnt);
  emitRead(a, STACK.tmp, 4, R0, o.mount.mntId - o.mount.mnt);
  a.ldx(4, R1, R10, STACK.tmp).stx(4, R6, DESC.mntId, R1);
  a.label(noMnt);
  // a pidfd: its struct pid's first upid nr
  const notPid = a.fresh('dpid');
  a.ldx(4, R1, R10, D_MAGIC).jnei(R1, MAGIC.PIDFS, notPid);
  a.ldx(8, R0, R10, D_INODE);
  emitRead(a, STACK.tmp, 8, R0, o.inode.private);
  a.ldx(8, R0, R10, STACK.tmp).jeqi(R0, 0, notPid);
  emitRead(a, STACK.tmp, 4, R0, o.pid.firstNr);
  a.ldx(4, R1, R10, STACK.tmp).stx(4, R6, DESC.aux, R1);
  a.label(notPid);
  describeSocket(a, k, retFile);
  describeWalk(a, k, retFile);
  a.label(lean).st(1, R6, DESC.lean, 1);
  a.label(retFile).ldx(8, R0, R10, D_FILE).exit();
  a.label(ret0).movi(R0, 0).exit();
}

/** describe's socket part: family, type, a unix peer's inode; with ADDRESS a U or I record. Falls through when not a socket. */
function describeSocket(a: Asm, k: KernelCtx, done: string): void {
  const o = k.off;
  const notSock = 'describe.nosock', unix = 'describe.unix', inet = 'describe.inet', uaddr = 'describe.uaddr';
  a.jmpi('jset', R7, DESCRIBE.PEER | DESCRIBE.ADDRESS, 'describe.sock').ja(notSock);
  a.label('describe.sock');
  a.ldx(4, R1, R10, D_MAGIC).jnei(R1, MAGIC.SOCKFS, notSock);
  // D_SK holds the file's private data: its struct socket
  a.ldx(8, R0, R10, D_SK);
  emitRead(a, D_SK, 8, R0, o.socket.sk);
  a.ldx(8, R0, R10, D_SK).jeqi(R0, 0, done);
  emitRead(a, STACK.tmp, 2, R0, o.sock.family);
  a.ldx(2, R1, R10, STACK.tmp).stx(2, R6, DESC.family, R1);
  a.ldx(8, R0, R10, D_SK);
  emitRead(a, STACK.tmp, 2, R0, o.sock.type);
  a.ldx(2, R1, R10, STACK.tmp).stx(2, R6, DESC.sockType, R1);
  a.ldx(2, R1, R6, DESC.family).jeqi(R1, 1, unix).jeqi(R1, 2, inet).jeqi(R1, 10, inet).ja(done);
  // AF_UNIX: the peer's inode (struct socket_alloc: the socket, then its inode)
  a.label(unix);
  a.ldx(8, R0, R10, D_SK);
  emitRead(a, STACK.tmp, 8, R0, o.unixSock.peer);
  a.ldx(8, R0, R10, STACK.tmp).jeqi(R0, 0, uaddr);
  emitRead(a, STACK.tmp, 8, R0, o.sock2.socket);
  a.ldx(8, R0, R10, STACK.tmp).jeqi(R0, 0, uaddr);
  emitRead(a, STACK.tmp, 8, R0, o.socketAlloc.vfsInode + o.inode.ino);
  a.ldx(8, R1, R10, STACK.tmp).stx(8, R6, DESC.peer, R1);
  a.label(uaddr);
  a.jmpi('jset', R7, DESCRIBE.ADDRESS, 'describe.uaddr2').ja(done);
  a.label('describe.uaddr2');
  a.ldx(8, R0, R10, D_SK);
  emitRead(a, D_WD, 8, R0, o.unixSock.addr);
  a.ldx(8, R0, R10, D_WD).jeqi(R0, 0, done);
  // struct unix_address: len counts sun_family's 2 bytes
  emitRead(a, STACK.tmp, 4, R0, o.unixAddress.len);
  a.ldx(4, R1, R10, STACK.tmp).addi(R1, -2).jmpi('jsle', R1, 0, done).stx(8, R10, D_WH, R1);
  emitReserve(a, k, R9, REC_U.size, KIND.U, 0, done, R8);
  roleFromFlags(a, R9);
  a.ldx(8, R1, R10, D_WH).stx(4, R9, REC_U.len, R1).st(4, R9, REC_U.len + 4, 0);
  const fits = a.fresh('ulen');
  a.ldx(8, R2, R10, D_WH).jmpi('jle', R2, SUN_PATH, fits).movi(R2, SUN_PATH);
  a.label(fits);
  a.ldx(8, R3, R10, D_WD).addi(R3, o.unixAddress.name + 2).mov(R1, R9).addi(R1, REC_U.path).call(HELPER.probe_read_kernel);
  emitSubmit(a, R9);
  a.ja(done);
  // AF_INET, AF_INET6: an I record
  a.label(inet);
  a.jmpi('jset', R7, DESCRIBE.ADDRESS, 'describe.inet2').ja(done);
  a.label('describe.inet2');
  emitReserve(a, k, R9, REC_I.size, KIND.I, 0, done, R8);
  roleFromFlags(a, R9);
  for (let i = 16; i < REC_I.size; i += 8) a.st(8, R9, i, 0);
  a.ldx(2, R1, R6, DESC.sockType).stx(4, R9, REC_I.type, R1);
  a.ldx(2, R1, R6, DESC.family).stx(2, R9, REC_I.family, R1);
  a.ldx(8, R0, R10, D_SK);
  emitRead(a, STACK.tmp, 1, R0, o.sock.state);
  a.ldx(1, R1, R10, STACK.tmp).stx(4, R9, REC_I.state, R1);
  a.ldx(8, R0, R10, D_SK);
  emitRead(a, STACK.tmp, 2, R0, o.sock.num);
  a.ldx(2, R1, R10, STACK.tmp).stx(2, R9, REC_I.lport, R1);
  a.ldx(8, R0, R10, D_SK);
  emitRead(a, STACK.tmp, 2, R0, o.sock.dport);
  // skc_dport is big-endian
  a.ldx(2, R1, R10, STACK.tmp).mov(R2, R1).rshi(R2, 8).lshi(R1, 8).alu('or', R1, R2).andi(R1, 0xffff).stx(2, R9, REC_I.rport, R1);
  const v6 = a.fresh('i6'), sub = a.fresh('isub');
  a.ldx(2, R1, R6, DESC.family).jnei(R1, 2, v6);
  inetAddr(a, o.sock.rcvSaddr, o.sock.daddr, 4);
  a.ja(sub);
  a.label(v6);
  inetAddr(a, o.sock.v6RcvSaddr, o.sock.v6Daddr, 16);
  a.label(sub);
  emitSubmit(a, R9);
  a.ja(done);
  a.label(notSock);
}

/** sun_path's size (struct sockaddr_un) */
const SUN_PATH = 108;

/** the record in `rec` takes its role from describe's flags (bits 16-23) */
function roleFromFlags(a: Asm, rec: Reg): void {
  a.mov(R1, R7).rshi(R1, 16).andi(R1, 0xff).stx(1, rec, HEADER.role, R1);
}

/** An I record's addresses (r9) from the sock (D_SK). */
function inetAddr(a: Asm, local: number, remote: number, bytes: number): void {
  for (const [at, off] of [[REC_I.laddr, local], [REC_I.raddr, remote]] as const) {
    a.ldx(8, R3, R10, D_SK).addi(R3, off).mov(R1, R9).addi(R1, at).movi(R2, bytes).call(HELPER.probe_read_kernel);
  }
}

/** describe's dentry walk (WALK): a D record per dentry up to its filesystem's root not in `dk` with the same key. */
function describeWalk(a: Asm, k: KernelCtx, done: string): void {
  const o = k.off;
  const loop = 'describe.walk', emit = 'describe.emit', next = 'describe.next', depthSet = 'describe.depth';
  a.jmpi('jset', R7, DESCRIBE.WALK, 'describe.walk0').ja(done);
  a.label('describe.walk0');
  // sockets, pipes and pidfds have no path
  a.ldx(4, R1, R10, D_MAGIC).jeqi(R1, MAGIC.SOCKFS, done).jeqi(R1, MAGIC.PIPEFS, done).jeqi(R1, MAGIC.PIDFS, done);
  a.rshi(R7, 8).andi(R7, 0xff).jnei(R7, 0, depthSet).movi(R7, WALK_DEFAULT);
  a.label(depthSet);
  a.ldx(8, R1, R10, D_DENTRY).stx(8, R10, D_WD, R1);
  // the level counter starts at a zero the verifier cannot see (a probe read of one): with may_goto heading the
  // loop it then verifies the body until its states converge (~11k insns processed over 24 levels before, 40 ms)
  a.st(8, R10, D_WK, 0).mov(R3, R10).addi(R3, D_WK).mov(R1, R10).addi(R1, D_WP).movi(R2, 8).call(HELPER.probe_read_kernel);
  a.ldx(8, R9, R10, D_WP);
  a.label(loop);
  a.mayGoto(done).jmpi('jge', R9, WALK_MAX, done).jmp('jge', R9, R7, done);
  a.ldx(8, R0, R10, D_WD).jeqi(R0, 0, done);
  const nameOff = o.dentry.name + o.qstr.name;
  const dentry = gather(a, D_WD, [{ off: o.dentry.parent, size: 8 }, { off: o.dentry.name + o.qstr.hashLen, size: 8 }, { off: nameOff, size: 8 }]);
  a.ldx(8, R1, R10, dentry(o.dentry.parent)).stx(8, R10, D_WP, R1);
  a.ldx(8, R1, R10, dentry(nameOff)).stx(8, R10, STACK.tmp, R1);
  a.ldx(8, R2, R10, dentry(o.dentry.name + o.qstr.hashLen)).stx(8, R10, D_WH, R2);
  a.ldx(8, R1, R10, D_WP).alu('xor', R1, R2).stx(8, R10, D_WK, R1);
  a.ldMap(R1, k.maps.dk).mov(R2, R10).addi(R2, D_WD).call(HELPER.map_lookup_elem);
  a.jeqi(R0, 0, emit).ldx(8, R1, R0, 0).ldx(8, R2, R10, D_WK).jmp('jeq', R1, R2, next);
  a.label(emit);
  emitReserve(a, k, R6, REC_D.size, KIND.D, 0, next, R8);
  a.ldx(8, R1, R10, D_WD).stx(8, R6, REC_D.dentry, R1);
  a.ldx(8, R1, R10, D_WP).stx(8, R6, REC_D.parent, R1);
  // hash_len: the hash in the low half, the length in the high half
  a.ldx(8, R1, R10, D_WH).rshi(R1, 32).stx(8, R6, REC_D.len, R1);
  a.ldx(8, R3, R10, STACK.tmp).mov(R1, R6).addi(R1, REC_D.name).movi(R2, NAME_BYTES).call(HELPER.probe_read_kernel_str);
  emitSubmit(a, R6);
  // known once written (a record lost to a full ring is written again next time)
  a.ldMap(R1, k.maps.dk).mov(R2, R10).addi(R2, D_WD).mov(R3, R10).addi(R3, D_WK).movi(R4, 0).call(HELPER.map_update_elem);
  a.label(next);
  a.ldx(8, R1, R10, D_WD).ldx(8, R2, R10, D_WP).jmp('jeq', R1, R2, done);
  a.stx(8, R10, D_WD, R2).addi(R9, 1).ja(loop);
}

/** The common exit: r0 = 0; exit. */
export function emitReturn(a: Asm, label?: string): void {
  if (label !== undefined) a.label(label);
  a.movi(0, 0).exit();
}
