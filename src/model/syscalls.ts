// What each fd-relevant syscall does to an fd table: data, not code (cf. strace's syscallent.h + RVAL_FD).
import type { FdKind } from './records.js';

export type Family =
  | 'open'      // returns a new fd
  | 'pair'      // fills an array arg with two new fds (pipe, socketpair)
  | 'dup'       // duplicates an fd
  | 'close'
  | 'close_range'
  | 'fcntl'
  | 'sendmsg' | 'sendmmsg' | 'recvmsg' | 'recvmmsg'
  | 'pidfd_getfd'
  | 'mmap' | 'munmap'
  | 'clone' | 'execve' | 'exit'
  | 'connect' | 'bind' | 'accept'
  | 'uid';      // tells the process's (effective) uid

export interface SyscallSpec {
  family: Family;
  /** what a new fd refers to when strace did not decorate it */
  kind?: FdKind;
  /** template for the target when undecorated: `%s` is replaced by the path arg */
  target?: string;
  /** index of the path argument (open family) */
  pathArg?: number;
  /** index of the flags argument (O_CLOEXEC, SOCK_CLOEXEC, MSG_CMSG_CLOEXEC...); with flagsField, the field of a
   * struct argument that holds them (openat2's how->flags) */
  flagsArg?: number;
  flagsField?: string;
  /** the new fd is always close-on-exec (pidfd_open, pidfd_getfd) */
  alwaysCloexec?: boolean;
  /** index of the fd the call acts on: dup's source, the socket of send/recv/connect/bind, accept's listener,
   * pidfd_getfd's pidfd */
  fdArg?: number;
  /** dup2/dup3: index of the requested new fd (the return says it too) */
  toArg?: number;
  /** index of the struct msghdr (sendmsg/recvmsg) or struct mmsghdr[] (sendmmsg/recvmmsg, `vector`) */
  msgArg?: number;
  vector?: boolean;
  /** index of the struct sockaddr (connect, bind) */
  addrArg?: number;
  /** pidfd_getfd: index of the other process's fd number */
  targetFdArg?: number;
  /** pidfd_open: index of the pid the new fd refers to */
  pidArg?: number;
  /** mmap: indexes of the length, the PROT_* and the offset arguments (fd and MAP_* flags: fdArg, flagsArg) */
  lengthArg?: number;
  protArg?: number;
  offsetArg?: number;
  /** fcntl: index of the command (F_DUPFD, F_SETFD...); the argument after it is the command's value */
  cmdArg?: number;
  /** set*uid: index of the (effective) uid argument; absent for getuid/geteuid, whose return is the uid */
  uidArg?: number;
  /** index of the array that receives two fds */
  pairArg?: number;
  /** index of an fd argument whose -1 means "make a new fd" (signalfd) */
  newIfMinusOne?: number;
}

const anon = (what: string, flagsArg?: number): SyscallSpec => ({
  family: 'open', kind: 'anon', target: `anon_inode:[${what}]`, ...(flagsArg === undefined ? {} : { flagsArg }),
});

