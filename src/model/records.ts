// The JSON contract: one FdwatchRecord per NDJSON line. Imports nothing.
// Published as docs/schema.md and schema/fdwatch-v1.schema.json; bump SCHEMA_VERSION on breaking change.

export const SCHEMA_VERSION = 1 as const;

/** Seconds since the epoch (float), or null when the trace carries no absolute time. */
export type Ts = number | null;

export type FdKind = 'file' | 'dir' | 'socket' | 'pipe' | 'anon' | 'memfd' | 'device' | 'unknown';

export interface RecordBase {
  v: typeof SCHEMA_VERSION;
  ts: Ts;
}

export type ProcessEvent = 'attach' | 'fork' | 'exec' | 'exit' | 'snapshot'
  | 'diff' | 'setuid';

export interface ProcessRecord extends RecordBase {
  type: 'process';
  pid: number;            // tgid
  ppid: number | null;
  comm: string | null;
  uid: number | null;
  event: ProcessEvent;
  tid?: number;           // thread that caused the event (fork/exec), when it differs from pid
  path?: string;          // exec: the program path
  exitCode?: number | null;
  /** setuid: the effective uid before the change (null: not known); `uid` is the new one */
  fromUid?: number | null;
  signal?: string | null; // exit: killed by
  shareFdTableWith?: number; // fork with CLONE_FILES: pid whose fd table is shared
  note?: string;          // snapshot: e.g. "permission denied: fd"
  /** diff (snapshot --diff): fds in the old and in the new snapshot; null when the process was not in it */
  fdsBefore?: number | null;
  fdsAfter?: number | null;
}

export type FdOp = 'open' | 'close' | 'dup' | 'inherit' | 'receive' | 'take' | 'seen' | 'cloexec' | 'snapshot'
  | 'opened' | 'closed' | 'changed';

export interface SocketInfo {
  inode: number | null;
  peer: number | null;
  path: string | null;
  /** snapshot: processes holding the peer socket */
  peerOwners?: Array<{ pid: number; fd: number; comm: string | null }>;
}

/** A new field here must be written by fdBytes (src/export/ndjson.ts) too, or sent down its generic path. */
export interface FdRecord extends RecordBase {
  type: 'fd';
  pid: number;
  tid?: number;
  fd: number;
  op: FdOp;
  target: string | null;
  kind: FdKind;
  cloexec: boolean | null;
  syscall: string | null;
  /** dup: the fd it was duplicated from; receive/take: the sender's fd */
  fromFd?: number | null;
  fromPid?: number | null;
  // snapshot extras (issue 3)
  pos?: number | null;
  flags?: string | null;   // octal as in fdinfo
  ofd?: string | null;     // equal for fds that are one open file description
  socket?: SocketInfo | null;
  inFlight?: number | null; // unix socket fdinfo scm_fds
  /** trace: the open file description (`ofd:N`); equal on every fd, transfer and map record of one (issue 14) */
  origin?: string;
  /** snapshot --diff, op changed: what the same fd number referred to in the old snapshot */
  was?: string | null;
}

export type TransferVia = 'SCM_RIGHTS' | 'pidfd_getfd';
export type TransferState = 'delivered' | 'in-flight' | 'lost';

export interface TransferEnd {
  pid: number | null;
  tid: number | null;
  comm: string | null;
  uid: number | null;
  fd: number | null;
  /** the socket the fd travelled through at this end, e.g. "UNIX-STREAM:[6149->5313]" */
  socket: string | null;
}

export interface TransferRecord extends RecordBase {
  type: 'transfer';
  via: TransferVia;
  state: TransferState;
  from: TransferEnd;
  to: TransferEnd | null;
  target: string | null;
  kind: FdKind;
  sentTs: Ts;
  receivedTs: Ts;
  /** why it was lost, when state is lost */
  reason?: string;
  /** kcmp confirmed the two fds are one open file description (live mode) */
  confirmed?: boolean | null;
  line?: number | null; // trace line of the send (or of the receive when the send is unseen)
  /** the open file description that moved: the `origin` of the fd records at both ends */
  origin?: string;
}

