// The SCM_RIGHTS matcher: per receiving endpoint a FIFO of in-flight messages (queued at a send's entry, taken
// back when it fails), receives that take the message their fds can be, receives waiting for their send
// (out-of-order input), and what is lost (MSG_CTRUNC, a socket closed with fds queued). Pure.
import type { AlertKind, TransferEnd, TransferRecord, Ts } from '../model/records.js';
import { plainTarget, type FdTarget, type ScmMessage } from '../model/fdop.js';
import type { FdTables, SocketHooks } from './fdtables.js';
import { Endpoints } from './endpoints.js';
import { fits, type InFlightFd, type InFlightMessage, type OrphanFd, type PendingSend, type Via } from './pairing.js';
import { endOf, untracedSender, type RecordBuilder } from './records.js';
import type { FdEntry, OpenFileDescription, Process } from './state.js';
import { NONE, appended } from '../model/arrays.js';

export type { Via } from './pairing.js';

export interface TransferOptions {
  /** input not in time order (-ff files without timestamps): a receive may come before its send */
  deferOrphans?: boolean;
}

/** The first queued message of `q` carrying open file description `file` (the kernel's identity), or -1. */
function carrying(q: readonly InFlightMessage[], file: string): number {
  for (let i = 0; i < q.length; i++) {
    const m = q[i]!;
    if (m.state !== 'queued') continue;
    for (const f of m.fds) if (f.file === file) return i;
  }
  return -1;
}

/** How far a receive looks past the oldest queued message for the one its fds name. */
const MAX_SCAN = 256;


export class Transfers implements SocketHooks {
  /** socket endpoints and who is whose peer */
  readonly ep: Endpoints;
  /** receiving endpoint (or `peer-of:` the sending one, when its peer is unknown) -> messages queued on it */
  readonly queues = new Map<string, InFlightMessage[]>();
  private readonly orphans = new Map<string, OrphanFd[][]>();
  /** per thread: the send whose entry queued its message, until its return shows */
  private readonly sendEntries = new Map<number, PendingSend>();
  /** per thread: a sendmmsg under way (its messages show at its return), and the queue it fills */
  private readonly mmsgEntries = new Map<number, { line: number; key: string }>();
  /** messages taken out of a queue because a later one was received first: their receive is not in the trace */
  private readonly stranded: Array<{ key: string; m: InFlightMessage }> = [];
  /** order of ops as they arrive (print order, or time order of an -ff merge) */
  seq = 0;

  constructor(
    readonly out: RecordBuilder,
    readonly tables: () => FdTables,
    private readonly opts: TransferOptions,
  ) {
    this.ep = new Endpoints(opts.deferOrphans === true);
  }

  // ---------------------------------------------------------------- endpoints

  /** -y/-yy decorations say which socket this is, and with -yy its peer; a made-up endpoint's queue follows it. */
  learn(ofd: OpenFileDescription, t: FdTarget): void {
    this.ep.learn(ofd, t, (from, to) => this.moveQueue(from, to));
  }

  private moveQueue(from: string, to: string): void {
    const q = this.queues.get(from);
    if (!q) return;
    this.queues.delete(from);
    const dst = this.queues.get(to);
    if (dst) dst.push(...q); else this.queues.set(to, q);
  }

  /** The last reference to a socket is gone: messages still queued on it lose their fds. */
  released(ofd: OpenFileDescription, ts: Ts, p: Process | null): void {
    if (ofd.endpoint === null) return;
    // the socket is gone: it sends nothing more (its inode may be reused), and its peer link can go
    const peer = this.ep.forget(ofd.endpoint);
    if (peer !== undefined) this.moveQueue(`peer-of:${ofd.endpoint}`, peer); // what it sent before its peer was known is the peer's
    this.loseQueue(ofd.endpoint, ts, p?.pid ?? null, null);
  }

