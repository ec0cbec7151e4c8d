// The only module that touches koffi: kcmp, pidfd_open, pidfd_getfd, the sock_diag netlink dump, and a
// directory-fd reader of fd tables for the whole-machine scan.
//
// Public interface (every call is synchronous and never throws for a kernel or loader problem):
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
//
// Unavailable ({ unavailable: reason }) means the facility cannot work here at all: koffi not loadable,
// ENOSYS, EPERM from a seccomp policy, sock_diag missing, or FDWATCH_NATIVE=off in the environment.
// Failed ({ failed: errno name }) is about this one call (EBADF: the fd closed, ESRCH: the process exited,
// EPERM/EACCES: no ptrace access to that process).
// koffi is loaded lazily with createRequire so a missing native build is a typed Unavailable, not an import error.

import fs from 'node:fs';
import os from 'node:os';
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
 * module exports every function it re-exports.
 */
function requireKoffi(): Koffi {
  const require = createRequire(import.meta.url);
  const arch = MUSL_ARCH[process.arch];
  if (process.platform === 'linux' && arch && !fs.existsSync(`/lib/ld-musl-${arch}.so.1`)) {
    try {
      const k = require(`@koromix/koffi-linux-${process.arch}/linux_${process.arch}/koffi.node`) as Partial<Koffi>;
      if (typeof k.load === 'function' && typeof k.errno === 'function') return k as Koffi;
    } catch {
      // another layout or a build that does not load here: koffi's loader knows
    }
  }
  return require('koffi') as Koffi;
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
