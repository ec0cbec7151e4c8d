// The native eBPF engine's ring buffer records: the kernel side (./program.ts writes them) and fdwatch's side
// (./decode.ts reads them) share these layouts. Pure constants.
//
// One record per line of the bpftrace program's protocol (../program.ts's header comment says what each kind
// means; the semantics are the same, only the encoding differs): a probe run writes its D/F/U/I/G/H/M records, then
// the record that ends its group (E, P, X, Q). A probe runs on one CPU without preemption, and the ring buffer is
// one for all CPUs, ordered by reservation: a group's records come in order, other CPUs' records may interleave.
// No W/T heartbeats: everything reserved before a drain began has been read once that drain saw no busy record.
//
// Every record starts with HEADER (16 bytes), little-endian:
//   0 u64 ns        kernel time (bpf_ktime_get_ns, CLOCK_MONOTONIC); a send's E: its entry time
//   8 u32 tid
//  12 u8  kind      an ASCII letter: KIND below
//  13 u8  role      F/U/I: the fd's role ('r' result, 's' socket, 'p' pidfd, 'm' message fd), else 0
//  14 u16 spare (0)
// Records are 8-byte aligned; sizes below include the header.

export const HEADER = { ns: 0, tid: 8, kind: 12, role: 13, size: 16 } as const;

export const KIND = {
  D: 0x44, F: 0x46, U: 0x55, I: 0x49, G: 0x47, H: 0x48, M: 0x4d, E: 0x45, P: 0x50, X: 0x58, Q: 0x51,
} as const;

/**
 * DESC (72 bytes at some base): what an fd refers to, read in the kernel (the text protocol's 14 DESC fields).
 * file: its struct file * (the open file description's identity); 0 when the fd slot is empty.
 * lean: only fd, file, ino, cloexec were read (an H record's fd; the rest are 0).
 */
export const DESC = {
  file: 0, // u64
  ino: 8, // u64 inode->i_ino
  mntRoot: 16, // u64 vfsmount->mnt_root (struct dentry *)
  dentry: 24, // u64 file->f_path.dentry
  peer: 32, // u64 a unix socket's peer inode (0: none)
  fd: 40, // s32
  magic: 44, // u32 inode->i_sb->s_magic
  mode: 48, // u32 inode->i_mode
  nlink: 52, // u32 inode->i_nlink
  mntId: 56, // s32 struct mount's mnt_id
  aux: 60, // s32 a pidfd's pid (its struct pid's first upid nr)
  family: 64, // s16 sock->__sk_common.skc_family (sockets only)
  sockType: 66, // s16 sock->sk_type
  cloexec: 68, // u8 1: FD_CLOEXEC (fdtable->close_on_exec)
  lean: 69, // u8 1: only fd, file, ino, cloexec
  size: 72,
} as const;

/** Bytes of a name or path kept (the parser's strlen): NAME_MAX, so no dentry name is ever cut. */
export const NATIVE_STRLEN = 255;
export const NAME_BYTES = 256;

/** D: a dentry's name (printed once per (dentry, parent, name) while the kernel's cache remembers it). */
export const REC_D = { dentry: 16, parent: 24, len: 32, name: 40, size: 40 + NAME_BYTES } as const; // len: d_name.len (may exceed NATIVE_STRLEN: cut)
/** F: an fd of the event that follows, in full. */
export const REC_F = { desc: 16, size: 16 + DESC.size } as const;
/** U: the bound address of a unix socket described next: len = addr->len - 2 (sun_path's bytes, may start with NUL). */
export const REC_U = { len: 16, path: 24, size: 24 + 112 } as const;
/** I: an inet socket described next; addresses in network order (4 bytes used for AF_INET), ports in host order. */
export const REC_I = { type: 16, state: 20, family: 24, lport: 26, rport: 28, laddr: 32, raddr: 48, size: 64 } as const;
/** G/H: fd `i` of an SCM_RIGHTS cmsg of `nfds` fds in message `msg` (G: DESC in full; H: lean DESC). */
export const REC_G = { msg: 16, nfds: 20, ctrunc: 24, i: 28, desc: 32, size: 32 + DESC.size } as const;
/** M: an SCM_RIGHTS cmsg without fds, or MSG_CTRUNC with none. */
export const REC_M = { msg: 16, nfds: 20, ctrunc: 24, size: 32 } as const;
/**
 * E: a call that changed an fd table (or mapped a file); ends its tid's group. nr: the x86-64 syscall number.
 * fields: the text E line's fixed fields in order (../program.ts: per family), as 64-bit integers (the decoder
 * knows which are pointers); hasDesc: the DESC that follows them in the text line. A record with hasDesc 0 is
 * `desc` bytes long (it ends where the DESC would start: a close, close_range, a pair's or a message's E); one
 * with hasDesc 1 is `size` bytes, its DESC at `desc`.
 */
export const REC_E = { tgid: 16, euid: 20, nr: 24, nfields: 28, fields: 32, maxFields: 8, hasDesc: 96, desc: 104, size: 104 + DESC.size } as const;
/** P: sched_process_fork in the parent; flags: the parent's clone flags | CLONE_SEEN, or 0 (a kernel-made task). */
export const REC_P = { tgid: 16, euid: 20, child: 24, which: 28, flags: 32, size: 40 } as const;
/** X: sched_process_exec; len: the file name's length (cut at NATIVE_STRLEN). */
export const REC_X = { tgid: 16, euid: 20, oldTid: 24, len: 28, comm: 32, path: 48, size: 48 + NAME_BYTES } as const;
/** Q: sched_process_exit. */
export const REC_Q = { tgid: 16, groupDead: 20, exitCode: 24, size: 32 } as const;

/**
 * Ring buffer bytes (a power of two pages): 16 MB, ~100k records, a second of a flood, for --all and for followed
 * processes alike. A 4 MB ring (~2 ms to make, map and free, against 15-25 ms) lost 25-60k events and a third to
 * a half of the transfers of bench/workload.c launched under it (8 processes passing 12,000 fds in 0.2 s); 8 MB
 * still lost some in 3 runs of 4, 16 MB none in 3.
 */
export const RING_BYTES = 1 << 24;
export const RING_BYTES_FOLLOW = 1 << 24;
export const ringBytes = (all: boolean): number => (all ? RING_BYTES : RING_BYTES_FOLLOW);
