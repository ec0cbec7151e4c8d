// What a syscall (or a kernel event) does to kernel state, in the kernel's words: the one boundary between
// trace sources (strace text today, eBPF tomorrow) and the correlator. Every source produces these; the
// correlator consumes only these. Imports nothing but record types.
import type { FdKind, Ts } from './records.js';

/** What an fd refers to, as far as the source can tell (strace -yy words: `/path`, `UNIX-STREAM:[1->2]`...). */
export interface FdTarget {
  target: string;
  kind: FdKind;
  /** socket inode (UNIX-*, socket:[N]) */
  inode: number | null;
  /** peer socket inode (-yy UNIX-STREAM:[A->B]) */
  peer: number | null;
  /** bound/connected path of a unix socket, `@name` for abstract ones */
  path: string | null;
  /** pidfd: the pid it refers to */
  pid: number | null;
}

/** A target known only by its text and kind (no socket or pidfd details). */
export function plainTarget(target: string, kind: FdKind): FdTarget {
  return { target, kind, inode: null, peer: null, path: null, pid: null };
}

/** An fd a call names, with what the source says it refers to (null: the source said nothing). */
export interface FdRef {
  readonly fd: number;
  readonly target: FdTarget | null;
  /** the kernel's own identity of the open file description (its `struct file *`, hex), when the source reads it:
   * equal for the sender's and the receiver's fd of one SCM_RIGHTS transfer (eBPF) */
  readonly file?: string;
}

/** One SCM_RIGHTS message of a send or receive. */
export interface ScmMessage {
  /** the fds in the message, in order: the sender's, or the ones installed in the receiver */
  fds: FdRef[];
  /** the source saw only some of them (strace prints at most -s fds) */
  hidden: boolean;
  /** receive: MSG_CTRUNC, the kernel dropped fds that did not fit the control buffer */
  ctrunc: boolean;
}

/** clone(2) flags that decide what the child shares */
export interface CloneFlags {
  /** CLONE_THREAD: a thread of the caller's process */
  thread: boolean;
  /** CLONE_FILES: shares the caller's fd table */
  files: boolean;
  /** CLONE_PARENT: the child's parent is the caller's parent */
  parent: boolean;
}

interface OpBase {
  /** the thread that made the call */
  tid: number;
  ts: Ts;
  /** where the source saw it (trace line) */
  line: number;
  /** the syscall's name, as records report it */
  syscall: string;
  /** the task's comm, when the source tells it with every event (strace -Y) */
  comm: string | null;
}

export type FdOp = OpBase & (
  /** the task ran a call that changed no fd (failed, or nothing to change): it exists */
  | { op: 'task' }
  /** a new fd (open, socket, eventfd, memfd_create, pidfd_open...); `socket`: a fresh socket endpoint */
  | { op: 'open'; fd: number; target: FdTarget; cloexec: boolean; socket: boolean }
  /** accept: a new connected socket from a listener */
  | { op: 'accept'; fd: number; target: FdTarget; cloexec: boolean; listener: FdRef | null }
  /** two new fds at once, each other's peer when sockets (pipe, socketpair) */
  | { op: 'pair'; fds: [FdRef & { target: FdTarget }, FdRef & { target: FdTarget }]; cloexec: boolean }
  /** dup, dup2, dup3, F_DUPFD: `fd` now refers to `from`'s open file description */
  | { op: 'dup'; from: FdRef; fd: number; cloexec: boolean }
  | { op: 'close'; fd: FdRef }
  /** close_range: close (or mark CLOEXEC) every fd in [first, last]; unshare the table first */
  | { op: 'close_range'; first: number; last: number; cloexec: boolean; unshare: boolean }
  /** F_SETFD (`set`) or what F_GETFD reported */
  | { op: 'set-cloexec'; fd: FdRef; cloexec: boolean; set: boolean }
  /** messages sent; `entry`: seen at the call's entry (strace prints a sendmsg's msghdr there), its return decides */
  | { op: 'send'; socket: FdRef | null; messages: Array<ScmMessage | 'opaque'>; entry: boolean }
  /** a send is under way whose messages show only at its return (sendmmsg) */
  | { op: 'send-begin'; socket: FdRef | null }
  /** a send failed or never returned: what its entry queued was not sent */
  | { op: 'send-failed' }
  /** `cloexec`: MSG_CMSG_CLOEXEC; `peek`: MSG_PEEK (the fds are installed, the message stays queued) */
  | { op: 'receive'; socket: FdRef | null; messages: Array<ScmMessage | 'opaque'>; cloexec: boolean; peek: boolean }
  /** pidfd_getfd: a copy of fd `targetFd` of the process behind `pidfd` is the caller's new `fd` */
  | { op: 'take'; pidfd: FdRef | null; targetFd: number | null; fd: number; target: FdTarget | null }
  /** mmap of an fd; perms as /proc/PID/maps writes them (`r--s`); `inode`: the mapped file's, when the source reads it */
  | { op: 'map'; fd: FdRef; start: bigint; length: bigint; perms: string; shared: boolean; offset: bigint; inode?: number }
  /** a clone/fork starts (seen before it returns: the child may run first) */
  | { op: 'clone-entry'; flags: CloneFlags }
  /** a clone/fork returned: `child` is the new task, null when it failed or never returned */
  | { op: 'clone'; child: number | null; flags: CloneFlags }
  | { op: 'exec'; path: string }
  /** the process's uid: `effective` from geteuid/set*uid, or getuid's real uid (only fills an unknown one);
   * `set`: the call sets it (set*uid), or the source saw it change (eBPF: another euid than the last event's) */
  | { op: 'uid'; uid: number; effective: boolean; set: boolean }
  /** a unix socket connects to a path (`EINPROGRESS` included) */
  | { op: 'connect'; socket: FdRef | null; path: string | null }
  | { op: 'bind'; socket: FdRef | null; path: string | null }
  /** the task ended */
  | { op: 'exit'; code: number | null; signal: string | null }
  /** the source started (attached) or stopped (detached) watching this task */
  | { op: 'attached' }
  | { op: 'detached' }
  /** a non-leader thread's execve: thread `by` takes over the leader `tid`'s id */
  | { op: 'superseded'; by: number }
  /**
   * live mode, read from the kernel: the untraced socket `inode` no longer queues its oldest `messages` messages:
   * `to` (its holder) received them; `fds[i][j]`: the fd the j-th fd of the i-th message became (null: not found)
   */
  | { op: 'peer-received'; inode: number; messages: number; to: PeerEnd; fds: Array<Array<number | null>> }
  /** live mode: no process holds the untraced socket `inode` any more: what it queued is lost (`to`: its last holder) */
  | { op: 'peer-closed'; inode: number; to: PeerEnd | null }
);

/** A process holding a socket the trace does not show, as /proc tells it. */
export interface PeerEnd {
  pid: number;
  comm: string | null;
  uid: number | null;
  /** its fd of the socket */
  fd: number | null;
  /** the socket, in strace -yy words when known */
  socket: string | null;
}

/** What is queued on a socket that no traced call has received from (live mode reads the kernel about it). */
export interface QueuedOn {
  inode: number;
  messages: Array<{ fds: Array<{ pid: number | null; fd: number | null; target: string }> }>;
}

export type FdOpKind = FdOp['op'];
