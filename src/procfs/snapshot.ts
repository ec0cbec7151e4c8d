// Snapshots fd tables, sockets and file mappings of processes from /proc (+ kcmp and sock_diag when the
// root is the live /proc). Typed data only: rendering lives in src/cli/snapshot.ts and ./records.ts.
// The live tracer calls snapshotProcesses at attach.

import type { FdKind } from '../model/records.js';
import type { FdTableHints } from '../native/index.js';
import type { UnixDiagSocket } from '../native/sockdiag-codec.js';
import { isProcError } from './errors.js';
import { parseFdLink, type FdLink } from './fdlink.js';
import { O_CLOEXEC, type FdInfo } from './fdinfo.js';
import type { MapEntry } from './maps.js';
import { readNetInet, parseNetUnix, type InetSocketEntry, type UnixSocketEntry } from './net.js';
import { groupInBuckets, type FdRef, type OfdCompare } from './ofd.js';
import { helperPays, realNative, scanAll, startScanHelper } from './scan.js';
import { ProcReader } from './reader.js';

export interface PeerOwner {
  pid: number;
  fd: number;
  comm: string | null;
}

export interface SocketDetail {
  inode: number;
  /** "UNIX-STREAM", "UNIX-DGRAM", "UNIX-SEQPACKET", "TCP", "TCPv6", "UDP", "UDPv6", or null when unknown (netlink, ...) */
  protocol: string | null;
  /** inode of the connected peer socket (Unix sockets, from sock_diag) */
  peer: number | null;
  /** this socket's bound name ("@..." for abstract) */
  name: string | null;
  /** the peer socket's bound name */
  peerName: string | null;
  /** inet sockets: "addr:port" */
  local: string | null;
  remote: string | null;
  listening: boolean;
  /** processes holding the peer socket */
  peerOwners: PeerOwner[];
}

export interface FdSnapshot {
  fd: number;
  /** the /proc/PID/fd/N link text, raw */
  linkText: string;
  link: FdLink;
  /** null when fdinfo could not be read (permission) */
  info: FdInfo | null;
  cloexec: boolean | null;
  kind: FdKind;
  /** what it refers to, in strace -yy words: /path, UNIX-STREAM:[ino->peer], pipe:[ino], TCP:[a->b] */
  target: string;
  socket: SocketDetail | null;
  /** equal for fds that are one open file description (kcmp-proven when shared); null when unverified */
  ofd: string | null;
  /** Unix sockets: fds sent to this socket and not yet received (fdinfo scm_fds) */
  inFlight: number | null;
}

export interface ProcessSnapshot {
  /** tgid */
  pid: number;
  ppid: number | null;
  comm: string | null;
  /** real uid */
  uid: number | null;
  fds: FdSnapshot[];
  /** file-backed mappings only */
  maps: MapEntry[];
  /** what could not be read: "permission denied: fd", "exited during the scan" */
  notes: string[];
  /** the thread ids the caller asked for that resolved to this thread group */
  requestedTids: number[];
}

export interface OfdGroupDetail {
  id: string;
  target: string;
  kind: FdKind;
  members: Array<{ pid: number; fd: number; comm: string | null }>;
}

export interface Snapshot {
  /** seconds since the epoch when the scan started */
  ts: number;
  root: string;
  /** a whole-machine scan (every readable process) rather than chosen pids */
  all: boolean;
  processes: ProcessSnapshot[];
  /** requested pids that do not exist */
  notFound: number[];
  /** whole-machine scans: processes skipped because this user may not read them, or gone mid-scan */
  skipped: { permissionDenied: number; exited: number };
  /** open file descriptions held by more than one listed fd */
  ofdGroups: OfdGroupDetail[];
  /** sum of scm_fds over all listed sockets */
  inFlightTotal: number;
  /** 'ok' or why the facility is unavailable */
  native: { kcmp: string; sockDiag: string };
  stats: { processes: number; fds: number; kcmpCalls: number; unverifiedFds: number; ms: number };
}