  /** The receiving socket `key` is gone: every message still queued on it loses its fds (`to`: who held it). */
  loseQueue(key: string, ts: Ts, pid: number | null, to: TransferEnd | null): void {
    const q = this.queues.get(key);
    if (!q || q.length === 0) return;
    this.queues.delete(key);
    const why = 'receiving socket closed with the fd still queued';
    // one cause, one alert per sender: however many messages were queued
    const bySender = new Map<number | null, InFlightFd[]>();
    for (const m of q) {
      if (m.state !== 'queued') continue;
      m.state = 'taken';
      for (const f of m.fds) {
        this.lose(f, ts, why, 'socket-closed-with-fds', null, to, false);
        const g = bySender.get(f.from.pid);
        if (g) g.push(f); else bySender.set(f.from.pid, [f]);
      }
    }
    for (const fds of bySender.values()) {
      this.out.alertFds('socket-closed-with-fds', pid, fds, ts, `was lost: ${why}`, 'were lost: receiving socket closed with the fds still queued');
    }
  }

  // ---------------------------------------------------------------- SCM_RIGHTS

  /** The queue a send on `sock` fills: the receiving endpoint's, or a stand-in until the peer is known. */
  private queueKey(p: Process, sock: FdEntry | null): string {
    const ep = sock?.ofd.endpoint ?? null;
    return ep ? (this.ep.peerOf(ep) ?? `peer-of:${ep}`) : `unknown:${p.pid}`;
  }

  /**
   * A send. At its entry (`entry`) the message is queued before any receive can return it, and its return decides
   * whether it stays; a return whose entry was seen only confirms it.
   */
  send(v: Via, messages: Array<ScmMessage | 'opaque'>, entry: boolean): void {
    if (entry) {
      this.sendEntries.set(v.tid, { line: v.line, p: v.p, messages: this.queue(v, messages, Infinity) });
      return;
    }
    const pend = this.sendEntries.get(v.tid);
    if (pend !== undefined) {
      this.sendEntries.delete(v.tid);
      if (pend.line === v.line) { this.sendReturned(pend, true, v.ts); return; }
    }
    this.queue(v, messages, this.seq);
    this.mmsgReturned(v.tid);
  }

  /** A sendmmsg is under way: strace prints its messages at its return, so a receive that returns first waits. */
  sendBegins(v: Via): void {
    this.mmsgEntries.set(v.tid, { line: v.line, key: this.queueKey(v.p, v.sock) });
  }

  /** A send failed or never returned: what its entry queued was not sent. */
  sendFailed(tid: number, line: number, ts: Ts): void {
    const pend = this.sendEntries.get(tid);
    if (pend !== undefined) {
      this.sendEntries.delete(tid);
      if (pend.line === line) this.sendReturned(pend, false, ts);
    }
    this.mmsgReturned(tid);
  }

  /** The return of a send queued at its entry: a failed (or never returned) send sent nothing. */
  private sendReturned(pend: PendingSend, sent: boolean, ts: Ts): void {
    for (const m of pend.messages) {
      if (sent) { m.doneSeq = this.seq; continue; }
      if (m.state !== 'queued') continue; // a receive already proved it was sent
      m.state = 'dropped';
      pend.p.fdsSent -= m.fds.length;
      this.out.counts.fdsSent -= m.fds.length;
      for (const f of m.fds) this.tables().unref(f.ofd, ts, null);
    }
  }

  /** The sendmmsg under way whose queue a receive on `ep` reads, if any. */
  private mmsgUnderWay(ep: string | null): string | null {
    if (ep === null || this.mmsgEntries.size === 0) return null;
    const peer = this.ep.peerOf(ep);
    for (const m of this.mmsgEntries.values()) if (m.key === ep || (peer !== undefined && m.key === `peer-of:${peer}`)) return m.key;
    return null;
  }

