// Receivers nobody traces (I/O edge of live mode, under either backend): /proc names who holds the receiving socket
// of a message a traced process sent, and fdinfo `scm_fds` says what the kernel still queues on it; the
// correlator's UntracedPeers (src/correlate/untraced.ts) turns what is found into deliveries and losses. Also the
// socket indexes that name the untraced end of a one-sided transfer.
import { commPid } from '../model/names.js';
import { parseDecor } from '../tracer/decor.js';
import { ProcReader } from '../procfs/reader.js';
import { parseStatus, type ProcStatus } from '../procfs/status.js';
import type { FdwatchRecord, TransferRecord } from '../model/records.js';
import { mirrored } from '../correlate/pairing.js';
import type { FdOp, PeerEnd, QueuedOn } from '../model/fdop.js';
import * as native from '../native/index.js';

const proc = new ProcReader('/proc');

/**
 * /proc/PID/status texts read while one read of the trace is handled (null: gone), or null outside one: its records
 * ask about the same few processes (the receiver of each transfer, a new process's uid and tgid), and the trace is
 * behind the processes anyway, so one read per process per batch says as much as one per question.
 */
let batchStatus: Map<number, string | null> | null = null;

/** Runs `fn` with /proc/PID/status read at most once per process. */
export function statusBatch(fn: () => void): void {
  batchStatus = new Map();
  try { fn(); } finally { batchStatus = null; }
}

export function statusText(pid: number): string | null {
  const known = batchStatus?.get(pid);
  if (known !== undefined) return known;
  let text: string | null;
  try { text = proc.statusText(pid); } catch { text = null; }
  batchStatus?.set(pid, text);
  return text;
}

/** /proc/PID/status, or null once the process is gone. */
export function readStatus(pid: number): ProcStatus | null {
  const text = statusText(pid);
  return text !== null ? parseStatus(text) : null;
}

/** The effective uid: whose files the process may open. */
export function uidOf(pid: number): number | null {
  return readStatus(pid)?.uid[1] ?? null;
}

export function comm(pid: number): string {
  return readStatus(pid)?.name ?? '?';
}

interface SocketIndex<T> { at: number; map: Map<number, T> }
const nowSec = (): number => Date.now() / 1000;
/** A miss is looked up again only when the index predates the event (`since`, epoch s; null: always): the socket may be newer. */
const stale = (ix: SocketIndex<unknown>, since: number | null): boolean => ix.at < (since ?? Infinity);

const holderIndex: SocketIndex<{ pid: number; fd: number }> = { at: -Infinity, map: new Map() };

/** One walk over every fd of every process: socket inode -> the first holder. */
function indexSocketHolders(): void {
  holderIndex.at = nowSec();
  holderIndex.map.clear();
  for (const pid of proc.listPids()) {
    const t = native.readFdTable(`/proc/${pid}/fd`, null);
    let fds: Array<{ fd: number; link: string }>;
    if (native.isUnavailable(t)) {
      fds = [];
      try { for (const fd of proc.listFds(pid)) { try { fds.push({ fd, link: proc.fdLink(pid, fd) }); } catch { /* closed */ } } } catch { continue; }
    } else if (native.isFailed(t)) continue;
    else fds = t.fds;
    for (const { fd, link } of fds) {
      if (!link.startsWith('socket:[')) continue;
      const inode = Number(link.slice(8, -1));
      if (!holderIndex.map.has(inode)) holderIndex.map.set(inode, { pid, fd });
    }
  }
}

/**
 * The process holding a socket inode, and its fd: names the untraced end of a transfer. A hit in the index costs
 * one readlink to check it still holds; a walk over all processes happens only for a socket newer than the index.
 */
export function socketOwner(inode: number, since: number | null = null): { pid: number; fd: number; comm: string | null } | null {
  const want = `socket:[${inode}]`;
  const holds = (o: { pid: number; fd: number } | undefined): boolean => {
    try { return o !== undefined && proc.fdLink(o.pid, o.fd) === want; } catch { return false; }
  };
  let o = holderIndex.map.get(inode);
  if (!holds(o) && (o !== undefined || stale(holderIndex, since))) { indexSocketHolders(); o = holderIndex.map.get(inode); }
  return o && holds(o) ? { pid: o.pid, fd: o.fd, comm: comm(o.pid) } : null;
}

const unixPeers: SocketIndex<number> = { at: -Infinity, map: new Map() };

