// Socket endpoints and the fd-passing matcher: peers, per-endpoint FIFOs of in-flight SCM_RIGHTS messages,
// receives waiting for their send (out-of-order input), pidfd_getfd, and what is lost. Pure.
import type { AlertKind, FdKind, TransferEnd, Ts } from '../model/records.js';
import { plainTarget, type FdTarget, type ScmMessage } from '../model/fdop.js';
import type { FdTables, SocketHooks } from './fdtables.js';
import { endOf, procName, unknownEnd, type RecordBuilder } from './records.js';
import type { FdEntry, OpenFileDescription, Process } from './state.js';

export interface TransferOptions {
  /** input not in time order (-ff files without timestamps): a receive may come before its send */
  deferOrphans?: boolean;
}

/** An fd inside a message on its way: the message holds a reference to the open file description. */
interface InFlightFd {
  from: TransferEnd;
  ofd: OpenFileDescription;
  target: string;
  kind: FdKind;
  sentTs: Ts;
  line: number;
  /** the kernel's identity of the open file description (FdRef.file), when the source reads it */
  file: string | null;
}

interface InFlightMessage {
  fds: InFlightFd[];
  /** the queue it waits in */
  key: string;
}

/** A receive whose send was not seen (yet): held until the send shows up or the trace ends. */
interface OrphanFd {
  p: Process;
  entry: FdEntry;
  to: TransferEnd;
  ts: Ts;
  line: number;
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

export class Transfers implements SocketHooks {
  /** endpoint id -> its peer's (`ino:N` from -yy, or `ep:N` made up from socketpair/accept/connect) */
  private readonly peers = new Map<string, string>();
  /** receiving endpoint (or `peer-of:` the sending one, when its peer is unknown) -> messages queued on it */
  private readonly queues = new Map<string, InFlightMessage[]>();
  /** unix socket path -> client endpoints whose connect() waits for the listener's accept() */
  private readonly pendingConnects = new Map<string, string[]>();
  private readonly orphans = new Map<string, OrphanFd[][]>();
  /** kernel file identity (FdRef.file) -> the in-flight messages carrying it, oldest first */
  private readonly byFile = new Map<string, InFlightMessage[]>();
  private nextEndpoint = 1;

  constructor(
    private readonly out: RecordBuilder,
    private readonly tables: () => FdTables,
    private readonly processes: ReadonlyMap<number, Process>,
    private readonly opts: TransferOptions,
  ) {}

  // ---------------------------------------------------------------- endpoints

  /** A socket made in the trace (socket, socketpair, accept) gets an endpoint even before -yy names it. */
  newEndpoint(ofd: OpenFileDescription): void {
    if (ofd.endpoint === null) ofd.endpoint = `ep:${this.nextEndpoint++}`;
  }

  /** -y/-yy decorations say which socket this is, and with -yy its peer. */
  learn(ofd: OpenFileDescription, t: FdTarget): void {
    if (t.kind !== 'socket') return;
    if (t.inode !== null) {
      const ep = `ino:${t.inode}`;
      if (ofd.endpoint !== ep) {
        // a made-up endpoint learned its inode: carry its peer link over
        const old = ofd.endpoint;
        if (old && old.startsWith('ep:')) {
          const peer = this.peers.get(old);
          if (peer) this.link(ep, peer);
          this.moveQueue(old, ep);
        }
        ofd.endpoint = ep;
      }
      if (t.peer !== null && t.peer !== 0) this.link(ep, `ino:${t.peer}`);
    }
    if (t.path !== null && ofd.boundPath === null) ofd.boundPath = t.path;
  }

  /** Two endpoints are each other's peer (socketpair, or -yy's `A->B`). */
  link(a: string, b: string): void {
    this.peers.set(a, b);
    this.peers.set(b, a);
  }

  private moveQueue(from: string, to: string): void {
    const q = this.queues.get(from);
    if (!q) return;
    this.queues.delete(from);
    for (const m of q) m.key = to;
    const dst = this.queues.get(to);
    if (dst) dst.push(...q); else this.queues.set(to, q);
  }

