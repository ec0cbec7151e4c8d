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
  /** index of the path inside a struct arg, e.g. openat2's how->flags lives in arg 2 */
  flagsArg?: number;
  flagsField?: string;
  /** the new fd is always close-on-exec (pidfd_open, pidfd_getfd) */
  alwaysCloexec?: boolean;
  /** dup family: index of the source fd and of the requested target fd */
  fromArg?: number;
  toArg?: number;
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
  ['accept', { family: 'accept', kind: 'socket', target: 'socket:[?]' }],
  ['accept4', { family: 'accept', kind: 'socket', target: 'socket:[?]', flagsArg: 3 }],
  ['socketpair', { family: 'pair', kind: 'socket', target: 'socket:[?]', pairArg: 3, flagsArg: 1 }],
  ['pipe', { family: 'pair', kind: 'pipe', target: 'pipe:[?]', pairArg: 0 }],
  ['pipe2', { family: 'pair', kind: 'pipe', target: 'pipe:[?]', pairArg: 0, flagsArg: 1 }],
  ['dup', { family: 'dup', fromArg: 0 }],
  ['dup2', { family: 'dup', fromArg: 0, toArg: 1 }],
  ['dup3', { family: 'dup', fromArg: 0, toArg: 1, flagsArg: 2 }],
  ['fcntl', { family: 'fcntl' }],
  ['fcntl64', { family: 'fcntl' }],
  ['close', { family: 'close' }],
  ['close_range', { family: 'close_range' }],
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
  ['pidfd_open', { family: 'open', kind: 'anon', target: 'anon_inode:[pidfd]', alwaysCloexec: true }],
  ['pidfd_getfd', { family: 'pidfd_getfd', alwaysCloexec: true }],
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
  ['sendmsg', { family: 'sendmsg' }],
  ['sendmmsg', { family: 'sendmmsg' }],
  ['recvmsg', { family: 'recvmsg', flagsArg: 2 }],
  ['recvmmsg', { family: 'recvmmsg', flagsArg: 3 }],
  ['mmap', { family: 'mmap' }],
  ['mmap2', { family: 'mmap' }],
  ['munmap', { family: 'munmap' }],
  ['clone', { family: 'clone' }],
  ['clone3', { family: 'clone' }],
  ['fork', { family: 'clone' }],
  ['vfork', { family: 'clone' }],
  ['execve', { family: 'execve' }],
  ['execveat', { family: 'execve', pathArg: 1 }],
  ['exit', { family: 'exit' }],
  ['exit_group', { family: 'exit' }],
  ['connect', { family: 'connect' }],
  ['bind', { family: 'bind' }],
  ['getuid', { family: 'uid' }],
  ['geteuid', { family: 'uid' }],
  ['setuid', { family: 'uid' }],
  ['setresuid', { family: 'uid' }],
  ['setreuid', { family: 'uid' }],
  ['setfsuid', { family: 'uid' }],
]);

/** Names whose lines the scanner parses in full; every other line is only counted. */
export const INTERESTING: ReadonlySet<string> = new Set(SYSCALLS.keys());

/** Calls whose `<unfinished ...>` entry half the correlator wants to see (the child may run before clone returns). */
export const ENTRY_EVENTS: ReadonlySet<string> = new Set([...SYSCALLS].filter(([, s]) => s.family === 'clone').map(([n]) => n));

/** Syscalls strace should trace for fdwatch (live mode): the fd lifecycle, transfers, processes, mappings. */
export const TRACE_SET: readonly string[] = [...SYSCALLS.keys()].filter((n) => n !== 'fcntl64' && n !== 'mmap2');
