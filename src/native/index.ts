// The only module that touches koffi: kcmp, pidfd_open, pidfd_getfd, the sock_diag netlink dump, a
// directory-fd reader of fd tables for the whole-machine scan, and bpf(2) for the native eBPF engine.
//
// Public interface (every call but bpfProgLoadAsync is synchronous; none throws for a kernel or loader problem):
//   nativeStatus(): 'ok' | Unavailable                       koffi + libc loaded and kcmp usable?
//   kcmpFile(pid1, fd1, pid2, fd2): 'same' | 'different' | Unavailable | Failed
//   kcmpFileOrder(pid1, fd1, pid2, fd2): -1 | 0 | 1 | Unavailable | Failed   (kcmp orders files: sortable)
//   pidfdOpen(pid, flags?): number | Unavailable | Failed    a new pidfd (caller closes it with fs.closeSync)
//   pidfdGetfd(pidfd, targetFd, flags?): number | Unavailable | Failed   a copy of the target's fd in this process
//   unixDiag(): Map<inode, UnixDiagSocket> | Unavailable     every Unix socket in this network namespace, with peer
//   readFdTable(fdDir, fdinfoDir, parse?, hints?): FdTableRead | Unavailable | Failed
//                                   every fd link and fdinfo text (or what parse makes of its bytes) of one
//                                   process through directory fds (getdents64/openat/readlinkat), skipping
//                                   the readlinkat or statx that hints answer from the fdinfo: the
//                                   whole-machine scan's hot loop
//   pipe(): [readFd, writeFd] | Unavailable | Failed   a close-on-exec pipe (Node has no synchronous pipe)
//   pollIn(fd, ms): 'ready' | 'timeout' | Failed      waits until fd is readable (or at EOF), at most ms
//   setPipeSize(fd, bytes): number | Unavailable | Failed   fcntl(F_SETPIPE_SZ): the pipe's capacity now
//   bpfMapCreate / bpfMapUpdate / bpfMapLookup / bpfMapDelete / bpfMapNextKey   bpf(2) maps
//   bpfProgLoad(spec): fd | Unavailable | BpfLoadFailed      a program, or the verifier's errno and log
//   bpfProgLoadAsync(spec): Promise<the same>                the same load on one of koffi's worker threads: the
//                                   verifier of several programs on several CPUs at once
//   bpfRawTracepointOpen(name, progFd): link fd             a raw tracepoint program attached; closing the fd
//                                   (or exiting) detaches it
//   bpfAttachTracepoint(id, progFd): perf fd                 a tracepoint program attached through a perf event;
//                                   its last close detaches it (~60 ms in the kernel)
//   bpfRingOpen(mapFd, size): BpfRing                        a ring buffer map's records, read in place
//   bpfProgramNames(): string[]                              programs loaded on the host (tests: none left)
//   withMappedFile(path, use): use's result | Unavailable | Failed   a file mapped read-only (MAP_PRIVATE) while
//                                   `use` reads it, unmapped after (one mmap instead of a read per page of sysfs)
//   closeFd(fd)
//
// Unavailable ({ unavailable: reason }) means the facility cannot work here at all: koffi not loadable,
// ENOSYS, EPERM from a seccomp policy, sock_diag missing, or FDWATCH_NATIVE=off in the environment.
// Failed ({ failed: errno name }) is about this one call (EBADF: the fd closed, ESRCH: the process exited,
// EPERM/EACCES: no ptrace access to that process).
// koffi is loaded lazily (process.dlopen, or createRequire) so a missing native build is a typed Unavailable, not an import error.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { LibraryHandle } from 'koffi';
import {
  decodeUnixDiagBatch,
  encodeUnixDiagRequest,
  NETLINK_SOCK_DIAG,
  type UnixDiagSocket,
} from './sockdiag-codec.js';

export type { UnixDiagSocket } from './sockdiag-codec.js';

export interface Unavailable {
  unavailable: string;
}
export interface Failed {
  failed: string;
}

export function isUnavailable(x: unknown): x is Unavailable {
  return typeof x === 'object' && x !== null && 'unavailable' in x;
}
export function isFailed(x: unknown): x is Failed {
  return typeof x === 'object' && x !== null && 'failed' in x;
}

// x86-64 syscall numbers; other architectures report Unavailable rather than call the wrong syscall.
const SYSCALL_NUMBERS: Record<string, { kcmp: number; pidfd_open: number; pidfd_getfd: number }> = {
  x64: { kcmp: 312, pidfd_open: 434, pidfd_getfd: 438 },
  arm64: { kcmp: 272, pidfd_open: 434, pidfd_getfd: 438 },
};
const KCMP_FILE = 0;
const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;

type SyscallFn = (nr: number, ...typesAndArgs: Array<string | number>) => number | bigint;
type Syscall5 = (nr: number, a: number, b: number, c: number, d: number, e: number) => number | bigint;

interface Libc {
  koffi: { errno(): number };
  lib: LibraryHandle;
  syscall: SyscallFn;
  /** syscall(2) with five integer arguments, declared without varargs: koffi then skips parsing type names per call
   * (kcmp runs ~10k times in a whole-machine scan). glibc's syscall is assembly that reads its arguments from the
   * integer registers, where a variadic and a fixed call put them alike on x86-64 and arm64. */
  syscall5: Syscall5;
  socket: (domain: number, type: number, protocol: number) => number;
  send: (fd: number, buf: Buffer, len: number, flags: number) => number | bigint;
  recv: (fd: number, buf: Buffer, len: number, flags: number) => number | bigint;
  close: (fd: number) => number;
  nr: { kcmp: number; pidfd_open: number; pidfd_getfd: number };
}

interface PipeCalls {
  pipe2: (fds: Int32Array, flags: number) => number;
  poll: (fds: Buffer, n: number, timeout: number) => number;
  fcntl: (fd: number, cmd: number, arg: number) => number;
}

interface DirCalls {
  open: (path: string, flags: number) => number;
  openat: (dirfd: number, name: string, flags: number) => number;
  read: (fd: number, buf: Buffer, len: number) => number | bigint;
  readlinkat: (dirfd: number, name: string, buf: Buffer, len: number) => number | bigint;
  getdents64: (fd: number, buf: Buffer, len: number) => number | bigint;
  statx: (dirfd: number, name: string, flags: number, mask: number, buf: Buffer) => number;
}

let libc: Libc | Unavailable | undefined;
let dirCalls: DirCalls | Unavailable | undefined;
let pipeCalls: PipeCalls | Unavailable | undefined;

const errnoNames = new Map<number, string>(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));
const errnoName = (n: number): string => errnoNames.get(n) ?? `errno ${n}`;

type Koffi = typeof import('koffi');

/** the architecture as musl's loader path names it (/lib/ld-musl-ARCH.so.1) */
const MUSL_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64' };