  /** The last reference to a socket is gone: messages still queued on it lose their fds. */
  released(ofd: OpenFileDescription, ts: Ts, p: Process | null): void {
    if (ofd.endpoint === null) return;
    const q = this.queues.get(ofd.endpoint);
    if (!q || q.length === 0) return;
    this.queues.delete(ofd.endpoint);
    for (const m of q) {
      this.unindex(m);
      for (const f of m.fds) this.lose(f, ts, 'receiving socket closed with the fd still queued', 'socket-closed-with-fds', p);
    }
  }

  connected(sock: FdEntry | null, path: string | null): void {
    if (!sock || !path || !sock.ofd.endpoint || this.peers.has(sock.ofd.endpoint)) return;
    const q = this.pendingConnects.get(path);
    if (q) q.push(sock.ofd.endpoint); else this.pendingConnects.set(path, [sock.ofd.endpoint]);
  }

  bound(sock: FdEntry | null, path: string | null): void {
    if (sock && path) sock.ofd.boundPath = path;
  }

  /** accept: the new socket is the peer of the oldest client that connected to the listener's path. */
  accepted(ofd: OpenFileDescription, listener: FdEntry | null): void {
    let path = listener?.ofd.boundPath ?? null;
    // a listener bound before the trace: if connects wait on a single path, they are for it
    if (!path && listener && this.pendingConnects.size === 1) {
      path = [...this.pendingConnects.keys()][0]!;
      listener.ofd.boundPath = path;
    }
    if (path && !this.peers.has(ofd.endpoint!)) {
      const client = this.pendingConnects.get(path)?.shift();
      if (client) this.link(ofd.endpoint!, client);
    }
  }

  // ---------------------------------------------------------------- SCM_RIGHTS

  send(v: Via, messages: Array<ScmMessage | 'opaque'>): void {
    const { p } = v;
    const sockText = v.sock ? v.sock.ofd.target : null;
    for (const m of messages) {
      if (m === 'opaque') { this.out.counts.opaqueMessages++; continue; }
      if (m.hidden) this.out.counts.opaqueMessages++;
      if (m.fds.length === 0) continue;
      const fds: InFlightFd[] = [];
      for (const ref of m.fds) {
        const en = this.tables().entryFor(p, ref, v.tid, v.ts, v.syscall);
        if (!en) continue;
        en.ofd.refs++; // the message holds a reference until it is received or dropped
        fds.push({ from: endOf(p, v.tid, en.fd, sockText), ofd: en.ofd, target: en.ofd.target, kind: en.ofd.kind, sentTs: v.ts, line: v.line, file: ref.file ?? null });
      }
      p.fdsSent += fds.length;
      this.out.counts.fdsSent += fds.length;
      const ep = v.sock?.ofd.endpoint ?? null;
      const key = ep ? (this.peers.get(ep) ?? `peer-of:${ep}`) : `unknown:${p.pid}`;
      const waiting = this.orphans.get(key);
      if (waiting && waiting.length > 0) { this.adopt(waiting.shift()!, fds); continue; }
      const q = this.queues.get(key);
      const msg: InFlightMessage = { fds, key };
      if (q) q.push(msg); else this.queues.set(key, [msg]);
      for (const f of fds) {
        if (f.file === null) continue;
        const list = this.byFile.get(f.file);
        if (list) { if (list[list.length - 1] !== msg) list.push(msg); } else this.byFile.set(f.file, [msg]);
      }
    }
  }

  /** A message leaves the file-identity index (received, lost, or in flight at the end). */
  private unindex(m: InFlightMessage): void {
    for (const f of m.fds) {
      if (f.file === null) continue;
      const list = this.byFile.get(f.file);
      const i = list ? list.indexOf(m) : -1;
      if (i < 0) continue;
      list!.splice(i, 1);
      if (list!.length === 0) this.byFile.delete(f.file);
    }
  }