/** The peer inode of a Unix socket from one sock_diag dump, dumped again only for a socket newer than the last. */
export function unixPeer(inode: number, since: number | null): number | null {
  if (!unixPeers.map.has(inode) && stale(unixPeers, since)) {
    const diag = native.unixDiag();
    if (native.isUnavailable(diag)) return null;
    unixPeers.at = nowSec();
    unixPeers.map.clear();
    for (const [ino, d] of diag) if (d.peer !== null) unixPeers.map.set(ino, d.peer);
  }
  return unixPeers.map.get(inode) ?? null;
}

/** How often sockets with fds queued for an untraced receiver are checked (ms). */
export const PEER_POLL_MS = 100;
/** Polls a drained socket may wait for the fds its holder is installing (the kernel dequeues first). */
const SETTLE_POLLS = 3;
/** Sockets whose holders are remembered (with what they held before) while nothing is queued on them. */
const MAX_HOLDERS = 4096;
/** Sockets remembered as made in the trace (newest kept). */
const MAX_BORN = 65536;

/** A process holding a receiving socket: `fds`, its fd numbers when first seen (what it receives comes after). */
export interface Holder { pid: number; fd: number; comm: string | null; uid: number | null; traced: boolean; fds: Set<number> | null }

export const now = (): number => Math.round(Date.now()) / 1000;

function peerEnd(h: Holder): PeerEnd {
  return { pid: h.pid, comm: h.comm, uid: h.uid, fd: h.fd, socket: null };
}


/** The known holders of socket `inode`, when every one still holds it (null: they must be found again). */
function stillHolding(inode: number, known: Holder[] | null, traced: (pid: number) => boolean): Holder[] | null {
  if (!known || known.length === 0) return null;
  const want = `socket:[${inode}]`;
  for (const h of known) { try { if (proc.fdLink(h.pid, h.fd) !== want) return null; } catch { return null; } }
  for (const h of known) h.traced = traced(h.pid);
  return known;
}

/** The processes a walk found holding socket `inode` (pid, its first fd) that still do, as holders. */
function holdersFrom(inode: number, found: Array<{ pid: number; fd: number }>, known: Holder[] | null, traced: (pid: number) => boolean): Holder[] {
  const want = `socket:[${inode}]`;
  const out: Holder[] = [];
  for (const { pid, fd } of found) {
    try { if (proc.fdLink(pid, fd) !== want) continue; } catch { continue; }
    const old = known?.find((h) => h.pid === pid);
    out.push({ pid, fd, comm: comm(pid), uid: uidOf(pid), traced: traced(pid), fds: old ? old.fds : null });
  }
  return out;
}

/** How long one slice of a walk over every process's fds may hold the event loop (ms): the FIFO drains between. */
const WALK_SLICE_MS = 2;

/**
 * One walk over every fd of every process (but fdwatch) for the holders of `inodes`: socket inode -> each process
 * holding it, with its first fd. `sliced`: a few milliseconds per turn of the event loop, `done` at the end, so
 * strace's FIFO keeps draining while it runs (a whole walk is ~250 ms on a host with 12k fds); else all at once.
 */
function walkHolders(inodes: Set<number>, sliced: boolean, done: (found: Map<number, Array<{ pid: number; fd: number }>>) => void): void {
  const found = new Map<number, Array<{ pid: number; fd: number }>>();
  const pids = proc.listPids();
  let i = 0;
  let fds: number[] = [];
  let j = 0;
  const step = (): void => {
    const t = performance.now();
    for (let n = 0; ; n++) {
      if (sliced && (n & 15) === 15 && performance.now() - t >= WALK_SLICE_MS) { setImmediate(step); return; }
      if (j >= fds.length) {
        if (i >= pids.length) break;
        const pid = pids[i++]!;
        j = 0;
        try { fds = pid === process.pid ? [] : proc.listFds(pid); } catch { fds = []; }
        continue;
      }
      const pid = pids[i - 1]!;
      const fd = fds[j++]!;
      let link: string;
      try { link = proc.fdLink(pid, fd); } catch { continue; }
      if (!link.startsWith('socket:[')) continue;
      const inode = Number(link.slice(8, -1));
      if (!inodes.has(inode)) continue;
      const list = found.get(inode);
      if (!list) found.set(inode, [{ pid, fd }]);
      else if (!list.some((h) => h.pid === pid)) list.push({ pid, fd });
    }
    done(found);
  };
  if (sliced) setImmediate(step); else step();
}

