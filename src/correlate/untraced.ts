// Receivers nobody traces (live mode): the kernel (fdinfo `scm_fds`, who holds the socket) says what happened to
// messages queued on their sockets; the matcher's queues follow what it says. Pure: live mode brings the facts.
import type { PeerEnd, QueuedOn } from '../model/fdop.js';
import type { TransferEnd, TransferRecord, Ts } from '../model/records.js';
import { mirrored } from './pairing.js';
import type { Transfers } from './transfers.js';

export class UntracedPeers {
  constructor(private readonly t: Transfers) {}

  /** Messages queued on sockets known by inode (oldest first): live mode asks the kernel whether they still are. */
  queued(): QueuedOn[] {
    const out: QueuedOn[] = [];
    for (const [key, q] of this.t.queues) {
      if (!key.startsWith('ino:')) continue;
      const messages = q.filter((m) => m.state === 'queued').map((m) => ({ fds: m.fds.map((f) => ({ pid: f.from.pid, fd: f.from.fd, target: f.target })) }));
      if (messages.length > 0) out.push({ inode: Number(key.slice(4)), messages });
    }
    return out;
  }

  /** The kernel says an untraced holder of socket `inode` took its oldest `n` queued messages: delivered to it. */
  peerReceived(inode: number, n: number, to: PeerEnd, fds: Array<Array<number | null>>, ts: Ts): void {
    const key = `ino:${inode}`;
    const q = this.t.queues.get(key);
    if (!q) return;
    for (let i = 0; i < n; i++) {
      const at = q.findIndex((m) => m.state === 'queued');
      if (at < 0) break;
      const m = q.splice(at, 1)[0]!;
      m.state = 'taken';
      const got = fds[i] ?? [];
      const delivered: TransferRecord[] = [];
      for (let j = 0; j < m.fds.length; j++) {
        const f = m.fds[j]!;
        this.t.out.counts.fdsReceived++;
        delivered.push(this.t.out.transfer({
          via: 'SCM_RIGHTS', state: 'delivered', from: f.from,
          to: { pid: to.pid, tid: null, comm: to.comm, uid: to.uid, fd: got[j] ?? null, socket: to.socket ?? mirrored(f.from.socket) },
          target: f.target, kind: f.kind, sentTs: f.sentTs, receivedTs: ts, line: f.line, origin: f.ofd.origin,
        }));
        this.t.tables().unref(f.ofd, ts, null);
      }
      this.t.out.crossings(delivered, ts);
    }
    if (!q.some((m) => m.state === 'queued')) this.t.queues.delete(key);
  }

  /** The kernel says no process holds the untraced socket `inode` any more: what it queued is lost. */
  peerClosed(inode: number, to: PeerEnd | null, ts: Ts): void {
    const key = `ino:${inode}`;
    const q = this.t.queues.get(key);
    const sock = q?.find((m) => m.state === 'queued')?.fds[0]?.from.socket ?? null;
    const end: TransferEnd | null = to ? { pid: to.pid, tid: null, comm: to.comm, uid: to.uid, fd: null, socket: to.socket ?? mirrored(sock) } : null;
    this.t.loseQueue(key, ts, to?.pid ?? null, end);
  }
}