  private popMessage(ep: string | null, file: string | undefined): InFlightMessage | null {
    // the kernel's file identity is the strongest: the (oldest) message that carries this very open file description
    const m = file !== undefined ? this.byFile.get(file)?.[0] : undefined;
    if (m) {
      const q = this.queues.get(m.key)!;
      q.splice(q.indexOf(m), 1);
      if (q.length === 0) this.queues.delete(m.key);
      this.unindex(m);
      return m;
    }
    if (!ep) return null;
    const keys = [ep];
    const peer = this.peers.get(ep);
    if (peer) keys.push(`peer-of:${peer}`);
    for (const k of keys) {
      const q = this.queues.get(k);
      if (q && q.length > 0) {
        const m = q.shift()!;
        if (q.length === 0) this.queues.delete(k);
        this.unindex(m);
        return m;
      }
    }
    return null;
  }

  receive(v: Via, messages: Array<ScmMessage | 'opaque'>, cloexec: boolean): void {
    const { p } = v;
    // out-of-order input: a socket we know nothing about pairs with unknown sockets of the same process
    const ep = v.sock?.ofd.endpoint ?? (this.opts.deferOrphans ? `unknown:${p.pid}` : null);
    const sockText = v.sock ? v.sock.ofd.target : null;
    for (const msg of messages) {
      if (msg === 'opaque') { this.out.counts.opaqueMessages++; continue; }
      if (msg.hidden) this.out.counts.opaqueMessages++;
      const n = msg.fds.length;
      if (n === 0 && !msg.ctrunc) continue;
      const m = this.popMessage(ep, msg.fds[0]?.file);
      const sent = m ? m.fds : [];
      const orphan: OrphanFd[] | null = !m && n > 0 && this.opts.deferOrphans && ep !== null ? [] : null;
      p.fdsReceived += n;
      this.out.counts.fdsReceived += n;
      for (let i = 0; i < n; i++) {
        const a = msg.fds[i]!;
        const s = sent[i];
        let ofd: OpenFileDescription;
        if (s) {
          ofd = s.ofd;
          ofd.refs--; // the in-flight reference becomes the new entry's
          if (a.target !== null) this.learn(ofd, a.target);
        } else {
          ofd = this.tables().newOfd(a.target ?? plainTarget(`fd:${a.fd}`, 'unknown'), false);
        }
        ofd.transferred = true;
        p.hasTransferred = true;
        const fromPid = s?.from.pid ?? null;
        const en = this.tables().add(p, a.fd, ofd, cloexec,
          { how: 'received', syscall: v.syscall, fromPid, fromFd: s?.from.fd ?? null, fromComm: s?.from.comm ?? null }, v.ts);
        this.out.fd(p, v.tid, en, 'receive', v.syscall, v.ts, s?.from.fd ?? null, fromPid);
        if (orphan) { orphan.push({ p, entry: en, to: endOf(p, v.tid, a.fd, sockText), ts: v.ts, line: v.line }); continue; }
        this.out.transfer({
          via: 'SCM_RIGHTS', state: 'delivered', from: s ? s.from : unknownEnd(), to: endOf(p, v.tid, a.fd, sockText),
          target: ofd.target, kind: ofd.kind, sentTs: s?.sentTs ?? null, receivedTs: v.ts, line: s?.line ?? v.line,
          // both ends read by the kernel: one open file description, proven (what kcmp proves after the fact)
          ...(a.file !== undefined && s?.file != null ? { confirmed: a.file === s.file } : {}),
        });
      }
      if (orphan && ep !== null) {
        const list = this.orphans.get(ep);
        if (list) list.push(orphan); else this.orphans.set(ep, [orphan]);
      }
      for (let i = n; i < sent.length; i++) {
        this.lose(sent[i]!, v.ts, msg.ctrunc ? 'MSG_CTRUNC: the receiver\'s control buffer was too small' : 'not installed by the receiver',
          'ctrunc-lost', p, endOf(p, v.tid, null, sockText));
      }
    }
  }