/** Every process holding socket `inode`: the known holders if they still do, or a walk over /proc, now. */
function findHolders(inode: number, known: Holder[] | null, traced: (pid: number) => boolean): Holder[] {
  const still = stillHolding(inode, known, traced);
  if (still) return still;
  let out: Holder[] = [];
  walkHolders(new Set([inode]), false, (found) => { out = holdersFrom(inode, found.get(inode) ?? [], known, traced); });
  return out;
}

/** One pass over every fd link: the processes (but `skip`) holding each socket of `inodes`, with their fd numbers now. */
export function holdersOf(inodes: Set<number>, skip: Set<number>): Map<number, Holder[]> {
  const out = new Map<number, Holder[]>();
  if (inodes.size === 0) return out;
  for (const pid of proc.listPids()) {
    if (skip.has(pid) || pid === process.pid) continue;
    let fds: number[];
    try { fds = proc.listFds(pid); } catch { continue; }
    for (const fd of fds) {
      let link: string;
      try { link = proc.fdLink(pid, fd); } catch { continue; }
      if (!link.startsWith('socket:[')) continue;
      const inode = Number(link.slice(8, -1));
      if (!inodes.has(inode)) continue;
      const list = out.get(inode) ?? [];
      if (!list.some((h) => h.pid === pid)) list.push({ pid, fd, comm: comm(pid), uid: uidOf(pid), traced: false, fds: new Set(fds) });
      out.set(inode, list);
    }
  }
  return out;
}

/** Whether fd `fd` of `pid` could be what fd `s` of the sender became (kcmp; or, among new fds, the same target). */
function sameAs(s: { pid: number | null; fd: number | null; target: string }, pid: number, fd: number, isNew: boolean): boolean {
  if (s.pid !== null && s.fd !== null && native.kcmpFile(s.pid, s.fd, pid, fd) === 'same') return true;
  if (!isNew) return false;
  let link: string;
  try { link = proc.fdLink(pid, fd); } catch { return false; }
  const d = parseDecor(s.target);
  if (d.kind === 'socket') return d.inode !== null && link === `socket:[${d.inode}]`;
  const strip = (x: string): string => (x.endsWith(' (deleted)') ? x.slice(0, -10) : x);
  return strip(link) === strip(s.target);
}

/**
 * The oldest messages the kernel no longer queues on the socket, and the holder that took them with the fds they
 * became. Only untraced holders count; while a traced one holds it too, its receive may still be on its way through
 * the trace, so only a found fd settles it (or the end, when the trace is complete).
 */
function drained(q: QueuedOn, found: Holder[], final: boolean, settle: boolean): { by: Holder; fds: Array<Array<number | null>> } | 'defer' | 'queued' | null {
  const untraced = found.filter((h) => !h.traced);
  if (untraced.length === 0 && !final) return null;
  const cands = untraced.length > 0 ? untraced : found;
  let queued: number | undefined;
  for (const h of found) { try { queued ??= proc.fdinfo(h.pid, h.fd)?.scmFds; } catch { /* gone */ } }
  const total = q.messages.reduce((n, m) => n + m.fds.length, 0);
  // the oldest messages whose fds add up to what left the queue
  let left = queued !== undefined ? total - queued : 0;
  let n = 0;
  while (n < q.messages.length && left >= q.messages[n]!.fds.length && q.messages[n]!.fds.length > 0) { left -= q.messages[n]!.fds.length; n++; }
  if (queued !== undefined && n === 0) {
    // nothing taken yet: what the holders hold now is what they held before (what they receive will be new)
    for (const h of found) if (h.fds === null) { try { h.fds = new Set(proc.listFds(h.pid)); } catch { /* gone */ } }
    return queued >= total ? 'queued' : null;
  }
  // where each fd went: the lowest fd of a holder that is the same open file
  let best: { by: Holder; fds: Array<Array<number | null>>; hits: number } | null = null;
  for (const h of cands) {
    let fds: number[];
    try { fds = proc.listFds(h.pid); } catch { continue; }
    const used = new Set<number>();
    let hits = 0;
    const out: Array<Array<number | null>> = [];
    const upTo = queued !== undefined ? n : q.messages.length;
    for (let i = 0; i < upTo; i++) {
      const row: Array<number | null> = [];
      for (const s of q.messages[i]!.fds) {
        // with what it held before, only a new fd; without, the newest fd that is the same open file
        const base = h.fds;
        const fd = base !== null
          ? fds.find((f) => !used.has(f) && !base.has(f) && sameAs(s, h.pid, f, true)) ?? null
          : [...fds].reverse().find((f) => !used.has(f) && sameAs(s, h.pid, f, false)) ?? null;
        if (fd !== null) { used.add(fd); hits++; }
        row.push(fd);
      }
      // without scm_fds only what was found proves a message was taken
      if (queued === undefined && row.every((x) => x === null)) break;
      out.push(row);
    }
    if (!best || hits > best.hits) best = { by: h, fds: out, hits };
  }
  if (!best || best.fds.length === 0) return null;
  if (best.hits === 0 && untraced.length < found.length && !final) return null;
  // the kernel dequeues a message before it installs its fds: one that is not there yet may be at the next poll
  if (!settle && best.fds.some((row) => row.includes(null))) return 'defer';
  return { by: best.by, fds: best.fds };
}