/**
 * koffi's native module, taken straight from its platform package where this is a glibc Linux (no musl loader on
 * the machine), else through koffi's own loader: that loader (package.json reads, libc detection from Node's ELF
 * header, wrappers for deprecated calls) costs ~10 ms of CPU and ~20 ms of a snapshot's start-up, and the native
 * module exports every function it re-exports. The platform package's file is found as node's resolution would
 * (a node_modules folder here or above) and opened with process.dlopen, as node's loader of `.node` files does:
 * from the start-up snapshot, require's resolution first compiled node:module and the CommonJS loader (~3 ms of
 * `fdwatch snapshot PID`).
 */
function requireKoffi(): Koffi {
  const arch = MUSL_ARCH[process.arch];
  if (process.platform === 'linux' && arch && !fs.existsSync(`/lib/ld-musl-${arch}.so.1`)) {
    const file = platformKoffi();
    try {
      const m = { exports: {} as Partial<Koffi> };
      if (file !== null) process.dlopen(m, file);
      else m.exports = createRequire(import.meta.url)(`@koromix/koffi-linux-${process.arch}/linux_${process.arch}/koffi.node`) as Partial<Koffi>;
      const k = m.exports;
      if (typeof k.load === 'function' && typeof k.errno === 'function') return k as Koffi;
    } catch {
      // another layout or a build that does not load here: koffi's loader knows
    }
  }
  return createRequire(import.meta.url)('koffi') as Koffi;
}

/** node_modules/@koromix/koffi-linux-ARCH/linux_ARCH/koffi.node in the first folder from this module's up that has it, or null. */
function platformKoffi(): string | null {
  const rel = path.join('node_modules', '@koromix', `koffi-linux-${process.arch}`, `linux_${process.arch}`, 'koffi.node');
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    // node's resolution looks in no node_modules/node_modules
    if (path.basename(dir) !== 'node_modules') {
      const f = path.join(dir, rel);
      if (fs.existsSync(f)) return f;
    }
    if (path.dirname(dir) === dir) return null;
  }
}

function loadLibc(): Libc | Unavailable {
  if (libc) return libc;
  if (process.env['FDWATCH_NATIVE'] === 'off') return (libc = { unavailable: 'disabled by FDWATCH_NATIVE=off' });
  const nr = SYSCALL_NUMBERS[process.arch];
  if (process.platform !== 'linux' || !nr) return (libc = { unavailable: `unsupported platform ${process.platform}/${process.arch}` });
  try {
    const koffi = requireKoffi();
    const lib = koffi.load('libc.so.6');
    libc = {
      koffi,
      lib,
      // variadic, as glibc declares it: the ABI then matches whatever the syscall takes
      syscall: lib.func('long syscall(long number, ...)') as unknown as SyscallFn,
      syscall5: lib.func('long syscall(long number, long a, long b, long c, long d, long e)') as unknown as Syscall5,
      socket: lib.func('int socket(int domain, int type, int protocol)') as unknown as Libc['socket'],
      send: lib.func('long send(int fd, const void *buf, size_t len, int flags)') as unknown as Libc['send'],
      recv: lib.func('long recv(int fd, _Out_ void *buf, size_t len, int flags)') as unknown as Libc['recv'],
      close: lib.func('int close(int fd)') as unknown as Libc['close'],
      nr,
    };
    return libc;
  } catch (err) {
    return (libc = { unavailable: `koffi not loadable: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` });
  }
}

/** Call errors that mean "this facility does not exist or is forbidden here", not "this pair failed". */
function unavailableErrno(e: number): boolean {
  return e === os.constants.errno.ENOSYS || e === os.constants.errno.EOPNOTSUPP;
}

let kcmpProbe: 'ok' | Unavailable | undefined;