  /** A send that arrives after its receive (out-of-order input): the receiver's fds become the sender's files. */
  private adopt(received: OrphanFd[], sent: InFlightFd[]): void {
    for (let i = 0; i < received.length; i++) {
      const r = received[i]!;
      const s = sent[i];
      if (s) {
        r.entry.ofd.refs--;
        s.ofd.transferred = true;
        r.entry.ofd = s.ofd; // the in-flight reference becomes the entry's
        r.p.hasTransferred = true;
        r.entry.origin = { how: 'received', syscall: r.entry.origin.syscall, fromPid: s.from.pid, fromFd: s.from.fd, fromComm: s.from.comm };
      }
      this.out.transfer({
        via: 'SCM_RIGHTS', state: 'delivered', from: s ? s.from : unknownEnd(), to: r.to,
        target: r.entry.ofd.target, kind: r.entry.ofd.kind, sentTs: s?.sentTs ?? null, receivedTs: r.ts, line: s?.line ?? r.line,
      });
    }
    for (let i = received.length; i < sent.length; i++) this.lose(sent[i]!, sent[i]!.sentTs, 'not installed by the receiver', 'ctrunc-lost', null);
  }

  private lose(s: InFlightFd, ts: Ts, reason: string, kind: AlertKind, p: Process | null, to: TransferEnd | null = null): void {
    this.out.transfer({
      via: 'SCM_RIGHTS', state: 'lost', from: s.from, to, target: s.target, kind: s.kind,
      sentTs: s.sentTs, receivedTs: null, reason, line: s.line,
    });
    this.out.alert(kind, to?.pid ?? p?.pid ?? null, s.from.fd, ts,
      `fd ${s.from.fd} (${s.target}) sent by ${procName(s.from.comm, s.from.pid)} was lost: ${reason}`);
    this.tables().unref(s.ofd, ts, null);
  }

  // ---------------------------------------------------------------- pidfd_getfd

  /** pidfd_getfd: the caller's new fd `fd` is a copy of fd `targetFd` of the process behind `pidfd`. */
  take(v: Via, pidfd: FdEntry | null, targetFd: number | null, fd: number, target: FdTarget | null): void {
    const { p } = v;
    const fromPid = pidfd?.ofd.pidfdPid ?? null;
    const srcProc = fromPid !== null ? this.processes.get(fromPid) : undefined;
    const src = targetFd !== null ? srcProc?.table.fds.get(targetFd) : undefined;
    const ofd = src ? src.ofd : this.tables().newOfd(target ?? plainTarget(`fd:${targetFd}`, 'unknown'), false);
    ofd.transferred = true;
    p.hasTransferred = true;
    const en = this.tables().add(p, fd, ofd, true,
      { how: 'taken', syscall: v.syscall, fromPid, fromFd: targetFd, fromComm: srcProc?.comm ?? null }, v.ts);
    this.out.counts.fdsSent++;
    this.out.counts.fdsReceived++;
    p.fdsReceived++;
    if (srcProc) srcProc.fdsSent++;
    this.out.fd(p, v.tid, en, 'take', v.syscall, v.ts, targetFd, fromPid);
    this.out.transfer({
      via: 'pidfd_getfd', state: 'delivered',
      from: { pid: fromPid, tid: null, comm: srcProc?.comm ?? null, uid: srcProc?.uid ?? null, fd: targetFd, socket: null },
      to: endOf(p, v.tid, en.fd, null), target: ofd.target, kind: ofd.kind, sentTs: v.ts, receivedTs: v.ts, line: v.line,
    });
  }

  /** End of the trace: what is still queued is in flight; receives whose send never showed came from outside. */
  finish(): void {
    for (const list of this.orphans.values()) for (const m of list) this.adopt(m, []);
    this.orphans.clear();
    for (const q of this.queues.values()) {
      for (const m of q) {
        for (const s of m.fds) {
          this.out.transfer({
            via: 'SCM_RIGHTS', state: 'in-flight', from: s.from, to: null, target: s.target, kind: s.kind,
            sentTs: s.sentTs, receivedTs: null, line: s.line,
          });
          this.out.alert('in-flight-at-end', s.from.pid, s.from.fd, this.out.lastTs,
            `fd ${s.from.fd} (${s.target}) sent by ${procName(s.from.comm, s.from.pid)} was never received in the trace`);
        }
      }
    }
    this.queues.clear();
    this.byFile.clear();
  }
}