/** What the receivers' watch needs of the trace. */
export interface PeerSource {
  /** messages the trace has queued on sockets known by inode */
  queued(): QueuedOn[];
  /** what the kernel showed: `peer-received` and `peer-closed` ops */
  apply(op: FdOp): void;
  /** the tracer traces it now (its calls may still be on their way through the trace), or the trace knows it */
  traced(pid: number): boolean;
  status(message: string): void;
}

export interface UntracedReceivers {
  /** Checks the queued sockets (every PEER_POLL_MS); `final`: the trace is complete, what was taken is settled. */
  poll(final: boolean): void;
  /** The holders of these sockets now (at attach: the other ends of the attached processes' sockets), but `skip`. */
  seed(inodes: Set<number>, skip: Set<number>): void;
  /**
   * A transfer still in flight with no receiver: named after the untraced process that held its receiving socket
   * when it was sent (else one holding it now). False when none is known.
   */
  nameReceiver(t: TransferRecord): boolean;
  /** Every record, before it goes out: sockets made in the trace and kept among traced processes need no walk. */
  record(r: FdwatchRecord): void;
}

export function untracedReceivers(src: PeerSource): UntracedReceivers {
  // Sends to sockets no traced process receives from: /proc names who holds the receiving socket (as soon as a
  // message has waited one poll, so at send time), and its fdinfo `scm_fds` says what is still queued on it.
  const holders = new Map<number, Holder[]>();
  const tracedByUs = (pid: number): boolean => src.traced(pid);
  /** per socket: the untraced process that held it when fds were sent to it (named even after it is gone) */
  const receiverOf = new Map<number, Holder>();
  const untracedHolders = (inode: number): Holder[] => {
    const hs = (holders.get(inode) ?? []).filter((h) => !h.traced);
    const first = receiverOf.get(inode);
    return first && !hs.includes(first) ? [first, ...hs] : hs;
  };
  let lastSeen = new Set<number>();
  const waits = new Map<number, number>();
  /** sockets the kernel was seen to hold the queued fds on (their holder alive then) */
  const observed = new Set<number>();
  /** sockets whose holders a walk must find; the walk running; what the last walks found, per socket */
  const wanted = new Set<number>();
  let walking = false;
  const walked = new Map<number, Array<{ pid: number; fd: number }>>();
  const pollPeers = (final: boolean): void => {
    const seen = new Set<number>();
    for (const q of src.queued()) {
      seen.add(q.inode);
      if (!final && !lastSeen.has(q.inode)) continue; // a traced receiver usually takes it at once
      // made in the trace and never passed on: only traced processes can hold it, and the trace shows their receive
      // (a walk over every fd of every process, ~250 ms on a busy host, while strace waits on the FIFO)
      if (!final && bornTraced.has(q.inode)) continue;
      let found: Holder[];
      if (final) found = findHolders(q.inode, holders.get(q.inode) ?? null, tracedByUs);
      else {
        // while tracing, holders no longer known come from a walk sliced between reads of the FIFO (next poll)
        const known = holders.get(q.inode) ?? null;
        const still = stillHolding(q.inode, known, tracedByUs);
        const w = still ? undefined : walked.get(q.inode);
        if (!still && w === undefined) { wanted.add(q.inode); continue; }
        walked.delete(q.inode);
        found = still ?? holdersFrom(q.inode, w!, known, tracedByUs);
      }
      if (found.length === 0) {
        const last = untracedHolders(q.inode)[0] ?? null;
        holders.delete(q.inode);
        receiverOf.delete(q.inode);
        const wasQueued = observed.delete(q.inode);
        if (last && !wasQueued) {
          // gone before the kernel was seen to hold them: its holder took them and closed it (as a worker told to
          // quit reads its channel first), which fds they became nobody can tell now
          src.apply({ op: 'peer-received', inode: q.inode, messages: q.messages.length, to: peerEnd(last), fds: q.messages.map((m) => m.fds.map(() => null)), tid: last.pid, ts: now(), line: 0, syscall: 'recvmsg', comm: null });
          continue;
        }
        // seen queued, then the socket closed: they died with it
        src.apply({ op: 'peer-closed', inode: q.inode, to: last ? peerEnd(last) : null, tid: last?.pid ?? 0, ts: now(), line: 0, syscall: 'close', comm: null });
        continue;
      }
      holders.set(q.inode, found);
      const named = found.find((h) => !h.traced);
      if (named && !receiverOf.has(q.inode)) receiverOf.set(q.inode, named);
      const tries = waits.get(q.inode) ?? 0;
      const got = drained(q, found, final, final || tries >= SETTLE_POLLS);
      if (got === 'defer') { waits.set(q.inode, tries + 1); continue; }
      if (got === 'queued') {
        const h = untracedHolders(q.inode)[0];
        const n = q.messages.reduce((k, m) => k + m.fds.length, 0);
        if (!observed.has(q.inode) && h) src.status(`${n} fd${n === 1 ? '' : 's'} sent to ${commPid(h.comm, h.pid)} (not traced) still queued on its socket`);
        observed.add(q.inode);
        continue;
      }
      waits.delete(q.inode);
      // what it holds now is the baseline for what it receives next on this socket
      if (got) { receiverOf.delete(q.inode); try { got.by.fds = new Set(proc.listFds(got.by.pid)); } catch { /* gone */ } }
      if (got) src.apply({ op: 'peer-received', inode: q.inode, messages: got.fds.length, to: peerEnd(got.by), fds: got.fds, tid: got.by.pid, ts: now(), line: 0, syscall: 'recvmsg', comm: null });
    }
    for (const k of waits.keys()) if (!seen.has(k)) waits.delete(k);
    for (const k of walked.keys()) if (!seen.has(k)) walked.delete(k);
    for (const k of wanted) if (!seen.has(k)) wanted.delete(k);
    if (!final && !walking && wanted.size > 0) {
      walking = true;
      const inodes = new Set(wanted);
      wanted.clear();
      walkHolders(inodes, true, (found) => {
        walking = false;
        for (const inode of inodes) walked.set(inode, found.get(inode) ?? []);
      });
    }
    for (const k of observed) if (!seen.has(k)) observed.delete(k);
    for (const k of receiverOf.keys()) if (!seen.has(k)) receiverOf.delete(k);
    // long runs stay bounded: past this many, holders of sockets with nothing queued are looked up again if needed
    if (holders.size > MAX_HOLDERS) for (const k of holders.keys()) if (!seen.has(k)) holders.delete(k);
    lastSeen = seen;
  };

  // Sockets a traced process made (socket, socketpair, accept) and passed on only to traced receivers: a process holds
  // one only by inheritance or a transfer, and the descendants of a traced process are traced, so no untraced
  // process can receive on it
  const bornTraced = new Set<number>();
  const noteBorn = (target: string | null): void => {
    const inode = target !== null ? parseDecor(target).inode : null;
    if (inode === null) return;
    bornTraced.add(inode);
    // bounded: the oldest are forgotten (a forgotten socket is walked for, as any other)
    if (bornTraced.size > MAX_BORN) bornTraced.delete(bornTraced.values().next().value!);
  };
  const forgetBorn = (target: string | null): void => {
    const inode = target !== null ? parseDecor(target).inode : null;
    if (inode !== null) bornTraced.delete(inode);
  };

  return {
    poll: pollPeers,
    seed(inodes, skip) { for (const [inode, hs] of holdersOf(inodes, skip)) holders.set(inode, hs); },
    nameReceiver(t) {
      if (t.to !== null || t.state !== 'in-flight' || t.from.socket === null) return false;
      const peer = parseDecor(t.from.socket).peer;
      const h = peer !== null ? untracedHolders(peer)[0] ?? null : null;
      if (h) t.to = { pid: h.pid, tid: null, comm: h.comm, uid: h.uid, fd: null, socket: mirrored(t.from.socket) };
      return h !== null;
    },
    record(r) {
      if (r.type === 'transfer') {
        // a socket a traced receive took stays among the traced; one anywhere else may be held by anyone
        if (r.kind === 'socket' && !(r.state === 'delivered' && r.to !== null && r.to.tid !== null)) forgetBorn(r.target);
      } else if (r.type === 'fd' && r.op === 'open' && r.kind === 'socket') noteBorn(r.target);
    },
  };
}