  /** A sendmmsg returned: receives that waited for it and found nothing in it came from elsewhere. */
  private mmsgReturned(tid: number): void {
    const m = this.mmsgEntries.get(tid);
    if (!m) return;
    this.mmsgEntries.delete(tid);
    if (this.opts.deferOrphans) return; // out-of-order input: they wait for the end
    for (const other of this.mmsgEntries.values()) if (other.key === m.key) return;
    const waiting = this.orphans.get(m.key);
    if (!waiting) return;
    this.orphans.delete(m.key);
    for (const o of waiting) this.adopt(o, []);
  }

  /** Queues one message per header on the receiving endpoint; `doneSeq`: when the send returned (Infinity: not yet). */
  private queue(v: Via, messages: Array<ScmMessage | 'opaque'>, doneSeq: number): InFlightMessage[] {
    const { p } = v;
    const sockText = v.sock ? v.sock.ofd.target : null;
    // what a send's entry queued is kept until its return; a send seen only at its return keeps nothing
    let out: InFlightMessage[] = NONE;
    const keep = doneSeq === Infinity;
    for (const msg of messages) {
      if (msg === 'opaque') { this.out.counts.opaqueMessages++; continue; }
      if (msg.hidden) this.out.counts.opaqueMessages++;
      if (msg.fds.length === 0) continue;
      let fds: InFlightFd[] = NONE;
      for (const ref of msg.fds) {
        const en = this.tables().entryFor(p, ref, v.tid, v.ts, v.syscall);
        if (!en) continue;
        this.tables().sent(p, en);
        en.ofd.refs++; // the message holds a reference until it is received or dropped
        fds = appended(fds, {
          from: endOf(p, v.tid, en.fd, sockText), ofd: en.ofd, target: en.ofd.target, kind: en.ofd.kind,
          sentTs: v.ts, line: v.line, seen: ref.target, file: ref.file ?? null,
        });
      }
      p.fdsSent += fds.length;
      this.out.counts.fdsSent += fds.length;
      const m: InFlightMessage = { fds, state: 'queued', entrySeq: this.seq, doneSeq };
      if (keep) out = appended(out, m);
      const key = this.queueKey(p, v.sock);
      const waiting = this.orphans.get(key);
      const at = waiting ? waiting.findIndex((o) => fits(fds, o.map((r) => r.seen))) : -1;
      if (at >= 0) {
        m.state = 'taken';
        this.adopt(waiting!.splice(at, 1)[0]!, fds);
        if (waiting!.length === 0) this.orphans.delete(key);
        continue;
      }
      const q = this.queues.get(key);
      if (q) q.push(m); else this.queues.set(key, [m]);
    }
    return out;
  }

  /**
   * The message a receive got: the oldest queued one its fds could be. A message whose fds the receiver's
   * decorations name as other files is never taken, so one unseen send or receive shifts nothing after it.
   */
  private takeMessage(ep: string | null, fds: ScmMessage['fds'], peek: boolean, file?: string): InFlightMessage | null {
    // the kernel's file identity is the strongest: the message that carries this very open file description
    if (file !== undefined) {
      // keys, then a lookup: no [key, queue] pair made per queue looked at
      for (const k of this.queues.keys()) {
        const q = this.queues.get(k)!;
        const i = carrying(q, file);
        if (i < 0) continue;
        const m = q[i]!;
        if (peek) return m;
        if (i === 0) q.shift(); else q.splice(i, 1);
        if (q.length === 0) this.queues.delete(k);
        m.state = 'taken';
        return m;
      }
    }
    if (!ep) return null;
    // what the receiver's decorations say its fds are (made only when the file identity did not decide)
    const got = fds.map((f) => f.target);
    const keys = [ep];
    const peer = this.ep.peerOf(ep);
    if (peer) keys.push(`peer-of:${peer}`);
    for (const k of keys) {
      const q = this.queues.get(k);
      if (!q) continue;
      while (q.length > 0 && q[0]!.state !== 'queued') q.shift(); // dropped sends leave their place lazily
      let i = 0;
      while (i < q.length && i < MAX_SCAN && (q[i]!.state !== 'queued' || !fits(q[i]!.fds, got))) i++;
      if (q.length === 0) this.queues.delete(k);
      if (i >= q.length || i >= MAX_SCAN) continue;
      const m = q[i]!;
      if (peek) return m; // MSG_PEEK installs copies of the fds and leaves the message queued
      if (i === 0) q.shift(); else q.splice(i, 1);
      if (i > 0 && !this.opts.deferOrphans) {
        // the queue is FIFO: a message whose send returned before this one's began left it before this one
        const keep: InFlightMessage[] = [];
        for (const x of q.splice(0, i)) {
          if (x.state !== 'queued') continue;
          if (x.doneSeq < m.entrySeq) { x.state = 'stranded'; this.stranded.push({ key: k, m: x }); } else keep.push(x);
        }
        q.unshift(...keep);
      }
      if (q.length === 0) this.queues.delete(k);
      m.state = 'taken';
      return m;
    }
    return null;
  }