export interface MapRecord extends RecordBase {
  type: 'map';
  pid: number;
  start: string;   // hex, 64-bit
  end: string;     // hex, 64-bit
  perms: string;   // as in /proc/PID/maps: r--s
  offset: string;  // hex
  path: string | null;
  fd?: number | null;
  dev?: string | null;
  inode?: number | null;
  /** the fd the mapping was made from arrived by transfer */
  transferred?: boolean;
  /** trace: the open file description the mapping was made from */
  origin?: string;
}

export type AlertKind =
  | 'ctrunc-lost'
  | 'socket-closed-with-fds'
  | 'received-fd-survives-exec'
  | 'in-flight-at-end'
  | 'privilege-crossing'
  | 'uid-crossing'
  | 'fd-leak';

export interface AlertRecord extends RecordBase {
  type: 'alert';
  kind: AlertKind;
  pid: number | null;
  fd: number | null;
  message: string;
  /** how many fds this alert stands for, when more than one (fds of one sender that share one cause) */
  count?: number;
  /** privilege-crossing `warning`, uid-crossing `info` (issue 14) */
  severity?: 'info' | 'warning';
  /** privilege-crossing, uid-crossing: the file's mode (octal text, `0600`) and owner, null when not known */
  file?: { mode: string; uid: number; gid: number } | null;
  /** privilege-crossing, uid-crossing: the sender's and the receiver's uid */
  fromUid?: number | null;
  toUid?: number | null;
  /** privilege-crossing, uid-crossing: the fd's access mode (O_ACCMODE), null when not known */
  access?: 'r' | 'w' | 'rw' | null;
  /** fd-leak: which leak: fds `received` and never used or closed, fds `sent` and never closed, fd count `growth` (live) */
  leak?: 'received' | 'sent' | 'growth';
  /** fd-leak: a few of the fds the alert counts (the oldest first) */
  samples?: Array<{ fd: number; target: string | null }>;
  /** fd-leak: fds the process sent with SCM_RIGHTS and still holds */
  sentNotClosed?: number;
  /** fd-leak (live): how many fds the process gained over the samples that each showed more */
  growth?: number;
}

export interface ParseErrorSample {
  line: number;
  reason: string;
  text: string;
}

export interface SummaryRecord extends RecordBase {
  type: 'summary';
  lines: number;
  events: number;
  syscalls: number;
  processes: number;
  transfers: { delivered: number; inFlight: number; lost: number };
  fdsSent: number;
  fdsReceived: number;
  parseErrors: number;
  parseErrorSamples: ParseErrorSample[];
  alerts: number;
  /** the trace ended cleanly (every traced process exited or detached, no cut line) */
  cleanEnd: boolean;
  /** sends/receives whose fds strace did not show (-e verbose=none, -X raw) */
  opaqueMessages: number;
  source?: string;
  /** which tracer produced the trace: `strace` or `bpf` (live mode) */
  backend?: 'strace' | 'bpf';
  /** eBPF: the engine that brought the probes' records: `native` (fdwatch's own programs) or `bpftrace` */
  engine?: 'native' | 'bpftrace';
  /** eBPF: events bpftrace reported lost (its ring buffers overflowed); nothing was lost when 0 */
  lostEvents?: number;
  /** trace events fdwatch failed on (an internal error), each skipped; absent when none */
  internalErrors?: number;
  /** the first of them: its error message */
  internalErrorSample?: string;
  /** the run ended on an error before the trace did: `internal: MESSAGE` for an internal error */
  error?: string;
}

export type FdwatchRecord = ProcessRecord | FdRecord | TransferRecord | MapRecord | AlertRecord | SummaryRecord;