/** The native calls a snapshot uses; injectable so fixture trees can be grouped with a fake kcmp. */
export interface SnapshotNative {
  kcmpFileOrder(pid1: number, fd1: number, pid2: number, fd2: number): -1 | 0 | 1 | { failed: string } | { unavailable: string };
  unixDiag(): Map<number, UnixDiagSocket> | { unavailable: string };
  /** 'ok' when kcmp works; asked once up front so a scan with no shared candidates still reports it */
  kcmpStatus?(): 'ok' | { unavailable: string };
  /** optional fast path for reading one fd table (directory fds instead of a path walk per file); fdinfo bytes go to
   * `parse`; `hints` spare the readlinkat and statx that the fdinfo answers (native/index.ts FdTableHints) */
  readFdTable?(fdDir: string, fdinfoDir: string, parse: (buf: Buffer, n: number) => FdInfo | null, hints?: FdTableHints<FdInfo | null>): NativeFdTable | { unavailable: string } | { failed: string };
}

/** An fd table as the native reader brings it: fdinfo already parsed. */
export interface NativeFdTable {
  fds: Array<{ fd: number; link: string; fdinfo: FdInfo | null; mode: number | null }>;
  linkDenied: boolean;
  fdinfoDenied: boolean;
}

export interface SnapshotOptions {
  /** defaults to the real kcmp/sock_diag when root is /proc; null (no native calls) for any other root */
  native?: SnapshotNative | null;
  /** read /proc/PID/maps (default true) */
  maps?: boolean;
  /** 1 (default): read every process here; 2: a helper process reads some (a big scan of the live /proc only) */
  threads?: 1 | 2;
  /** look for the holders of the listed sockets' peers outside the listing, a walk over every fd of the host
   * (default true); false: a socket's peerOwners are only the listed processes that hold its peer */
  peerOwners?: boolean;
}

const SOCK_TYPES: Record<number, string> = { 1: 'STREAM', 2: 'DGRAM', 5: 'SEQPACKET' };
/** Buckets larger than this are split by file position too (it can move while we read, so only when it pays). */
const POS_SPLIT = 8;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Whether the fd is an anon inode with per-type state (every anon inode shares one inode number). */
function hasAnonState(info: FdInfo): boolean {
  return !!(info.eventfd || info.pidfd || info.signalfd || info.timerfd || info.epoll || info.inotify);
}

/** The candidate key: fds with different keys are certainly different open file descriptions. */
function ofdKey(info: FdInfo): string {
  // the inode as a number where it is exact: a bigint's decimal text costs a microsecond or more
  const ino = info.ino !== null && info.ino <= MAX_SAFE ? Number(info.ino) : info.ino;
  const key = info.mntId + ':' + ino + ':' + (info.flags & ~O_CLOEXEC);
  if (!hasAnonState(info)) return key;
  // anon inodes share one inode: their per-type state tells them apart without kcmp
  let extra = '';
  if (info.eventfd?.id != null) extra += ':e' + info.eventfd.id;
  if (info.pidfd) extra += ':d' + info.pidfd.pid;
  if (info.signalfd) extra += ':s' + info.signalfd.sigmask;
  if (info.timerfd) extra += ':t' + info.timerfd.clockid + ',' + info.timerfd.itInterval.join('.');
  if (info.epoll) extra += ':p' + info.epoll.map((t) => t.tfd + '/' + t.ino).join(',');
  if (info.inotify) extra += ':i' + info.inotify.map((w) => w.wd + '/' + w.ino).join(',');
  return key + extra;
}

/** Resolves requested ids to thread groups; thread ids map to their tgid. */
function resolveTargets(reader: ProcReader, pids: number[], snap: Snapshot): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const pid of pids) {
    let tgid = pid;
    try {
      tgid = reader.status(pid).tgid;
    } catch (err) {
      if (!isProcError(err)) throw err;
      if (err.kind === 'NotFound') {
        if (!snap.notFound.includes(pid)) snap.notFound.push(pid);
        continue;
      }
      // status unreadable: keep the id as given; the scan below notes what it can't read
    }
    const tids = out.get(tgid) ?? [];
    if (tgid !== pid) tids.push(pid);
    out.set(tgid, tids);
  }
  return out;
}

/**
 * Snapshots `pids` (thread ids resolve to their group) or every readable process, under the proc root `root`.
 * Synchronous: a whole-machine scan is many tiny reads, and sync reads of /proc are the fast path.
 */