  receive(v: Via, messages: Array<ScmMessage | 'opaque'>, cloexec: boolean, peek: boolean): void {
    const { p } = v;
    // out-of-order input: a socket we know nothing about pairs with unknown sockets of the same process
    const ep = v.sock?.ofd.endpoint ?? (this.opts.deferOrphans ? `unknown:${p.pid}` : null);
    const sockText = v.sock ? v.sock.ofd.target : null;
    for (const msg of messages) {
      if (msg === 'opaque') { this.out.counts.opaqueMessages++; continue; }
      if (msg.hidden) this.out.counts.opaqueMessages++;
      const n = msg.fds.length;
      if (n === 0 && !msg.ctrunc) continue;
      const m = this.takeMessage(ep, msg.fds, peek, msg.fds[0]?.file);
      const sent = m ? m.fds : [];
      // no message yet: out-of-order input, or a sendmmsg under way that strace prints only when it returns
      const waitOn = !m && n > 0 && ep !== null ? (this.opts.deferOrphans ? ep : this.mmsgUnderWay(ep)) : null;
      const orphan: OrphanFd[] | null = waitOn !== null ? [] : null;
      const delivered: TransferRecord[] = [];
      p.fdsReceived += n;
      this.out.counts.fdsReceived += n;
      for (let i = 0; i < n; i++) {
        const a = msg.fds[i]!;
        const s = sent[i];
        const seen = a.target;
        let ofd: OpenFileDescription;
        if (s) {
          ofd = s.ofd;
          if (!peek) ofd.refs--; // the in-flight reference becomes the new entry's
          if (seen) this.learn(ofd, seen);
        } else {
          ofd = this.tables().newOfd(seen ?? plainTarget(`fd:${a.fd}`, 'unknown'), false);
        }
        ofd.transferred = true;
        p.hasTransferred = true;
        const fromPid = s?.from.pid ?? null;
        const en = this.tables().add(p, a.fd, ofd, cloexec,
          { how: 'received', syscall: v.syscall, fromPid, fromFd: s?.from.fd ?? null, fromComm: s?.from.comm ?? null }, v.ts);
        this.out.fd(p, v.tid, en, 'receive', v.syscall, v.ts, s?.from.fd ?? null, fromPid);
        if (orphan) { orphan.push({ p, entry: en, to: endOf(p, v.tid, a.fd, sockText), ts: v.ts, line: v.line, seen, peerPath: v.sock?.ofd.peerPath ?? null }); continue; }
        delivered.push(this.out.delivered(s ? s.from : untracedSender(sockText, v.sock?.ofd.peerPath ?? null), endOf(p, v.tid, a.fd, sockText),
          ofd.target, ofd.kind, s?.sentTs ?? null, v.ts, s?.line ?? v.line,
          // both ends read by the kernel: one open file description, proven (what kcmp proves after the fact)
          a.file !== undefined && s?.file != null ? a.file === s.file : undefined,
          ofd.origin));
      }
      this.out.crossings(delivered, v.ts);
      if (orphan && waitOn !== null) {
        const list = this.orphans.get(waitOn);
        if (list) list.push(orphan); else this.orphans.set(waitOn, [orphan]);
      }
      for (let i = n; i < sent.length && !peek; i++) {
        this.lose(sent[i]!, v.ts, msg.ctrunc ? 'MSG_CTRUNC: the receiver\'s control buffer was too small' : 'not installed by the receiver',
          'ctrunc-lost', p, endOf(p, v.tid, null, sockText));
      }
    }
  }

