// Kernel constants fdwatch reads, with their kernel names (x86-64 / asm-generic values; strace -X raw prints them).
import { Ch, readEnd, readHex } from './chars.js';

/** clone(2) flags (include/uapi/linux/sched.h) */
export const CLONE_FILES = 0x400;
export const CLONE_PARENT = 0x8000;
export const CLONE_THREAD = 0x10000;

/** task flags (/proc/PID/stat field 9): a kernel thread */
export const PF_KTHREAD = 0x00200000;

/** recvmsg(2) flags (include/linux/socket.h) */
export const MSG_PEEK = 0x2;
export const MSG_CTRUNC = 0x8;
export const MSG_CMSG_CLOEXEC = 0x40000000;

/** control message level and type of an fd-passing message */
export const SOL_SOCKET = 1;
export const SCM_RIGHTS = 1;
/** most fds one SCM_RIGHTS message carries (include/net/scm.h) */
export const SCM_MAX_FD = 253;

/** fcntl(F_SETFD) / F_GETFD */
export const FD_CLOEXEC = 1;

/** fcntl(2) commands (include/uapi/asm-generic/fcntl.h, linux/fcntl.h) */
export const F_DUPFD = 0;
export const F_SETFD = 2;
export const F_DUPFD_CLOEXEC = 1030;

/** close_range(2) flags (include/uapi/linux/close_range.h) */
export const CLOSE_RANGE_UNSHARE = 2;
export const CLOSE_RANGE_CLOEXEC = 4;

/** mmap(2) protections and flags (include/uapi/asm-generic/mman-common.h, linux/mman.h) */
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_SHARED = 0x01;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_ANONYMOUS = 0x20;

/** st_mode file types (include/uapi/linux/stat.h) */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

/** TCP state of a listening socket (include/net/tcp_states.h) */
export const TCP_LISTEN = 10;

/** (uid_t)-1: "leave this id unchanged" in setresuid(2) and friends */
export const UID_UNCHANGED = 4294967295;

/** mappings are page-granular in /proc/PID/maps */
export const PAGE_SIZE = 4096n;

/** open(2) flags as fdinfo `flags` (octal) shows them: the access mode bits, and O_CLOEXEC */
export const O_ACCMODE = 0o3;
export const O_CLOEXEC = 0o2000000;

/** Whether `flags` (strace's text: `A|B|0x..`, or a bare number under -X raw) has `name` or, as a number, `bit`. */
export function hasFlag(flags: string, name: string, bit: number): boolean {
  // whole names only: CLONE_PARENT is not CLONE_PARENT_SETTID
  for (let i = flags.indexOf(name); i >= 0; i = flags.indexOf(name, i + 1)) {
    const end = i + name.length;
    if ((i === 0 || flags.charCodeAt(i - 1) === Ch.Pipe) && (end === flags.length || flags.charCodeAt(end) === Ch.Pipe)) return true;
  }
  let i = flags.indexOf('0x');
  while (i >= 0) {
    const n = readHex(flags, i + 2, flags.length);
    const j = readEnd;
    // bits above 2^31 do not survive `&` on a double: test through division
    if (j > i + 2 && Math.floor(n / bit) % 2 === 1) return true;
    i = flags.indexOf('0x', j);
  }
  return false;
}