/** name -> spec; syscalls not listed do not change fd tables. */
export const SYSCALLS: ReadonlyMap<string, SyscallSpec> = new Map<string, SyscallSpec>([
  ['open', { family: 'open', kind: 'file', pathArg: 0, flagsArg: 1 }],
  ['creat', { family: 'open', kind: 'file', pathArg: 0 }],
  ['openat', { family: 'open', kind: 'file', pathArg: 1, flagsArg: 2 }],
  ['openat2', { family: 'open', kind: 'file', pathArg: 1, flagsArg: 2, flagsField: 'flags' }],
  ['open_by_handle_at', { family: 'open', kind: 'file', flagsArg: 2 }],
  ['socket', { family: 'open', kind: 'socket', target: 'socket:[?]', flagsArg: 1 }],
  ['accept', { family: 'accept', kind: 'socket', target: 'socket:[?]', fdArg: 0 }],
  ['accept4', { family: 'accept', kind: 'socket', target: 'socket:[?]', fdArg: 0, flagsArg: 3 }],
  ['socketpair', { family: 'pair', kind: 'socket', target: 'socket:[?]', pairArg: 3, flagsArg: 1 }],
  ['pipe', { family: 'pair', kind: 'pipe', target: 'pipe:[?]', pairArg: 0 }],
  ['pipe2', { family: 'pair', kind: 'pipe', target: 'pipe:[?]', pairArg: 0, flagsArg: 1 }],
  ['dup', { family: 'dup', fdArg: 0 }],
  ['dup2', { family: 'dup', fdArg: 0, toArg: 1 }],
  ['dup3', { family: 'dup', fdArg: 0, toArg: 1, flagsArg: 2 }],
  ['fcntl', { family: 'fcntl', fdArg: 0, cmdArg: 1 }],
  ['fcntl64', { family: 'fcntl', fdArg: 0, cmdArg: 1 }],
  ['close', { family: 'close', fdArg: 0 }],
  ['close_range', { family: 'close_range', flagsArg: 2 }],
  ['eventfd', anon('eventfd')],
  ['eventfd2', anon('eventfd', 1)],
  ['epoll_create', anon('eventpoll')],
  ['epoll_create1', anon('eventpoll', 0)],
  ['inotify_init', anon('inotify')],
  ['inotify_init1', anon('inotify', 0)],
  ['signalfd', { ...anon('signalfd'), newIfMinusOne: 0 }],
  ['signalfd4', { ...anon('signalfd', 3), newIfMinusOne: 0 }],
  ['timerfd_create', anon('timerfd', 1)],
  ['memfd_create', { family: 'open', kind: 'memfd', target: '/memfd:%s', pathArg: 0, flagsArg: 1 }],
  ['memfd_secret', { family: 'open', kind: 'anon', target: 'secretmem', flagsArg: 0 }],
  ['pidfd_open', { family: 'open', kind: 'anon', target: 'anon_inode:[pidfd]', alwaysCloexec: true, pidArg: 0 }],
  ['pidfd_getfd', { family: 'pidfd_getfd', alwaysCloexec: true, fdArg: 0, targetFdArg: 1 }],
  ['userfaultfd', anon('userfaultfd', 0)],
  ['perf_event_open', anon('perf_event', 4)],
  ['fanotify_init', anon('fanotify', 0)],
  ['io_uring_setup', { family: 'open', kind: 'anon', target: 'anon_inode:[io_uring]' }],
  ['bpf', { family: 'open', kind: 'anon', target: 'anon_inode:bpf' }],
  ['landlock_create_ruleset', anon('landlock-ruleset', 2)],
  ['open_tree', { family: 'open', kind: 'anon', target: 'open_tree:%s', pathArg: 1, flagsArg: 2 }],
  ['fsopen', { family: 'open', kind: 'anon', target: 'anon_inode:[fscontext]', flagsArg: 1 }],
  ['fspick', { family: 'open', kind: 'anon', target: 'anon_inode:[fscontext]', flagsArg: 2 }],
  ['fsmount', { family: 'open', kind: 'anon', target: 'fsmount', flagsArg: 1 }],
  ['mq_open', { family: 'open', kind: 'file', target: 'mqueue:%s', pathArg: 0, flagsArg: 1 }],
  ['sendmsg', { family: 'sendmsg', fdArg: 0, msgArg: 1 }],
  ['sendmmsg', { family: 'sendmmsg', fdArg: 0, msgArg: 1, vector: true }],
  ['recvmsg', { family: 'recvmsg', fdArg: 0, msgArg: 1, flagsArg: 2 }],
  ['recvmmsg', { family: 'recvmmsg', fdArg: 0, msgArg: 1, vector: true, flagsArg: 3 }],
  ['mmap', { family: 'mmap', lengthArg: 1, protArg: 2, flagsArg: 3, fdArg: 4, offsetArg: 5 }],
  ['mmap2', { family: 'mmap', lengthArg: 1, protArg: 2, flagsArg: 3, fdArg: 4, offsetArg: 5 }],
  ['munmap', { family: 'munmap' }],
  ['clone', { family: 'clone' }],
  ['clone3', { family: 'clone' }],
  ['fork', { family: 'clone' }],
  ['vfork', { family: 'clone' }],
  ['execve', { family: 'execve', pathArg: 0 }],
  ['execveat', { family: 'execve', pathArg: 1 }],
  ['exit', { family: 'exit' }],
  ['exit_group', { family: 'exit' }],
  ['connect', { family: 'connect', fdArg: 0, addrArg: 1 }],
  ['bind', { family: 'bind', fdArg: 0, addrArg: 1 }],
  ['getuid', { family: 'uid' }],
  ['geteuid', { family: 'uid' }],
  ['setuid', { family: 'uid', uidArg: 0 }],
  ['setresuid', { family: 'uid', uidArg: 1 }],
  ['setreuid', { family: 'uid', uidArg: 1 }],
  ['setfsuid', { family: 'uid', uidArg: 0 }],
]);

/** Names whose lines the scanner parses in full; every other line is only counted. */
export const INTERESTING: ReadonlySet<string> = new Set(SYSCALLS.keys());

/**
 * Calls whose `<unfinished ...>` entry half decode reads: clone (the child may run before clone returns), sendmsg
 * (strace prints its msghdr at entry, so its message is queued before any receive can return it) and sendmmsg
 * (its messages are printed only at its return: a receive that returns first waits for it).
 */
export const ENTRY_EVENTS: ReadonlySet<string> = new Set([...SYSCALLS]
  .filter(([, s]) => s.family === 'clone' || s.family === 'sendmsg' || s.family === 'sendmmsg').map(([n]) => n));

/** Syscalls strace should trace for fdwatch (live mode): the fd lifecycle, transfers, processes, mappings. */
export const TRACE_SET: readonly string[] = [...SYSCALLS.keys()].filter((n) => n !== 'fcntl64' && n !== 'mmap2');
