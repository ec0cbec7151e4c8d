// fd tables and open file descriptions: entries, references, dup/inherit/unshare. Pure: no I/O, no strace text.
import type { Ts } from '../model/records.js';
import { plainTarget, type FdRef, type FdTarget } from '../model/fdop.js';
import type { RecordBuilder } from './records.js';
import type { FdEntry, FdTable, OpenFileDescription, Origin, Process } from './state.js';

/** What the socket layer must hear from the fd tables. */
export interface SocketHooks {
  /** a decoration told more about a socket (its inode, its peer, its path) */
  learn(ofd: OpenFileDescription, t: FdTarget): void;
  /** the last reference to an open file description is gone */
  released(ofd: OpenFileDescription, ts: Ts, p: Process | null): void;
}

/** one per syscall name (origins are never written to): an open made one per fd */
const OPENED = new Map<string, Origin>();

export function openedOrigin(syscall: string): Origin {
  let o = OPENED.get(syscall);
  if (o === undefined) {
    o = Object.freeze<Origin>({ how: 'opened', syscall, fromPid: null, fromFd: null, fromComm: null });
    if (OPENED.size < 256) OPENED.set(syscall, o);
  }
  return o;
}

export function unknownOrigin(syscall: string): Origin {
  return { how: 'unknown', syscall, fromPid: null, fromFd: null, fromComm: null };
}

export class FdTables {
  private nextOfd = 1;
  private nextTable = 1;

  constructor(private readonly out: RecordBuilder, private readonly sockets: SocketHooks, private readonly leakThreshold: number) {}

  newTable(): FdTable {
    return { id: this.nextTable++, fds: new Map(), users: 1, fresh: 0, sent: 0, leakAt: this.leakThreshold, sentAt: this.leakThreshold };
  }

  /** `complete`: every holder is in the trace (false for what was open before it began) */
  newOfd(t: FdTarget, complete: boolean): OpenFileDescription {
    const id = this.nextOfd++;
    const ofd: OpenFileDescription = {
      id, origin: `ofd:${id}`, target: t.target, kind: t.kind, refs: 0, complete,
      endpoint: null, pidfdPid: t.pid, boundPath: null, peerPath: null, transferred: false,
    };
    this.sockets.learn(ofd, t);
    return ofd;
  }

  /** The entry a call's fd refers to; fds from before the trace are added as "seen" (and reported so). */
  entryFor(p: Process, ref: FdRef | null, tid: number, ts: Ts, syscall: string): FdEntry | null {
    if (ref === null || ref.fd < 0) return null;
    let en = p.table.fds.get(ref.fd);
    // a call named it: a received fd in use is no leak
    if (en !== undefined && en.fresh) { en.fresh = false; p.table.fresh--; }
    const t = ref.target;
    if (t !== null) {
      if (en) {
        // what we knew only vaguely, the decoration now names
        if (en.ofd.target.endsWith(':[?]') || en.origin.how === 'unknown' || en.ofd.kind === 'unknown') {
          en.ofd.target = t.target;
          en.ofd.kind = t.kind;
        } else if (t.kind === en.ofd.kind && t.target !== en.ofd.target && gained(en.ofd.target, t.target)) {
          // the kernel object gained detail since (bind, listen, connect, a peer, unlink): say what it is now
          en.ofd.target = t.target;
          this.sockets.learn(en.ofd, t);
          if (t.pid !== null) en.ofd.pidfdPid = t.pid;
          this.out.fd(p, tid, en, 'seen', syscall, ts);
          return en;
        }
        this.sockets.learn(en.ofd, t);
        if (t.pid !== null) en.ofd.pidfdPid = t.pid;
        return en;
      }
      en = this.add(p, ref.fd, this.newOfd(t, false), null, unknownOrigin(syscall), ts);
    } else if (!en) {
      en = this.add(p, ref.fd, this.newOfd(plainTarget(`fd:${ref.fd}`, 'unknown'), false), null, unknownOrigin(syscall), ts);
    } else {
      return en;
    }
    this.out.fd(p, tid, en, 'seen', syscall, ts);
    return en;
  }

  /** Installs `ofd` at `fd`, closing what was there. */
  add(p: Process, fd: number, ofd: OpenFileDescription, cloexec: boolean | null, origin: Origin, ts: Ts): FdEntry {
    const old = p.table.fds.get(fd);
    if (old) this.drop(p, old, ts);
    const fresh = origin.how === 'received' || origin.how === 'taken';
    const en: FdEntry = { fd, ofd, cloexec, origin, ts, fresh, sent: false };
    ofd.refs++;
    p.table.fds.set(fd, en);
    if (fresh) p.table.fresh++;
    return en;
  }

  drop(p: Process, en: FdEntry, ts: Ts): void {
    const t = p.table;
    if (t.fds.get(en.fd) === en) {
      t.fds.delete(en.fd);
      if (en.fresh) t.fresh--;
      if (en.sent) t.sent--;
    }
    this.unref(en.ofd, ts, p);
  }

  /** The holder sent this fd with SCM_RIGHTS (it counts until the holder closes it). */
  sent(p: Process, en: FdEntry): void {
    if (en.sent || p.table.fds.get(en.fd) !== en) return;
    en.sent = true;
    p.table.sent++;
  }

  unref(ofd: OpenFileDescription, ts: Ts, p: Process | null): void {
    ofd.refs--;
    if (ofd.refs > 0 || !ofd.complete) return;
    this.sockets.released(ofd, ts, p);
  }

  /** The kernel's unshare_files: the process gets its own copy of a shared fd table. */
  unshare(p: Process): void {
    p.table.users--;
    const copy = this.newTable();
    for (const [fd, en] of p.table.fds) { en.ofd.refs++; copy.fds.set(fd, { ...en }); }
    copy.fresh = p.table.fresh;
    copy.sent = p.table.sent;
    copy.leakAt = p.table.leakAt;
    copy.sentAt = p.table.sentAt;
    p.table = copy;
  }

  /** The child's copy of a parent's fd: one more reference to the same open file description. */
  inherited(parent: Process, src: FdEntry, syscall: string, ts: Ts): FdEntry {
    src.ofd.refs++;
    return {
      fd: src.fd, ofd: src.ofd, cloexec: src.cloexec, ts, fresh: false, sent: false,
      origin: { how: 'inherited', syscall, fromPid: parent.pid, fromFd: src.fd, fromComm: parent.comm },
    };
  }
}

/**
 * A later decoration of one open file that tells more: a socket's address or peer (`TCP:[12553]` ->
 * `TCP:[127.0.0.1:45127]`, `UNIX-STREAM:[1]` -> `UNIX-STREAM:[1->2]`), or a file that was unlinked (` (deleted)`).
 */
export function gained(was: string, now: string): boolean {
  if (now === was + ' (deleted)') return true;
  const i = was.indexOf(':[');
  const j = now.indexOf(':[');
  if (i < 0 || j < 0 || was.slice(0, i) !== now.slice(0, j) || !was.endsWith(']')) return false;
  const inner = was.slice(i + 2, -1);
  // only an inode before: anything more (an address, a peer) is detail the kernel object gained
  return /^\d+$/.test(inner) && now.slice(j + 2, -1) !== inner;
}