  /** A send that arrives after its receive (out-of-order input): the receiver's fds become the sender's files. */
  private adopt(received: OrphanFd[], sent: InFlightFd[]): void {
    const delivered: TransferRecord[] = [];
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
      delivered.push(this.out.transfer({
        via: 'SCM_RIGHTS', state: 'delivered', from: s ? s.from : untracedSender(r.to.socket, r.peerPath), to: r.to,
        target: r.entry.ofd.target, kind: r.entry.ofd.kind, sentTs: s?.sentTs ?? null, receivedTs: r.ts, line: s?.line ?? r.line,
        origin: r.entry.ofd.origin,
      }));
    }
    this.out.crossings(delivered, received[0]?.ts ?? this.out.lastTs);
    for (let i = received.length; i < sent.length; i++) this.lose(sent[i]!, sent[i]!.sentTs, 'not installed by the receiver', 'ctrunc-lost', null);
  }

  /** A lost fd: its transfer record and, unless `alert` is false (the caller groups them), its alert. */
  private lose(s: InFlightFd, ts: Ts, reason: string, kind: AlertKind, p: Process | null, to: TransferEnd | null = null, alert = true): void {
    this.out.transfer({
      via: 'SCM_RIGHTS', state: 'lost', from: s.from, to, target: s.target, kind: s.kind,
      sentTs: s.sentTs, receivedTs: null, reason, line: s.line, origin: s.ofd.origin,
    });
    if (alert) this.out.alertFds(kind, to?.pid ?? p?.pid ?? null, [s], ts, `was lost: ${reason}`, `were lost: ${reason}`);
    this.tables().unref(s.ofd, ts, null);
  }

  /** End of the trace: what is still queued is in flight; receives whose send never showed came from outside. */
  finish(): void {
    for (const list of this.orphans.values()) for (const m of list) this.adopt(m, []);
    this.orphans.clear();
    // one alert per receiving socket and sender: an untraced receiver is one cause, not one per message
    const groups = new Map<string, InFlightFd[]>();
    const add = (key: string, m: InFlightMessage): void => {
      for (const s of m.fds) {
        const g = `${key} ${s.from.pid}`;
        const list = groups.get(g);
        if (list) list.push(s); else groups.set(g, [s]);
      }
    };
    for (const [key, q] of this.queues) for (const m of q) if (m.state === 'queued') add(key, m);
    for (const { key, m } of this.stranded) add(key, m);
    for (const fds of groups.values()) {
      for (const s of fds) {
        this.out.transfer({
          via: 'SCM_RIGHTS', state: 'in-flight', from: s.from, to: null, target: s.target, kind: s.kind,
          sentTs: s.sentTs, receivedTs: null, line: s.line, origin: s.ofd.origin,
        });
      }
      this.out.alertFds('in-flight-at-end', fds[0]!.from.pid, fds, this.out.lastTs, 'was never received in the trace', 'were never received in the trace');
    }
    this.queues.clear();
    this.stranded.length = 0;
  }

  /** How many entries each table holds: what memory grows with. */
  stateSizes(): Record<string, number> {
    let queued = 0;
    for (const q of this.queues.values()) queued += q.length;
    return {
      ...this.ep.sizes(), queues: this.queues.size, queued,
      orphans: this.orphans.size, sendEntries: this.sendEntries.size, mmsgEntries: this.mmsgEntries.size, stranded: this.stranded.length,
    };
  }
}