export function snapshotProcesses(root: string, pids: number[] | 'all', options: SnapshotOptions = {}): Snapshot {
  // Date.now, not performance.now: the global `performance` loads node:perf_hooks on first use (~1-10 ms of start-up)
  const t0 = Date.now();
  const reader = new ProcReader(root);
  const nat = options.native !== undefined ? options.native : root === '/proc' ? realNative() : null;
  const wantMaps = options.maps ?? true;
  const snap: Snapshot = {
    ts: Date.now() / 1000,
    root,
    all: pids === 'all',
    processes: [],
    notFound: [],
    skipped: { permissionDenied: 0, exited: 0 },
    ofdGroups: [],
    inFlightTotal: 0,
    native: { kcmp: nat ? 'ok' : 'not used (proc root is not /proc)', sockDiag: nat ? 'ok' : 'not used (proc root is not /proc)' },
    stats: { processes: 0, fds: 0, kcmpCalls: 0, unverifiedFds: 0, ms: 0 },
  };
  const all = pids === 'all';
  const targets: Map<number, number[]> = all ? new Map(reader.listPids().map((p) => [p, []])) : resolveTargets(reader, pids, snap);
  const list = [...targets];
  const threads = options.threads ?? threadsFromEnv();
  // a helper starts before koffi loads here (the kcmp probe): its start overlaps ours
  const helper = helperPays(root, list, { threads, nat }) ? startScanHelper({ all, maps: wantMaps }) : null;
  const kcmpStatus = nat?.kcmpStatus?.();
  if (kcmpStatus && kcmpStatus !== 'ok') snap.native.kcmp = kcmpStatus.unavailable;

  // 1. fd tables and maps: the per-process part, in two processes for a big scan when asked
  const scanned = scanAll(root, list, { all, maps: wantMaps, nat, threads, helper });
  for (let i = 0; i < list.length; i++) {
    const r = scanned[i]!;
    if (r === 'thread') continue;
    if (r === 'exited') snap.skipped.exited++;
    else if (r === 'denied') snap.skipped.permissionDenied++;
    else {
      snap.processes.push(r);
      snap.stats.fds += r.fds.length;
    }
  }
  snap.stats.processes = snap.processes.length;

  // 2. sockets: protocol, names, peers, and who holds the peer
  describeSockets(reader, snap, nat, all || options.peerOwners === false);

  // 3. open file descriptions
  groupOfds(snap, nat);

  for (const p of snap.processes) for (const f of p.fds) snap.inFlightTotal += f.inFlight ?? 0;
  snap.stats.ms = Date.now() - t0;
  return snap;
}

