// Building blocks of the native engine's BPF programs (pure: offsets and map fds come in; instructions go out).
// ./program.ts (the fd-table and process probes) and ./messages.ts (the SCM_RIGHTS probes) are made of these.
//
// CONTRACT (the API both program files rely on; bodies may change, signatures only by agreement):
//
// Registers: r10 is the frame pointer (the stack is [r10-512, r10)). Helpers and these emitters clobber r0-r5;
// r6-r9 survive them. Each emitter documents which stack slots it uses: STACK below reserves the top for them.
//
// Tracepoint contexts (struct trace_event_raw_sys_enter / _sys_exit, include/trace/events/syscalls.h):
//   sys_enter_*: ctx+8 int __syscall_nr, ctx+16 unsigned long args[6]
//   sys_exit_*:  ctx+8 int __syscall_nr, ctx+16 long ret
// sched tracepoints: offsets from their tracefs `format` files (KernelCtx.sched).
import { Asm, type Reg } from '../asm.js';

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
}

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
  /** sched tracepoint field offsets (tracefs format): fork's child_pid, exec's filename (__data_loc) and old_pid */
  sched: { forkChild: number; execFilename: number; execOldPid: number };
}

/** One BPF program and the tracepoints (tracefs `category/name`) it is attached to. */
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

/**
 * Member offsets from the kernel's BTF; a string naming the first member missing (the engine is then unavailable,
 * and says which member).
 */
export declare function kernelOffsets(btf: Uint8Array): Offsets | string;

/**
 * The follow filter: jumps to `skip` unless the current task's thread group is followed (or, with --all, unless it
 * is fdwatch itself or a kernel thread). Leaves r6-r9 alone; uses STACK.key.
 */
export declare function emitFilter(a: Asm, k: KernelCtx, skip: string): void;

/**
 * Reserves a ring record of `size` bytes (a constant) and writes its header: ns (from `nsReg`, else
 * bpf_ktime_get_ns), tid, kind, role. The record's pointer ends in `dst` (one of r6-r9); when the ring is full the
 * per-CPU `lost` counter is raised and control jumps to `full`.
 */
export declare function emitReserve(a: Asm, k: KernelCtx, dst: Reg, size: number, kind: number, role: number, full: string, nsReg?: Reg): void;

/** Submits the record in `rec` (after which the register holds nothing usable). */
export declare function emitSubmit(a: Asm, rec: Reg): void;

/**
 * r0 = the current task's struct file * for the fd in `fdReg` (s64; 0 when out of range or empty). Uses STACK.tmp
 * and STACK.tmp2.
 */
export declare function emitFileOf(a: Asm, k: KernelCtx, fdReg: Reg): void;

/**
 * The describe subprogram, emitted once at the end of a program that calls it (label DESCRIBE_FN):
 *   call with r1 = fd (s64), r2 = pointer to 72 writable bytes (a DESC in a reserved record), r3 = DESCRIBE flags,
 *   r4 = the event's ns (for the D/U/I records it writes)
 *   returns r0 = the struct file * (0: no such fd; the DESC then has fd set and file 0)
 * It writes D records (WALK) and U/I records (ADDRESS) itself, before the caller submits the record holding the DESC.
 */
export const DESCRIBE_FN = 'describe';
export declare function emitDescribeFn(a: Asm, k: KernelCtx): void;

/** The common exit: r0 = 0; exit. */
export function emitReturn(a: Asm, label?: string): void {
  if (label !== undefined) a.label(label);
  a.movi(0, 0).exit();
}
