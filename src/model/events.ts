// What the tracer hands the correlator: one event per joined strace line. Imports nothing but Ts.
import type { Ts } from './records.js';

/** A syscall's return as strace printed it after the last top-level " = ". */
export interface SyscallReturn {
  /** numeric value (fds, pids, counts); null for "?" or unparsable; addresses may lose precision, see text */
  value: number | null;
  /** the value token as printed, e.g. "3", "0x7f1a2b3c4000", "?" */
  text: string;
  /** errno name for failures, e.g. "EAGAIN", "ERESTARTSYS" */
  errno: string | null;
  /** -y/-yy decoration of a returned fd: "/etc/hostname" for `= 3</etc/hostname>` */
  decor: string | null;
}

export interface SyscallEvent {
  type: 'syscall';
  line: number;
  tid: number;
  ts: Ts;
  comm: string | null; // -Y
  name: string;
  /** raw argument text between the parentheses, unfinished and resumed halves joined */
  args: string;
  ret: SyscallReturn;
  /** the call never returned in the trace (process killed / trace cut) */
  cut?: boolean;
}

/** An `<unfinished ...>` entry half: lets the correlator see clone flags before the child appears. */
export interface EntryEvent {
  type: 'entry';
  line: number;
  tid: number;
  ts: Ts;
  name: string;
  args: string;
}

export interface SignalEvent {
  type: 'signal';
  line: number;
  tid: number;
  ts: Ts;
  signal: string;
  info: string;
}

export interface ExitEvent {
  type: 'exit';
  line: number;
  tid: number;
  ts: Ts;
  code: number | null;
  signal: string | null;
  core: boolean;
}

/** `+++ superseded by execve in pid N +++`: thread `tid` (the old leader) is replaced by N, which takes its id. */
export interface SupersededEvent {
  type: 'superseded';
  line: number;
  tid: number;
  ts: Ts;
  by: number;
}

export interface AttachEvent {
  type: 'attached' | 'detached';
  line: number;
  tid: number;
  ts: Ts;
}

export type TraceEvent = SyscallEvent | EntryEvent | SignalEvent | ExitEvent | SupersededEvent | AttachEvent;

export interface ParseError {
  line: number;
  reason: string;
  text: string;
}