function describeSockets(reader: ProcReader, snap: Snapshot, nat: SnapshotNative | null, listedOnly: boolean): void {
  const socketFds: Array<{ proc: ProcessSnapshot; f: FdSnapshot; inode: number }> = [];
  for (const proc of snap.processes) for (const f of proc.fds) if (f.link.type === 'socket') socketFds.push({ proc, f, inode: f.link.inode });
  if (socketFds.length === 0) return;

  // Unix sockets: sock_diag has peers; /proc/net/unix only names.
  let diag: Map<number, UnixDiagSocket> | null = null;
  let procUnix: Map<number, UnixSocketEntry> | null = null;
  if (nat) {
    const d = nat.unixDiag();
    if ('unavailable' in d && typeof d.unavailable === 'string') snap.native.sockDiag = d.unavailable;
    else diag = d as Map<number, UnixDiagSocket>;
  }
  if (!diag) {
    try {
      procUnix = parseNetUnix(reader.netText('unix'));
    } catch {
      procUnix = new Map();
    }
  }
  let inet: Map<number, InetSocketEntry> | null = null;
  const inetTable = (): Map<number, InetSocketEntry> => {
    inet ??= readNetInet((table) => reader.netText(table));
    return inet;
  };
  // a connected inet socket's other end on this host (loopback): the entry whose addresses are its own swapped,
  // as `ss -tp` pairs them
  let inetByAddr: Map<string, number> | null = null;
  const inetPeer = (e: InetSocketEntry): number | null => {
    if (!inetByAddr) {
      inetByAddr = new Map();
      for (const [ino, x] of inetTable()) if (x.state !== 'LISTEN' && x.state !== 'UNCONN') inetByAddr.set(`${x.protocol} ${x.local} ${x.remote}`, ino);
    }
    const peer = inetByAddr.get(`${e.protocol} ${e.remote} ${e.local}`);
    return peer === undefined || peer === e.inode ? null : peer;
  };

  // inode -> holders, among the listed processes
  const holders = new Map<number, PeerOwner[]>();
  for (const { proc, f, inode } of socketFds) {
    const list = holders.get(inode) ?? [];
    list.push({ pid: proc.pid, fd: f.fd, comm: proc.comm });
    holders.set(inode, list);
  }

  for (const { f, inode } of socketFds) {
    const d = diag?.get(inode);
    const u = procUnix?.get(inode);
    const s: SocketDetail = { inode, protocol: null, peer: null, name: null, peerName: null, local: null, remote: null, listening: false, peerOwners: [] };
    if (d) {
      s.protocol = `UNIX-${SOCK_TYPES[d.type] ?? 'UNKNOWN'}`;
      s.peer = d.peer;
      s.name = d.name;
      s.peerName = d.peer !== null ? (diag!.get(d.peer)?.name ?? null) : null;
      s.listening = d.state === 10; // TCP_LISTEN
    } else if (u) {
      s.protocol = `UNIX-${u.type === 'UNKNOWN' ? 'UNKNOWN' : u.type}`;
      s.name = u.path;
      s.listening = u.listening;
    } else {
      const e = inetTable().get(inode);
      if (e) {
        s.protocol = e.protocol;
        s.local = e.local;
        s.remote = e.state === 'LISTEN' || e.state === 'UNCONN' ? null : e.remote;
        s.listening = e.state === 'LISTEN';
        if (s.remote !== null) s.peer = inetPeer(e);
      }
    }
    f.socket = s;
    f.target = socketTarget(s);
  }

  // Peers held by processes outside the listing (a pid-limited snapshot): one light pass over every fd link.
  const wanted = new Set<number>();
  for (const { f } of socketFds) if (f.socket?.peer != null && !holders.has(f.socket.peer)) wanted.add(f.socket.peer);
  if (wanted.size > 0 && !listedOnly) findHolders(reader, snap, wanted, holders);

  for (const { f } of socketFds) {
    const peer = f.socket?.peer;
    if (peer != null) f.socket!.peerOwners = (holders.get(peer) ?? []).slice();
  }
}

/** Finds which processes hold the socket inodes in `wanted`, reading only fd links. */
function findHolders(reader: ProcReader, snap: Snapshot, wanted: Set<number>, holders: Map<number, PeerOwner[]>): void {
  const listed = new Set(snap.processes.map((p) => p.pid));
  let pids: number[];
  try {
    pids = reader.listPids();
  } catch {
    return;
  }
  for (const pid of pids) {
    if (listed.has(pid)) continue;
    let fds: number[];
    try {
      fds = reader.listFds(pid);
    } catch {
      continue;
    }
    let comm: string | null | undefined;
    for (const fd of fds) {
      let t: FdLink;
      try {
        t = parseFdLink(reader.fdLink(pid, fd));
      } catch {
        continue;
      }
      if (t.type !== 'socket' || !wanted.has(t.inode)) continue;
      if (comm === undefined) {
        try {
          comm = reader.status(pid).name;
        } catch {
          comm = null;
        }
      }
      const list = holders.get(t.inode) ?? [];
      list.push({ pid, fd, comm });
      holders.set(t.inode, list);
    }
  }
}

/** strace -yy style: UNIX-STREAM:[6149->5313], UNIX-STREAM:[5352->6172,"/var/run/nscd/socket"], TCP:[a->b] */
export function socketTarget(s: SocketDetail): string {
  if (s.protocol === null) return `socket:[${s.inode}]`;
  if (s.protocol.startsWith('UNIX')) {
    let inner = String(s.inode);
    if (s.peer !== null) inner += `->${s.peer}`;
    if (s.name !== null) inner += `,${JSON.stringify(s.name)}`;
    return `${s.protocol}:[${inner}]`;
  }
  return `${s.protocol}:[${s.local ?? '?'}${s.remote ? `->${s.remote}` : ''}]`;
}

