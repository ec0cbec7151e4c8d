// Messages on their way and whether a received one can be the one a send queued: what both sides' -y/-yy
// decorations say. Pure.
import type { FdTarget } from '../model/fdop.js';
import type { FdKind, TransferEnd, Ts } from '../model/records.js';
import type { FdEntry, OpenFileDescription, Process } from './state.js';

/** An fd inside a message on its way: the message holds a reference to the open file description. */
export interface InFlightFd {
  from: TransferEnd;
  ofd: OpenFileDescription;
  target: string;
  kind: FdKind;
  sentTs: Ts;
  line: number;
  /** what the sender's decoration said the fd is (-y/-yy), checked against the receiver's */
  seen: FdTarget | null;
  /** the kernel's identity of the open file description (FdRef.file), when the source reads it */
  file: string | null;
}

export interface InFlightMessage {
  fds: InFlightFd[];
  /** queued; taken by a receive; dropped (its send failed); stranded (its receive is not in the trace) */
  state: 'queued' | 'taken' | 'dropped' | 'stranded';
  /** op order of the send's entry and of its return (Infinity until it returns) */
  entrySeq: number;
  doneSeq: number;
}

/** A sendmsg whose message was queued at its entry: its return decides whether it stays. */
export interface PendingSend {
  line: number;
  p: Process;
  messages: InFlightMessage[];
}

/** A receive whose send was not seen (yet): held until the send shows up or the trace ends. */
export interface OrphanFd {
  p: Process;
  entry: FdEntry;
  to: TransferEnd;
  ts: Ts;
  line: number;
  /** what the receiver's decoration said the fd is */
  seen: FdTarget | null;
  /** the path the receiving socket connected to, if the trace showed it */
  peerPath: string | null;
}

/** Who passes or takes fds, and through which socket of its fd table (null: the socket is not known). */
export interface Via {
  p: Process;
  tid: number;
  ts: Ts;
  line: number;
  syscall: string;
  sock: FdEntry | null;
}

/** false when two decorations clearly name different files; null when they cannot tell. */
function sameFile(a: FdTarget, b: FdTarget): boolean | null {
  if (a.inode !== null && b.inode !== null) return a.inode === b.inode;
  if (a.kind === 'unknown' || b.kind === 'unknown') return null;
  if (a.kind !== b.kind) return false;
  // a socket's address may change while it travels (bind, connect): only its protocol is fixed
  if (a.kind === 'socket') return a.target.slice(0, a.target.indexOf(':[')) === b.target.slice(0, b.target.indexOf(':['));
  return undeleted(a.target) === undeleted(b.target);
}

function undeleted(target: string): string {
  return target.endsWith(' (deleted)') ? target.slice(0, -10) : target;
}

/** A receive that got `got` could have taken the message `sent`: not more fds, and none clearly another file. */
export function fits(sent: readonly { seen: FdTarget | null }[], got: readonly (FdTarget | null)[]): boolean {
  if (got.length > sent.length) return false;
  for (let i = 0; i < got.length; i++) {
    const a = sent[i]!.seen;
    const b = got[i];
    if (a && b && sameFile(a, b) === false) return false;
  }
  return true;
}

/** The other end's view of a socket pair in -yy words: `UNIX-STREAM:[A->B]` seen from B is `UNIX-STREAM:[B->A]`. */
export function mirrored(socket: string | null): string | null {
  const m = socket !== null ? /^(.*):\[(\d+)->(\d+)\]$/.exec(socket) : null;
  return m ? `${m[1]}:[${m[3]}->${m[2]}]` : null;
}
