// The correlator's world: processes, their fd tables, open file descriptions and socket endpoints.
import type { FdKind } from '../model/records.js';

/** An open file description (struct file): shared by dup, fork and SCM_RIGHTS; its fds are its references. */
export interface OpenFileDescription {
  id: number;
  /** `ofd:N`, the id records carry as `origin`: made once per open file description, never per syscall */
  origin: string;
  target: string;
  kind: FdKind;
  /** fd-table entries and in-flight messages that refer to it */
  refs: number;
  /** every holder is in the trace (false for fds seen before the trace began) */
  complete: boolean;
  /** socket endpoint id: `ino:N` from -y/-yy, or `ep:N` made up from socketpair/accept */
  endpoint: string | null;
  /** pidfd: the process it refers to */
  pidfdPid: number | null;
  /** unix socket: the path it was bound to */
  boundPath: string | null;
  /** unix socket: the path it connected to (its peer is the listener's accepted socket) */
  peerPath: string | null;
  /** it reached some process through a transfer */
  transferred: boolean;
}

export type OriginHow = 'opened' | 'dup' | 'inherited' | 'received' | 'taken' | 'unknown';

export interface Origin {
  how: OriginHow;
  syscall: string | null;
  fromPid: number | null;
  fromFd: number | null;
  fromComm: string | null;
}

export interface FdEntry {
  fd: number;
  ofd: OpenFileDescription;
  cloexec: boolean | null;
  origin: Origin;
  ts: number | null;
  /** arrived by transfer (received or taken) and named by no call since: what fd-leak counts */
  fresh: boolean;
  /** this holder sent it with SCM_RIGHTS and has not closed it */
  sent: boolean;
}

export interface FdTable {
  id: number;
  fds: Map<number, FdEntry>;
  /** processes sharing this table (CLONE_FILES without CLONE_THREAD) */
  users: number;
  /** entries that are `fresh` (received, never used or closed) and `sent` (sent, not closed): kept as they change */
  fresh: number;
  sent: number;
  /** the `fresh` and `sent` counts at which the next fd-leak alert is raised (the threshold, then each doubling) */
  leakAt: number;
  sentAt: number;
}

export interface Process {
  pid: number; // tgid
  ppid: number | null;
  comm: string | null;
  uid: number | null;
  table: FdTable;
  tids: Set<number>;
  exited: boolean;
  exitCode: number | null;
  exitSignal: string | null;
  fdsSent: number;
  fdsReceived: number;
  startTs: number | null;
  endTs: number | null;
  /** some fd of this process (or its table) arrived by transfer */
  hasTransferred: boolean;
}