/** kcmp on two copies of our own fd: EPERM here is a seccomp or LSM policy, not a per-process denial. */
function probeKcmp(c: Libc): 'ok' | Unavailable {
  if (kcmpProbe) return kcmpProbe;
  let fd = -1;
  try {
    fd = fs.openSync('/dev/null', 'r');
    const r = Number(c.syscall(c.nr.kcmp, 'int', process.pid, 'int', process.pid, 'int', KCMP_FILE, 'ulong', fd, 'ulong', fd));
    kcmpProbe = r === 0 ? 'ok' : { unavailable: `kcmp: ${r < 0 ? errnoName(c.koffi.errno()) : `unexpected result ${r}`}` };
  } catch (err) {
    kcmpProbe = { unavailable: `kcmp: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
  return kcmpProbe;
}

/** 'ok' when kcmp works; otherwise why not. */
export function nativeStatus(): 'ok' | Unavailable {
  const c = loadLibc();
  if (isUnavailable(c)) return c;
  return probeKcmp(c);
}

/**
 * Orders two open file descriptions the way the kernel does (kcmp compares obfuscated file pointers),
 * so fds can be sorted and equal neighbours are one open file description.
 */
export function kcmpFileOrder(pid1: number, fd1: number, pid2: number, fd2: number): -1 | 0 | 1 | Unavailable | Failed {
  const c = loadLibc();
  if (isUnavailable(c)) return c;
  const probe = probeKcmp(c);
  if (probe !== 'ok') return probe;
  const r = Number(c.syscall5(c.nr.kcmp, pid1, pid2, KCMP_FILE, fd1, fd2));
  switch (r) {
    case 0:
      return 0;
    case 1:
      return -1;
    case 2:
      return 1;
    case -1: {
      const e = c.koffi.errno();
      return unavailableErrno(e) ? { unavailable: `kcmp: ${errnoName(e)}` } : { failed: errnoName(e) };
    }
    default:
      // 3 = "not equal, order unknown": never returned for KCMP_FILE, but do not pretend an order
      return { failed: `kcmp returned ${r}` };
  }
}

/** Whether fd1 of pid1 and fd2 of pid2 are one open file description. */
export function kcmpFile(pid1: number, fd1: number, pid2: number, fd2: number): 'same' | 'different' | Unavailable | Failed {
  const r = kcmpFileOrder(pid1, fd1, pid2, fd2);
  if (typeof r !== 'number') return r;
  return r === 0 ? 'same' : 'different';
}

function fdOrError(c: Libc, r: number, what: string): number | Unavailable | Failed {
  if (r >= 0) return r;
  const e = c.koffi.errno();
  return unavailableErrno(e) ? { unavailable: `${what}: ${errnoName(e)}` } : { failed: errnoName(e) };
}

/** pidfd_open(2): a pidfd for pid (close it with fs.closeSync). */
export function pidfdOpen(pid: number, flags = 0): number | Unavailable | Failed {
  const c = loadLibc();
  if (isUnavailable(c)) return c;
  return fdOrError(c, Number(c.syscall(c.nr.pidfd_open, 'int', pid, 'uint', flags)), 'pidfd_open');
}

/** pidfd_getfd(2): a duplicate, in this process, of targetFd of the process behind pidfd (needs ptrace access). */
export function pidfdGetfd(pidfd: number, targetFd: number, flags = 0): number | Unavailable | Failed {
  const c = loadLibc();
  if (isUnavailable(c)) return c;
  return fdOrError(c, Number(c.syscall(c.nr.pidfd_getfd, 'int', pidfd, 'int', targetFd, 'uint', flags)), 'pidfd_getfd');
}

function loadPipeCalls(): PipeCalls | Unavailable {
  if (pipeCalls) return pipeCalls;
  const c = loadLibc();
  if (isUnavailable(c)) return (pipeCalls = c);
  try {
    pipeCalls = {
      pipe2: c.lib.func('int pipe2(_Out_ int *fds, int flags)') as unknown as PipeCalls['pipe2'],
      poll: c.lib.func('int poll(_Inout_ void *fds, unsigned long n, int timeout)') as unknown as PipeCalls['poll'],
      // F_SETPIPE_SZ takes an int: the fixed three-argument form has the variadic one's ABI for it
      fcntl: c.lib.func('int fcntl(int fd, int cmd, int arg)') as unknown as PipeCalls['fcntl'],
    };
    return pipeCalls;
  } catch (err) {
    return (pipeCalls = { unavailable: `libc pipe calls: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` });
  }
}

/** pipe2(O_CLOEXEC): [read end, write end] (close them with fs.closeSync; a child given one by spawn's stdio gets it open). */
export function pipe(): [number, number] | Unavailable | Failed {
  const p = loadPipeCalls();
  if (isUnavailable(p)) return p;
  const fds = new Int32Array(2);
  if (p.pipe2(fds, O_RDONLY_CLOEXEC) < 0) return { failed: errnoName((libc as Libc).koffi.errno()) };
  return [fds[0]!, fds[1]!];
}

const F_SETPIPE_SZ = 1031;

/** Sets a pipe's capacity (the kernel rounds it up to a power of two pages; unprivileged, at most pipe-max-size). */
export function setPipeSize(fd: number, bytes: number): number | Unavailable | Failed {
  const p = loadPipeCalls();
  if (isUnavailable(p)) return p;
  const r = p.fcntl(fd, F_SETPIPE_SZ, bytes);
  return r < 0 ? { failed: errnoName((libc as Libc).koffi.errno()) } : r;
}

const POLLIN = 0x1;

/** Waits until fd has data or is at end of file (or in error: the read that follows says which), at most `ms`. */
export function pollIn(fd: number, ms: number): 'ready' | 'timeout' | Unavailable | Failed {
  const p = loadPipeCalls();
  if (isUnavailable(p)) return p;
  // struct pollfd { int fd; short events; short revents; }
  const pfd = Buffer.alloc(8);
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(POLLIN, 4);
  const deadline = Date.now() + ms;
  for (;;) {
    const r = p.poll(pfd, 1, Math.max(0, deadline - Date.now()));
    if (r > 0) return 'ready';
    if (r === 0) return 'timeout';
    const e = (libc as Libc).koffi.errno();
    if (e !== os.constants.errno.EINTR) return { failed: errnoName(e) };
  }
}

let diagSeq = 1;

/** Dumps every Unix socket of this network namespace over NETLINK_SOCK_DIAG (what ss -x does). */
export function unixDiag(): Map<number, UnixDiagSocket> | Unavailable {
  const c = loadLibc();
  if (isUnavailable(c)) return c;
  const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return { unavailable: `sock_diag socket: ${errnoName(c.koffi.errno())}` };
  try {
    const req = Buffer.from(encodeUnixDiagRequest({ seq: diagSeq++ }));
    if (Number(c.send(fd, req, req.length, 0)) !== req.length) return { unavailable: `sock_diag send: ${errnoName(c.koffi.errno())}` };
    const out = new Map<number, UnixDiagSocket>();
    // netlink dumps arrive in datagrams of at most a few pages; 256 KiB never truncates one
    const buf = Buffer.allocUnsafe(256 * 1024);
    for (;;) {
      const n = Number(c.recv(fd, buf, buf.length, 0));
      if (n < 0) {
        const e = c.koffi.errno();
        if (e === os.constants.errno.EINTR) continue;
        return { unavailable: `sock_diag recv: ${errnoName(e)}` };
      }
      if (n === 0) return { unavailable: 'sock_diag: connection closed before the end of the dump' };
      const batch = decodeUnixDiagBatch(buf.subarray(0, n));
      for (const s of batch.sockets) out.set(s.inode, s);
      // ENOENT: the unix_diag module is not loaded
      if (batch.error !== null) return { unavailable: `sock_diag: ${errnoName(-batch.error)}` };
      if (batch.done) return out;
    }
  } finally {
    c.close(fd);
  }
}

export interface FdTableEntry<T = string> {
  fd: number;
  /** the fd/N link text */
  link: string;
  /** the fdinfo/N text (or what `parse` made of its bytes), or null when it could not be read */
  fdinfo: T | null;
  /** st_mode of the open file, for links that are paths (null otherwise or when statx failed) */
  mode: number | null;
}

export interface FdTableRead<T = string> {
  /** fds that were still open when read, in fd order */
  fds: Array<FdTableEntry<T>>;
  /** readlink said EACCES/EPERM: the rest of the table is not listed */
  linkDenied: boolean;
  /** fdinfo said EACCES/EPERM */
  fdinfoDenied: boolean;
}

/** Turns the bytes of one fdinfo file (buf[0..n)) into T; the buffer is reused for the next file. */
export type FdinfoParse<T> = (buf: Buffer, n: number) => T;

const O_RDONLY_DIR_CLOEXEC = 0o2200000; // O_RDONLY | O_DIRECTORY | O_CLOEXEC
const O_RDONLY_CLOEXEC = 0o2000000;

function loadDirCalls(): DirCalls | Unavailable {
  if (dirCalls) return dirCalls;
  const c = loadLibc();
  if (isUnavailable(c)) return (dirCalls = c);
  try {
    const lib = c.lib;
    dirCalls = {
      open: lib.func('int open(const char *path, int flags)') as unknown as DirCalls['open'],
      openat: lib.func('int openat(int dirfd, const char *name, int flags)') as unknown as DirCalls['openat'],
      read: lib.func('long read(int fd, _Out_ void *buf, size_t len)') as unknown as DirCalls['read'],
      readlinkat: lib.func('long readlinkat(int dirfd, const char *name, _Out_ void *buf, size_t len)') as unknown as DirCalls['readlinkat'],
      getdents64: lib.func('long getdents64(int fd, _Out_ void *buf, size_t len)') as unknown as DirCalls['getdents64'],
      statx: lib.func('int statx(int dirfd, const char *name, int flags, unsigned int mask, _Out_ void *buf)') as unknown as DirCalls['statx'],
    };
    return dirCalls;
  } catch (err) {
    return (dirCalls = { unavailable: `libc directory calls: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` });
  }
}

let dirBuf = Buffer.allocUnsafe(64 * 1024);
let textBuf = Buffer.allocUnsafe(64 * 1024);
const linkBuf = Buffer.allocUnsafe(8192); // PATH_MAX is 4096: a longer answer never fits a name
const statxBuf = Buffer.alloc(256); // struct statx
const STATX_TYPE = 0x1;
const STX_MODE_OFFSET = 28; // u32 mask, u32 blksize, u64 attributes, u32 nlink, u32 uid, u32 gid, u16 mode

const isDenied = (e: number): boolean => e === os.constants.errno.EACCES || e === os.constants.errno.EPERM;

/** Reads the single-record file (fdinfo) at openat(dirfd, name) into textBuf; its length, or -1 on error (errno left for the caller). */
function readAt(d: DirCalls, close: Libc['close'], dirfd: number, name: string): number {
  const fd = d.openat(dirfd, name, O_RDONLY_CLOEXEC);
  if (fd < 0) return -1;
  try {
    let n = 0;
    for (;;) {
      if (n === textBuf.length) {
        const bigger = Buffer.allocUnsafe(textBuf.length * 2);
        textBuf.copy(bigger, 0, 0, n);
        textBuf = bigger;
      }
      const room = textBuf.length - n;
      const r = Number(d.read(fd, n === 0 ? textBuf : textBuf.subarray(n), room));
      if (r < 0) return -1;
      n += r;
      // fdinfo is one seq_file record: it comes whole when it fits, so a short read is its end
      if (r === 0 || r < room) break;
    }
    return n;
  } finally {
    close(fd);
  }
}

const latin1: FdinfoParse<string> = (buf, n) => buf.toString('latin1', 0, n);

// fd numbers repeat from process to process: one name string per number, made once
const fdNames: string[] = [];
const fdName = (fd: number): string => (fdNames[fd] ??= String(fd));

/**
 * What the caller knows from an fd's parsed fdinfo, so that readFdTable can skip a syscall: a socket's or
 * pipe's link text is "socket:[ino]" / "pipe:[ino]" (the kernel's d_dname of sockfs and pipefs), and a
 * file's type does not change while it is open.
 */
export interface FdTableHints<T> {
  /** the link text this fdinfo implies for certain, or null (then it is read) */
  link(info: T): string | null;
  /** the st_mode of the file this fdinfo names when already known, or null (then it is asked) */
  mode(info: T): number | null;
  /** a link read (and the mode asked, for a path) for this fdinfo */
  learn(info: T, link: string, mode: number | null): void;
}

/**
 * Every fd of one process: names from getdents64 on fdDir, fdinfo by openat in fdinfoDir (its bytes
 * handed to `parse`, by default its latin1 text), links by readlinkat unless `hints` knows them from the
 * fdinfo (once one readlinkat of the process has shown its links are readable). Directory fds spare the
 * kernel a /proc path walk per file; this is the scan's hot loop.
 * Failed: the fd directory itself could not be opened (ENOENT: the process is gone; EACCES: not ours to read).
 */
export function readFdTable(fdDir: string, fdinfoDir: string | null): FdTableRead | Unavailable | Failed;
export function readFdTable<T>(fdDir: string, fdinfoDir: string | null, parse: FdinfoParse<T>, hints?: FdTableHints<T>): FdTableRead<T> | Unavailable | Failed;
export function readFdTable<T>(fdDir: string, fdinfoDir: string | null, parse?: FdinfoParse<T>, hints?: FdTableHints<T>): FdTableRead<T | string> | Unavailable | Failed {
  const d = loadDirCalls();
  if (isUnavailable(d)) return d;
  const c = libc as Libc;
  const toInfo: FdinfoParse<T | string> = parse ?? latin1;
  const dfd = d.open(fdDir, O_RDONLY_DIR_CLOEXEC);
  if (dfd < 0) return { failed: errnoName(c.koffi.errno()) };
  const out: FdTableRead<T | string> = { fds: [], linkDenied: false, fdinfoDenied: false };
  let ifd = -1;
  try {
    const nums: number[] = [];
    for (;;) {
      const n = Number(d.getdents64(dfd, dirBuf, dirBuf.length));
      if (n < 0) {
        const e = c.koffi.errno();
        if (e === os.constants.errno.EINVAL) {
          dirBuf = Buffer.allocUnsafe(dirBuf.length * 2); // one entry did not fit
          continue;
        }
        return { failed: errnoName(e) };
      }
      if (n === 0) break;
      // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
      for (let off = 0; off < n; ) {
        const reclen = dirBuf.readUInt16LE(off + 16);
        // fd names are decimal numbers ("." and ".." are not)
        let fd = 0;
        let p = off + 19;
        for (let ch = dirBuf[p]!; ch >= 0x30 && ch <= 0x39; ch = dirBuf[++p]!) fd = fd * 10 + (ch - 0x30);
        if (p > off + 19 && dirBuf[p] === 0) nums.push(fd);
        off += reclen;
      }
    }
    nums.sort((a, b) => a - b);
    if (fdinfoDir !== null) {
      ifd = d.open(fdinfoDir, O_RDONLY_DIR_CLOEXEC);
      if (ifd < 0 && isDenied(c.koffi.errno())) out.fdinfoDenied = true;
    }
    // a link is taken from the fdinfo only after one readlinkat of this process said links may be read
    let linksReadable = false;
    for (const fd of nums) {
      const name = fdName(fd);
      let fdinfo: T | string | null = null;
      if (ifd >= 0 && !out.fdinfoDenied) {
        const n = readAt(d, c.close, ifd, name);
        if (n < 0) {
          const e = c.koffi.errno();
          if (isDenied(e)) out.fdinfoDenied = true;
          else continue; // closed since the listing
        } else {
          fdinfo = toInfo(textBuf, n);
        }
      }
      let link = linksReadable && hints && fdinfo !== null ? hints.link(fdinfo as T) : null;
      let mode: number | null = null;
      if (link === null) {
        const len = Number(d.readlinkat(dfd, name, linkBuf, linkBuf.length));
        if (len < 0) {
          if (isDenied(c.koffi.errno())) {
            out.linkDenied = true; // decided per process: the other fds would fail the same way
            break;
          }
          continue; // ENOENT: closed between fdinfo and readlink
        }
        linksReadable = true;
        link = linkBuf.toString('utf8', 0, len);
        // a path: file, dir or device? statx through the magic link asks the open file itself
        if (linkBuf[0] === 0x2f) {
          if (hints && fdinfo !== null) mode = hints.mode(fdinfo as T);
          if (mode === null && d.statx(dfd, name, 0, STATX_TYPE, statxBuf) === 0) mode = statxBuf.readUInt16LE(STX_MODE_OFFSET);
        }
        if (hints && fdinfo !== null) hints.learn(fdinfo as T, link, mode);
      }
      out.fds.push({ fd, link, fdinfo, mode });
    }
    return out;
  } finally {
    c.close(dfd);
    if (ifd >= 0) c.close(ifd);
  }
}

// --- BPF: maps, programs, tracepoint attachment, the ring buffer (the native eBPF engine's kernel calls) ---
// bpf(2) commands and attribute layouts: include/uapi/linux/bpf.h; perf_event_open(2): include/uapi/linux/perf_event.h.

const SYS_BPF: Record<string, number> = { x64: 321, arm64: 280 };
const SYS_PERF_EVENT_OPEN: Record<string, number> = { x64: 298, arm64: 241 };
const PERF_TYPE_TRACEPOINT = 2;
const PERF_FLAG_FD_CLOEXEC = 8;
const PERF_EVENT_IOC_ENABLE = 0x2400;
const PERF_EVENT_IOC_SET_BPF = 0x40042408;
const BPF_MAP_CREATE = 0, BPF_MAP_LOOKUP_ELEM = 1, BPF_MAP_UPDATE_ELEM = 2, BPF_MAP_DELETE_ELEM = 3, BPF_MAP_GET_NEXT_KEY = 4, BPF_PROG_LOAD = 5, BPF_BTF_LOAD = 18;
const BPF_PROG_GET_NEXT_ID = 11, BPF_PROG_GET_FD_BY_ID = 13, BPF_OBJ_GET_INFO_BY_FD = 15, BPF_RAW_TRACEPOINT_OPEN = 17;
const PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED_ = 1;
const BPF_RINGBUF_BUSY_BIT = 0x80000000, BPF_RINGBUF_DISCARD_BIT = 0x40000000, BPF_RINGBUF_HDR_SZ = 8;

/** A map to create (BPF_MAP_CREATE): `type` is enum bpf_map_type (BPF_MAP_TYPE_HASH 1, ARRAY 2, PERCPU_ARRAY 6, LRU_HASH 9, RINGBUF 27). */
export interface BpfMapSpec {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  /** at most 15 characters: shown by bpftool and /proc/PID/fdinfo */
  name: string;
}

/** A program to load (BPF_PROG_LOAD): `type` is enum bpf_prog_type (BPF_PROG_TYPE_TRACEPOINT 5, RAW_TRACEPOINT 17). */
export interface BpfProgSpec {
  type: number;
  insns: Uint8Array;
  name: string;
  license?: string;
  expectedAttachType?: number;
  /** bytes of verifier log kept when the load fails (the log of a successful load is not asked for) */
  logSize?: number;
}

/** A load the verifier refused: its errno and the end of its log. */
export interface BpfLoadFailed extends Failed {
  log: string;
}

interface BpfCalls {
  bpf: ((nr: number, cmd: number, attr: Buffer, size: number) => number | bigint) & {
    /** the same call on a worker thread (koffi's `async`): its result, without errno */
    async(nr: number, cmd: number, attr: Buffer, size: number, done: (err: unknown, r: number | bigint) => void): void;
  };
  perfOpen: (nr: number, attr: Buffer, pid: number, cpu: number, group: number, flags: number) => number | bigint;
  ioctl: (fd: number, req: number, arg: number) => number;
  mmap: (addr: null, len: number, prot: number, flags: number, fd: number, off: number) => unknown;
  munmap: (addr: unknown, len: number) => number;
  address: (b: Buffer | Uint8Array) => bigint;
  view: (ptr: unknown, len: number) => ArrayBuffer;
  nrBpf: number;
  nrPerf: number;
}

let bpfCalls: BpfCalls | Unavailable | undefined;

function loadBpfCalls(): BpfCalls | Unavailable {
  if (bpfCalls) return bpfCalls;
  const c = loadLibc();
  if (isUnavailable(c)) return (bpfCalls = c);
  const nrBpf = SYS_BPF[process.arch];
  const nrPerf = SYS_PERF_EVENT_OPEN[process.arch];
  if (nrBpf === undefined || nrPerf === undefined) return (bpfCalls = { unavailable: `bpf: unsupported architecture ${process.arch}` });
  try {
    const k = c.koffi as unknown as { address(b: unknown): bigint; view(p: unknown, len: number): ArrayBuffer };
    bpfCalls = {
      bpf: c.lib.func('long syscall(long nr, long cmd, void *attr, long size)') as unknown as BpfCalls['bpf'],
      perfOpen: c.lib.func('long syscall(long nr, void *attr, long pid, long cpu, long group, long flags)') as unknown as BpfCalls['perfOpen'],
      ioctl: c.lib.func('int ioctl(int fd, unsigned long req, long arg)') as unknown as BpfCalls['ioctl'],
      mmap: c.lib.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)') as unknown as BpfCalls['mmap'],
      munmap: c.lib.func('int munmap(void *addr, size_t len)') as unknown as BpfCalls['munmap'],
      address: (b) => k.address(b),
      view: (p, len) => k.view(p, len),
      nrBpf,
      nrPerf,
    };
    return bpfCalls;
  } catch (err) {
    return (bpfCalls = { unavailable: `libc bpf calls: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` });
  }
}

function bpfErrno(): number {
  return (libc as Libc).koffi.errno();
}

/** An errno that means the facility is missing or forbidden here (no kernel support, no privilege). */
function bpfUnavailableErrno(e: number): boolean {
  return unavailableErrno(e) || e === os.constants.errno.EPERM;
}

function bpfCall(b: BpfCalls, cmd: number, attr: Buffer): number {
  return Number(b.bpf(b.nrBpf, cmd, attr, attr.length));
}

/** BPF_MAP_CREATE: a map's fd (close it with closeFd; the map lives while an fd or a program holds it). */
export function bpfMapCreate(spec: BpfMapSpec): number | Unavailable | Failed {
  const b = loadBpfCalls();
  if (isUnavailable(b)) return b;
  const a = Buffer.alloc(72);
  a.writeUInt32LE(spec.type, 0);
  a.writeUInt32LE(spec.keySize, 4);
  a.writeUInt32LE(spec.valueSize, 8);
  a.writeUInt32LE(spec.maxEntries, 12);
  a.writeUInt32LE(spec.flags ?? 0, 16);
  a.write(spec.name.slice(0, 15), 28, 'latin1');
  const r = bpfCall(b, BPF_MAP_CREATE, a);
  if (r >= 0) return r;
  const e = bpfErrno();
  return bpfUnavailableErrno(e) ? { unavailable: `bpf map ${spec.name}: ${errnoName(e)}` } : { failed: errnoName(e) };
}

function mapElemAttr(b: BpfCalls, fd: number, key: Uint8Array, value: Uint8Array | null, flags: number): Buffer {
  const a = Buffer.alloc(32);
  a.writeUInt32LE(fd, 0);
  a.writeBigUInt64LE(b.address(key), 8);
  if (value) a.writeBigUInt64LE(b.address(value), 16);
  a.writeBigUInt64LE(BigInt(flags), 24);
  return a;
}

/** BPF_MAP_UPDATE_ELEM (flags: BPF_ANY 0, BPF_NOEXIST 1, BPF_EXIST 2). */
export function bpfMapUpdate(fd: number, key: Uint8Array, value: Uint8Array, flags = 0): true | Unavailable | Failed {
  const b = loadBpfCalls();
  if (isUnavailable(b)) return b;
  return bpfCall(b, BPF_MAP_UPDATE_ELEM, mapElemAttr(b, fd, key, value, flags)) === 0 ? true : { failed: errnoName(bpfErrno()) };
}

/** BPF_MAP_LOOKUP_ELEM into `value`: false when the key is not there. */
export function bpfMapLookup(fd: number, key: Uint8Array, value: Uint8Array): boolean | Unavailable | Failed {
  const b = loadBpfCalls();
  if (isUnavailable(b)) return b;
  if (bpfCall(b, BPF_MAP_LOOKUP_ELEM, mapElemAttr(b, fd, key, value, 0)) === 0) return true;
  const e = bpfErrno();
  return e === os.constants.errno.ENOENT ? false : { failed: errnoName(e) };
}

/** BPF_MAP_DELETE_ELEM: false when the key was not there. */
export function bpfMapDelete(fd: number, key: Uint8Array): boolean | Unavailable | Failed {
  const b = loadBpfCalls();
  if (isUnavailable(b)) return b;
  if (bpfCall(b, BPF_MAP_DELETE_ELEM, mapElemAttr(b, fd, key, null, 0)) === 0) return true;
  const e = bpfErrno();
  return e === os.constants.errno.ENOENT ? false : { failed: errnoName(e) };
}

/** BPF_MAP_GET_NEXT_KEY into `next`: the key after `key` (null: the first key); false when there is none (an empty
 * map, or `key` was the last). */
export function bpfMapNextKey(fd: number, key: Uint8Array | null, next: Uint8Array): boolean | Unavailable | Failed {
  const b = loadBpfCalls();
  if (isUnavailable(b)) return b;
  const a = Buffer.alloc(32);
  a.writeUInt32LE(fd, 0);
  if (key) a.writeBigUInt64LE(b.address(key), 8);
  a.writeBigUInt64LE(b.address(next), 16);
  if (bpfCall(b, BPF_MAP_GET_NEXT_KEY, a) === 0) return true;
  const e = bpfErrno();
  return e === os.constants.errno.ENOENT ? false : { failed: errnoName(e) };
}

/**
 * The subprograms of a program that passes a function's address (a bpf_loop callback): the verifier then wants BTF
 * func_info, one static FUNC per subprogram (kernel/bpf/verifier.c: check_ld_imm, "missing btf func_info"). Here a
 * minimal BTF (int, one int(void) prototype, FUNC f0..fN) and the func_info records (insn_off, type_id); null when
 * the program passes no function.
 */
export function funcInfoOf(insns: Uint8Array): { btf: Buffer; funcInfo: Buffer; count: number } | null {
  const v = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const starts = new Set<number>([0]);
  let callbacks = false;
  for (let i = 0; i < insns.byteLength / 8; i++) {
    const code = v.getUint8(i * 8), src = v.getUint8(i * 8 + 1) >> 4, imm = v.getInt32(i * 8 + 4, true);
    // BPF_JMP|BPF_CALL with BPF_PSEUDO_CALL, BPF_LD|BPF_DW|BPF_IMM with BPF_PSEUDO_FUNC: relative to the next insn
    if (code === 0x85 && src === 1) starts.add(i + imm + 1);
    else if (code === 0x18 && src === 4) { starts.add(i + imm + 1); callbacks = true; }
  }
  if (!callbacks) return null;
  const subs = [...starts].sort((x, y) => x - y);
  const names = subs.map((_, j) => `f${j}`);
  const strings = Buffer.from(`\0int\0${names.join('\0')}\0`, 'latin1');
  // types: [1] INT int (4 bytes, signed, 32 bits), [2] FUNC_PROTO int(void), [3..] FUNC static of type 2
  const types = Buffer.alloc(16 + 12 + 12 * subs.length);
  types.writeUInt32LE(1, 0);
  types.writeUInt32LE(1 << 24, 4);
  types.writeUInt32LE(4, 8);
  types.writeUInt32LE((1 << 24) | 32, 12);
  types.writeUInt32LE(0, 16);
  types.writeUInt32LE(13 << 24, 20);
  types.writeUInt32LE(1, 24);
  let name = 5;
  subs.forEach((_, j) => {
    types.writeUInt32LE(name, 28 + 12 * j);
    types.writeUInt32LE(12 << 24, 32 + 12 * j);
    types.writeUInt32LE(2, 36 + 12 * j);
    name += names[j]!.length + 1;
  });
  const hdr = Buffer.alloc(24);
  hdr.writeUInt16LE(0xeb9f, 0);
  hdr.writeUInt8(1, 2);
  hdr.writeUInt32LE(24, 4);
  hdr.writeUInt32LE(0, 8);
  hdr.writeUInt32LE(types.length, 12);
  hdr.writeUInt32LE(types.length, 16);
  hdr.writeUInt32LE(strings.length, 20);
  const funcInfo = Buffer.alloc(8 * subs.length);
  subs.forEach((at, j) => { funcInfo.writeUInt32LE(at, 8 * j); funcInfo.writeUInt32LE(3 + j, 8 * j + 4); });
  return { btf: Buffer.concat([hdr, types, strings]), funcInfo, count: subs.length };
}

/** BPF_BTF_LOAD of a BTF blob: its fd, or the errno and the kernel's log. */
function bpfBtfLoad(b: BpfCalls, btf: Buffer): number | BpfLoadFailed {
  const log = Buffer.alloc(1 << 16);
  const a = Buffer.alloc(32);
  a.writeBigUInt64LE(b.address(btf), 0);
  a.writeBigUInt64LE(b.address(log), 8);
  a.writeUInt32LE(btf.length, 16);
  a.writeUInt32LE(log.length, 20);
  a.writeUInt32LE(1, 24);
  const r = bpfCall(b, BPF_BTF_LOAD, a);
  if (r >= 0) return r;
  return { failed: `BTF load: ${errnoName(bpfErrno())}`, log: log.toString('latin1', 0, Math.max(0, log.indexOf(0))) };
}

/** BPF_PROG_LOAD: the program's fd, or the verifier's errno and log. */
export function bpfProgLoad(spec: BpfProgSpec): number | Unavailable | BpfLoadFailed {
  const b = loadBpfCalls();
  if (isUnavailable(b)) return b;
  const fi = funcInfoOf(spec.insns);
  const btfFd = fi ? bpfBtfLoad(b, fi.btf) : -1;
  if (typeof btfFd !== 'number') return btfFd;
  try {
    return progLoad(b, spec, fi && { btfFd, funcInfo: fi.funcInfo, count: fi.count });
  } finally {
    // the program holds its own reference to the BTF
    if (btfFd >= 0) closeFd(btfFd);
  }
}

/**
 * BPF_PROG_LOAD on a worker thread: several run the verifier on several CPUs at once (it is most of a load's time).
 * A load that fails there is done again here, for its errno and log (a worker's errno is not this thread's).
 */
export function bpfProgLoadAsync(spec: BpfProgSpec): Promise<number | Unavailable | BpfLoadFailed> {
  const b = loadBpfCalls();
  if (isUnavailable(b)) return Promise.resolve(b);
  const fi = funcInfoOf(spec.insns);
  const btfFd = fi ? bpfBtfLoad(b, fi.btf) : -1;
  if (typeof btfFd !== 'number') return Promise.resolve(btfFd);
  const fiSpec = fi && { btfFd, funcInfo: fi.funcInfo, count: fi.count };
  const { attr, keep } = progAttr(b, spec, fiSpec, null);
  return new Promise((resolve) => {
    const done = (r: number | Unavailable | BpfLoadFailed): void => {
      if (btfFd >= 0) closeFd(btfFd);
      resolve(r);
    };
    try {
      b.bpf.async(b.nrBpf, BPF_PROG_LOAD, attr, attr.length, (err, r) => {
        // the buffers the kernel read stay referenced until it has answered
        void keep;
        const fd = err ? -1 : Number(r);
        done(fd >= 0 ? fd : progLoad(b, spec, fiSpec));
      });
    } catch {
      // koffi's queue of asynchronous calls is full: here, then
      done(progLoad(b, spec, fiSpec));
    }
  });
}

/** the last synchronous load's buffers (see progLoad) */
const kept: { last: unknown[] } = { last: [] };

/** union bpf_attr for BPF_PROG_LOAD, and the buffers its pointers point into (to keep alive while the kernel reads). */
function progAttr(b: BpfCalls, spec: BpfProgSpec, fi: { btfFd: number; funcInfo: Buffer; count: number } | null, log: Buffer | null): { attr: Buffer; keep: unknown[] } {
  const insns = Buffer.from(spec.insns.buffer, spec.insns.byteOffset, spec.insns.byteLength);
  const license = Buffer.from(`${spec.license ?? 'GPL'}\0`, 'latin1');
  const a = Buffer.alloc(144);
  a.writeUInt32LE(spec.type, 0);
  a.writeUInt32LE(insns.length / 8, 4);
  a.writeBigUInt64LE(b.address(insns), 8);
  a.writeBigUInt64LE(b.address(license), 16);
  if (log) {
    a.writeUInt32LE(1, 24);
    a.writeUInt32LE(log.length, 28);
    a.writeBigUInt64LE(b.address(log), 32);
  }
  a.write(spec.name.slice(0, 15), 48, 'latin1');
  a.writeUInt32LE(spec.expectedAttachType ?? 0, 68);
  if (fi) {
    a.writeUInt32LE(fi.btfFd, 72);
    a.writeUInt32LE(8, 76);
    a.writeBigUInt64LE(b.address(fi.funcInfo), 80);
    a.writeUInt32LE(fi.count, 88);
  }
  return { attr: a, keep: [insns, license, log, fi?.funcInfo] };
}

function progLoad(b: BpfCalls, spec: BpfProgSpec, fi: { btfFd: number; funcInfo: Buffer; count: number } | null): number | Unavailable | BpfLoadFailed {
  const load = (log: Buffer | null): number => {
    const p = progAttr(b, spec, fi, log);
    const r = bpfCall(b, BPF_PROG_LOAD, p.attr);
    // the buffers the kernel read stay referenced until it has answered
    kept.last = p.keep;
    return r;
  };
  // no log on the first try: a log makes the verifier format every step (slower loads)
  const r = load(null);
  if (r >= 0) return r;
  const e = bpfErrno();
  if (bpfUnavailableErrno(e) && e !== os.constants.errno.EPERM) return { unavailable: `bpf program ${spec.name}: ${errnoName(e)}` };
  const log = Buffer.alloc(spec.logSize ?? 1 << 20);
  const r2 = load(log);
  if (r2 >= 0) return r2;
  const e2 = bpfErrno();
  const text = log.toString('latin1', 0, Math.max(0, log.indexOf(0)));
  if (e2 === os.constants.errno.EPERM && text === '') return { unavailable: `bpf program ${spec.name}: EPERM` };
  return { failed: errnoName(e2), log: text.length > 4000 ? text.slice(-4000) : text };
}

/**
 * Attaches a loaded BPF_PROG_TYPE_RAW_TRACEPOINT program to the kernel tracepoint `name` ("sys_enter",
 * "sched_process_fork": the tracepoint's own name, no category) with BPF_RAW_TRACEPOINT_OPEN: its link fd, which
 * detaches the program when closed, by this process or by its exit. The kernel then runs the program straight from
 * the tracepoint (no perf event: no perf record per hit, and no tracepoint_synchronize_unregister at close).
 */
export function bpfRawTracepointOpen(name: string, progFd: number): number | Unavailable | Failed {
  const b = loadBpfCalls();
  if (isUnavailable(b)) return b;
  const n = Buffer.from(`${name}\0`, 'latin1');
  // union bpf_attr's raw_tracepoint: u64 name, u32 prog_fd (the cookie after it stays 0)
  const a = Buffer.alloc(24);
  a.writeBigUInt64LE(b.address(n), 0);
  a.writeUInt32LE(progFd, 8);
  const fd = bpfCall(b, BPF_RAW_TRACEPOINT_OPEN, a);
  if (fd >= 0) return fd;
  const e = bpfErrno();
  return bpfUnavailableErrno(e) ? { unavailable: `raw tracepoint ${name}: ${errnoName(e)}` } : { failed: errnoName(e) };
}

/**
 * Attaches a loaded BPF_PROG_TYPE_TRACEPOINT program to tracepoint `id` (tracefs events/CATEGORY/NAME/id) through a
 * perf event (PERF_EVENT_IOC_SET_BPF): its fd (close-on-exec), which detaches the program when its last reference
 * is closed, by this process or by its exit (that close waits in tracepoint_synchronize_unregister, ~60 ms).
 */
export function bpfAttachTracepoint(id: number, progFd: number): number | Unavailable | Failed {
  const b = loadBpfCalls();
  if (isUnavailable(b)) return b;
  // struct perf_event_attr, PERF_ATTR_SIZE_VER7 (128 bytes): type, size, config, sample_period
  const a = Buffer.alloc(128);
  a.writeUInt32LE(PERF_TYPE_TRACEPOINT, 0);
  a.writeUInt32LE(128, 4);
  a.writeBigUInt64LE(BigInt(id), 8);
  a.writeBigUInt64LE(1n, 16);
  // pid -1, cpu 0: a tracepoint's program runs on every CPU whichever CPU its perf event is opened on
  const fd = Number(b.perfOpen(b.nrPerf, a, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) {
    const e = bpfErrno();
    return bpfUnavailableErrno(e) ? { unavailable: `perf_event_open of tracepoint ${id}: ${errnoName(e)}` } : { failed: errnoName(e) };
  }
  if (b.ioctl(fd, PERF_EVENT_IOC_SET_BPF, progFd) < 0 || b.ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) < 0) {
    const e = bpfErrno();
    closeFd(fd);
    return { failed: errnoName(e) };
  }
  return fd;
}

/** close(2) of an fd this module handed out (a map, a program, a link, a perf event); never throws. */
export function closeFd(fd: number): void {
  const c = loadLibc();
  if (!isUnavailable(c)) c.close(fd);
}

/** A BPF_MAP_TYPE_RINGBUF map's records, read in place from its mapping (the consumer side of kernel/bpf/ringbuf.c). */
export interface BpfRing {
  /** bytes of data the ring holds (its max_entries) */
  readonly size: number;
  /**
   * Calls `each` for committed records in order, at most `max` of them, and frees their room: `data` views the ring
   * (mapped twice in a row, so a record never wraps), the record's bytes are data[off, off+len), valid only during the
   * call. Returns how many were read; stops at a record still being written.
   */
  drain(each: (data: DataView, off: number, len: number) => void, max?: number): number;
  /** bytes committed or being written that are not read yet */
  pending(): number;
  close(): void;
}

/** The most a ring record (its header included) may take: far more than any of the native engine's probes write. */
const RING_RECORD_MAX = 64 * 1024;

/** Maps a ring buffer map of `size` bytes (a power of two pages) for reading. */
export function bpfRingOpen(mapFd: number, size: number): BpfRing | Unavailable | Failed {
  const b = loadBpfCalls();
  if (isUnavailable(b)) return b;
  const page = PAGE_SIZE_BYTES;
  const consPtr = b.mmap(null, page, PROT_READ | PROT_WRITE, MAP_SHARED_, mapFd, 0);
  if (isMapFailed(b, consPtr)) return { failed: `mmap of the ring's consumer page: ${errnoName(bpfErrno())}` };
  const prodLen = page + 2 * size;
  const prodPtr = b.mmap(null, prodLen, PROT_READ, MAP_SHARED_, mapFd, page);
  if (isMapFailed(b, prodPtr)) {
    const e = bpfErrno();
    b.munmap(consPtr, page);
    return { failed: `mmap of the ring's data: ${errnoName(e)}` };
  }
  const consPos = new BigUint64Array(b.view(consPtr, page), 0, 1);
  const prodPos = new BigUint64Array(b.view(prodPtr, page), 0, 1);
  // the kernel maps the data twice in a row, so that a record that wraps reads on in the second copy: the view
  // covers the first and RING_RECORD_MAX bytes of the second, not all of it. V8 counts a view's length as external
  // memory: a 32 MiB view started a full collection (11 ms of a Chromium launch) and slower scavenges after it
  const data = new DataView(b.view(prodPtr, page + size + RING_RECORD_MAX), page, size + RING_RECORD_MAX);
  const mask = size - 1;
  let cons = Number(consPos[0]);
  let open = true;
  return {
    size,
    drain(each, max = Infinity) {
      if (!open) return 0;
      const prod = Number(prodPos[0]);
      const from = cons;
      let n = 0;
      try {
        while (cons < prod && n < max) {
          const at = cons & mask;
          const hdr = data.getUint32(at, true);
          if (hdr & BPF_RINGBUF_BUSY_BIT) break;
          const len = hdr & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
          cons += (len + BPF_RINGBUF_HDR_SZ + 7) & ~7;
          if ((hdr & BPF_RINGBUF_DISCARD_BIT) === 0) {
            n++;
            each(data, at + BPF_RINGBUF_HDR_SZ, len);
          }
        }
      } finally {
        // the room read is freed once per call (a BigInt a record cost more than its decoding's share), a record
        // that threw included; x86-64 and arm64 keep this store after the reads above for the kernel's
        // smp_load_acquire
        if (cons !== from) consPos[0] = BigInt(cons);
      }
      return n;
    },
    pending() {
      return open ? Number(prodPos[0]) - cons : 0;
    },
    close() {
      if (!open) return;
      open = false;
      b.munmap(prodPtr, prodLen);
      b.munmap(consPtr, page);
    },
  };
}

const PAGE_SIZE_BYTES = 4096;
const MAP_PRIVATE_ = 2;

/**
 * A file mapped read-only (MAP_PRIVATE) while `use` reads its bytes, unmapped as it returns: `use` must keep nothing
 * of them (no view, no slice that shares their memory). sysfs hands /sys/kernel/btf/vmlinux out a page per read(2)
 * (1350 of them); a mapping is one call. Failed where the file cannot be mapped (an older kernel's sysfs BTF).
 */
export function withMappedFile<T>(path: string, use: (bytes: Uint8Array) => T): T | Unavailable | Failed {
  const b = loadBpfCalls();
  if (isUnavailable(b)) return b;
  let fd: number;
  try { fd = fs.openSync(path, 'r'); } catch (err) { return { failed: (err as NodeJS.ErrnoException).code ?? String(err) }; }
  let size: number;
  let ptr: unknown;
  try {
    size = fs.fstatSync(fd).size;
    if (size === 0) return { failed: 'empty' };
    ptr = b.mmap(null, size, PROT_READ, MAP_PRIVATE_, fd, 0);
    if (isMapFailed(b, ptr)) return { failed: errnoName(bpfErrno()) };
  } finally {
    fs.closeSync(fd);
  }
  try {
    return use(new Uint8Array(b.view(ptr, size)));
  } finally {
    b.munmap(ptr, size);
  }
}

function isMapFailed(b: BpfCalls, p: unknown): boolean {
  // MAP_FAILED is (void *)-1
  return p === null || b.address(p as Buffer) === 0xffffffffffffffffn;
}

/** Names of the BPF programs loaded on this host (BPF_PROG_GET_NEXT_ID, BPF_OBJ_GET_INFO_BY_FD): what a test checks is gone. */
export function bpfProgramNames(): string[] | Unavailable {
  const b = loadBpfCalls();
  if (isUnavailable(b)) return b;
  const names: string[] = [];
  let id = 0;
  for (;;) {
    const a = Buffer.alloc(16);
    a.writeUInt32LE(id, 0);
    if (bpfCall(b, BPF_PROG_GET_NEXT_ID, a) !== 0) break;
    id = a.readUInt32LE(4);
    const g = Buffer.alloc(16);
    g.writeUInt32LE(id, 0);
    const fd = bpfCall(b, BPF_PROG_GET_FD_BY_ID, g);
    if (fd < 0) continue;
    const info = Buffer.alloc(256);
    const q = Buffer.alloc(16);
    q.writeUInt32LE(fd, 0);
    q.writeUInt32LE(info.length, 4);
    q.writeBigUInt64LE(b.address(info), 8);
    // struct bpf_prog_info: name[16] at byte 64
    if (bpfCall(b, BPF_OBJ_GET_INFO_BY_FD, q) === 0) names.push(info.toString('latin1', 64, 80).replace(/\0.*$/s, ''));
    closeFd(fd);
  }
  return names;
}