function groupOfds(snap: Snapshot, nat: SnapshotNative | null): void {
  // An inode no other listed fd shows is an open file description of its own: no key, no bucket, no kcmp.
  // Most fds are such (own files, socket and pipe ends are told apart by flags only when an inode repeats).
  // Keyed by the inode as a number (a Map hashes a bigint slowly): two inodes past 2^53 that round alike only
  // make both candidates, whose exact keys then differ.
  const inodes = new Map<number, number>();
  for (const proc of snap.processes) {
    for (const f of proc.fds) {
      const ino = f.info?.ino;
      if (ino != null) {
        const k = Number(ino);
        inodes.set(k, (inodes.get(k) ?? 0) + 1);
      }
    }
  }
  const owners: ProcessSnapshot[] = [];
  const fds: FdSnapshot[] = [];
  const candidates: Array<FdRef & { proven?: boolean }> = [];
  // Buckets by numbers: per inode, the buckets of equal (mount, flags without O_CLOEXEC, exact inode), searched
  // one by one (an inode has few flag sets); anon inodes, which all share one inode, by their ofdKey text.
  const byIno = new Map<number, number[][]>();
  const anon = new Map<string, number[]>();
  for (const proc of snap.processes) {
    for (const f of proc.fds) {
      const info = f.info;
      if (info === null) continue; // no fdinfo: nothing to key by, its ofd stays unproven (null)
      const ino = info.ino;
      if (ino !== null && inodes.get(Number(ino)) === 1) {
        f.ofd = proc.pid + ':' + f.fd;
        continue;
      }
      const i = candidates.length;
      owners.push(proc);
      fds.push(f);
      candidates.push(f.link.type === 'socket' ? { pid: proc.pid, fd: f.fd, proven: true } : { pid: proc.pid, fd: f.fd });
      if (hasAnonState(info) || ino === null) {
        const key = ofdKey(info);
        const b = anon.get(key);
        if (b) b.push(i);
        else anon.set(key, [i]);
        continue;
      }
      const k = Number(ino);
      let list = byIno.get(k);
      if (list === undefined) byIno.set(k, (list = []));
      const flags = info.flags & ~O_CLOEXEC;
      let bucket: number[] | undefined;
      for (const b of list) {
        const o = fds[b[0]!]!.info!;
        if (o.mntId === info.mntId && (o.flags & ~O_CLOEXEC) === flags && o.ino === ino) {
          bucket = b;
          break;
        }
      }
      if (bucket) bucket.push(i);
      else list.push([i]);
    }
  }
  // Big buckets (e.g. /dev/null opened by every daemon) are split by position as well.
  const buckets: number[][] = [];
  const add = (b: number[]): void => {
    if (b.length <= POS_SPLIT) {
      buckets.push(b);
      return;
    }
    const byPos = new Map<number | bigint, number[]>();
    for (const i of b) {
      const pos = fds[i]!.info!.pos;
      const p = pos <= MAX_SAFE ? Number(pos) : pos;
      const same = byPos.get(p);
      if (same) same.push(i);
      else byPos.set(p, [i]);
    }
    for (const same of byPos.values()) buckets.push(same);
  };
  for (const list of byIno.values()) for (const b of list) add(b);
  for (const b of anon.values()) add(b);
  const compare: OfdCompare = nat && snap.native.kcmp === 'ok' ? (a, b) => nat.kcmpFileOrder(a.pid, a.fd, b.pid, b.fd) : () => ({ unavailable: snap.native.kcmp });
  const r = groupInBuckets(candidates, buckets, compare);
  if (nat && r.unavailable !== null) snap.native.kcmp = r.unavailable;
  snap.stats.kcmpCalls = r.compares;
  snap.stats.unverifiedFds = r.unverified;
  for (let i = 0; i < fds.length; i++) fds[i]!.ofd = r.ofd[i]!;
  for (const g of r.groups) {
    const first = fds[g.members[0]!]!;
    snap.ofdGroups.push({
      id: g.id,
      target: first.target,
      kind: first.kind,
      members: g.members.map((i) => ({ pid: owners[i]!.pid, fd: fds[i]!.fd, comm: owners[i]!.comm })),
    });
  }
}

/** FDWATCH_SNAPSHOT_THREADS=2: a big scan in two processes (to measure it), =1 in one (the default). */
function threadsFromEnv(): 1 | 2 | undefined {
  const v = process.env['FDWATCH_SNAPSHOT_THREADS'];
  return v === '1' ? 1 : v === '2' ? 2 : undefined;
}
