// The per-process part of a snapshot (status, fd table with fdinfo and kinds, maps), and the scan of many
// processes in two processes (scanAll). Synchronous, as snapshotProcesses is.

import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import type { FdKind } from '../model/records.js';
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFMT, S_IFSOCK } from '../model/kernel.js';
import * as native from '../native/index.js';
import type { FdTableHints } from '../native/index.js';
import { isProcError, NotFound, PermissionDenied, type ProcError } from './errors.js';
import { formatFdLink, linkKind, parseFdLink, type FdLink } from './fdlink.js';
import { O_CLOEXEC, parseFdinfo, parseFdinfoBytes, type FdInfo } from './fdinfo.js';
import { MapIntern } from './maps.js';
import { ProcReader, type RawFdTable } from './reader.js';
import type { FdSnapshot, NativeFdTable, ProcessSnapshot, SnapshotNative } from './snapshot.js';

/** open(2) flag, as fdinfo `flags` shows it */
const O_DIRECTORY = 0o200000;

interface Work {
  proc: ProcessSnapshot;
  noted: Set<string>;
}

export function note(w: Work, text: string): void {
  if (!w.noted.has(text)) {
    w.noted.add(text);
    w.proc.notes.push(text);
  }
}

function what(err: ProcError): string {
  return err.kind === 'PermissionDenied' ? 'permission denied' : err.kind === 'NotFound' ? 'gone' : err.code;
}

function modeKind(mode: number): FdKind {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return 'dir';
    case S_IFCHR:
    case S_IFBLK:
      return 'device';
    case S_IFIFO:
      return 'pipe';
    case S_IFSOCK:
      return 'socket';
    default:
      return 'file';
  }
}

/** file / dir / device for a path: from the mode the reader brought, else O_DIRECTORY, else stat (cached per inode; on /proc only). */
function pathKind(reader: ProcReader, pid: number, fd: number, mode: number | null | undefined, info: FdInfo | null, cache: Map<string, FdKind>): FdKind {
  if (mode != null) return modeKind(mode);
  if (info && (info.flags & O_DIRECTORY) !== 0) return 'dir';
  const key = info && info.ino !== null ? info.mntId + ':' + info.ino : null;
  const known = key !== null ? cache.get(key) : undefined;
  if (known) return known;
  // a recorded tree's links name the recording machine's files: stat would read this host's (kcmp is not used either)
  if (reader.root !== '/proc') return 'file';
  const st = fs.statSync(reader.path(pid, 'fd', fd), { throwIfNoEntry: false });
  if (!st) return 'file';
  const kind = modeKind(st.mode);
  if (key !== null) cache.set(key, kind);
  return kind;
}

export function realNative(): SnapshotNative {
  return { kcmpFileOrder: native.kcmpFileOrder, unixDiag: native.unixDiag, readFdTable: native.readFdTable, kcmpStatus: native.nativeStatus };
}

/**
 * What one scan learns from the fds it reads, so the native reader can skip syscalls (native FdTableHints):
 * the mount ids of sockfs and pipefs (every fd there is a socket or pipe, its link "socket:[ino]" or
 * "pipe:[ino]", as a real link of the same mount showed), and the st_mode of each file by mount and inode.
 */
export class LinkHints implements FdTableHints<FdInfo | null> {
  private sockfs: number | null = null;
  private pipefs: number | null = null;
  /** mount id -> inode -> st_mode (numbers: a bigint's decimal text costs microseconds, and an inode is < 2^53) */
  private readonly modes = new Map<number, Map<number, number>>();

  link(info: FdInfo | null): string | null {
    if (info === null || info.ino === null) return null;
    if (info.mntId === this.sockfs) return 'socket:[' + Number(info.ino) + ']';
    if (info.mntId === this.pipefs) return 'pipe:[' + Number(info.ino) + ']';
    return null;
  }

  mode(info: FdInfo | null): number | null {
    if (info === null || info.mntId === null || info.ino === null) return null;
    return this.modes.get(info.mntId)?.get(Number(info.ino)) ?? null;
  }

  learn(info: FdInfo | null, link: string, mode: number | null): void {
    if (info === null || info.mntId === null || info.ino === null) return;
    if (mode !== null) {
      let m = this.modes.get(info.mntId);
      if (m === undefined) this.modes.set(info.mntId, (m = new Map()));
      m.set(Number(info.ino), mode);
      return;
    }
    // only a link that is exactly what link() would make teaches the mount: the fdinfo and the link are of one file
    if (this.sockfs === null && link.startsWith('socket:[') && link === 'socket:[' + Number(info.ino) + ']') this.sockfs = info.mntId;
    else if (this.pipefs === null && link.startsWith('pipe:[') && link === 'pipe:[' + Number(info.ino) + ']') this.pipefs = info.mntId;
  }
}

/** The fd table through the native directory-fd reader when there is one, else through Node's fs (fdinfo parsed). */
function readTable(reader: ProcReader, nat: SnapshotNative | null, pid: number, hints: LinkHints): NativeFdTable {
  if (nat?.readFdTable) {
    const r = nat.readFdTable(reader.path(pid, 'fd'), reader.path(pid, 'fdinfo'), parseFdinfoBytes, hints);
    if (!('unavailable' in r)) {
      if (!('failed' in r)) return r;
      const path = reader.path(pid, 'fd');
      if (r.failed === 'EACCES' || r.failed === 'EPERM') throw new PermissionDenied(path, r.failed);
      if (r.failed === 'ENOENT' || r.failed === 'ESRCH' || r.failed === 'ENOTDIR') throw new NotFound(path, r.failed);
      // anything else: let Node's fs say it
    }
  }
  const t: RawFdTable = reader.fdTable(pid);
  return {
    fds: t.fds.map((f) => ({ fd: f.fd, link: f.link, fdinfo: f.fdinfo !== null ? parseFdinfo(f.fdinfo) : null, mode: f.mode ?? null })),
    linkDenied: t.linkDenied,
    fdinfoDenied: t.fdinfoDenied,
  };
}

/** What scanning one process gave: its snapshot, or why a whole-machine scan leaves it out. */
export type ScanResult = ProcessSnapshot | 'exited' | 'denied' | 'thread';

export interface ScanOptions {
  all: boolean;
  maps: boolean;
}

/** What one scan keeps from process to process: stat answers per inode, link hints, and the values mappings share. */
export class ScanCache {
  readonly kinds = new Map<string, FdKind>();
  readonly hints = new LinkHints();
  readonly maps = new MapIntern();
}

/** Reads one process: status, fd table (+ fdinfo, kinds) and maps. */
export function scanProcess(reader: ProcReader, nat: SnapshotNative | null, pid: number, tids: number[], opts: ScanOptions, cache: ScanCache): ScanResult {
  const all = opts.all;
  const proc: ProcessSnapshot = { pid, ppid: null, comm: null, uid: null, fds: [], maps: [], notes: [], requestedTids: tids };
  const w: Work = { proc, noted: new Set() };
  try {
    const st = reader.status(pid);
    // a thread id: the live /proc never lists one, but a fake tree or a racing exec can show it
    if (all && st.tgid !== pid) return 'thread';
    proc.ppid = st.ppid;
    proc.comm = st.name;
    proc.uid = st.uid[0];
  } catch (err) {
    if (!isProcError(err)) throw err;
    if (err.kind === 'NotFound') {
      if (all) return 'exited';
      note(w, 'exited during the scan');
    } else {
      note(w, `${what(err)}: status`);
    }
  }
  let table: NativeFdTable;
  try {
    table = readTable(reader, nat, pid, cache.hints);
  } catch (err) {
    if (!isProcError(err)) throw err;
    // "every process this user may read": the others are counted, not listed
    if (all) return err.kind === 'NotFound' ? 'exited' : 'denied';
    note(w, err.kind === 'NotFound' ? 'exited during the scan' : `${what(err)}: fd`);
    table = { fds: [], linkDenied: false, fdinfoDenied: false };
  }
  if (table.linkDenied) note(w, 'permission denied: fd');
  if (table.fdinfoDenied) note(w, 'permission denied: fdinfo');
  for (const raw of table.fds) {
    const info = raw.fdinfo;
    const link = parseFdLink(raw.link);
    let kind = linkKind(link);
    if (link.type === 'path' || link.type === 'deleted') kind = pathKind(reader, pid, raw.fd, raw.mode, info, cache.kinds);
    proc.fds.push(fdSnapshot(raw.fd, raw.link, link, info, kind));
  }
  if (opts.maps) {
    try {
      proc.maps = reader.fileMaps(pid, cache.maps);
    } catch (err) {
      if (!isProcError(err)) throw err;
      if (err.kind !== 'NotFound') note(w, `${what(err)}: maps`);
      else if (!all) note(w, 'exited during the scan');
    }
  }
  return proc;
}


export interface ScanAllOptions extends ScanOptions {
  nat: SnapshotNative | null;
  /** 1 (default): this process only; 2: with a helper process, for a big scan of the live /proc with the real native calls */
  threads?: 1 | 2 | undefined;
  /** a helper already started (startScanHelper), or null for none; undefined: scanAll decides by `threads` */
  helper?: ScanHelper | null;
}

/** Below this many processes the helper's start (~60 ms of the other core) is not worth it. */
const HELPER_MIN_PROCESSES = 48;
/** A helper that has not answered by then is given up on and its processes are read here. */
const HELPER_WAIT_MS = 60_000;
/** Queue entries: [index, pid] as two int32; a pipe holds 64 KiB, so the queue never blocks its writer. */
const QUEUE_ENTRY = 8;
const QUEUE_MAX = 8192;

/**
 * The helper's results, packed: a structured clone of ~6k fd objects costs more than reading them (~100 ms
 * both ends); one Float64Array, one string of links and one of maps cost a copy.
 */
export interface ScanWorkerReply {
  /** per process read, in the order read: [index into list, header] */
  heads: Array<[number, PackedHead]>;
  /** FD_WIDTH numbers per fd, processes in the order of heads */
  nums: Float64Array;
  /** every fd's link text, each followed by NUL (a link never holds one) */
  links: string;
  /** every file-backed mapping, 8 fields each followed by NUL (paths hold no NUL) */
  maps: string;
  /** fdinfo that does not fit in numbers (per-type lines, huge values): [fd number index, parsed] */
  infos: Array<[number, FdInfo]>;
  error: string | null;
}

/** A process's part of the reply: why it is left out, or the fields of its ProcessSnapshot that are not fds or maps. */
export type PackedHead = 'exited' | 'denied' | 'thread' | { pid: number; ppid: number | null; comm: string | null; uid: number | null; notes: string[]; requestedTids: number[]; fds: number; maps: number };

const FD_WIDTH = 8; // fd, kind, info state, flags, mnt_id, pos, ino, scm_fds
// a mapping packs 8 fields: start, end, perms, offset, dev, inode, path, deleted
const KINDS: FdKind[] = ['file', 'dir', 'socket', 'pipe', 'anon', 'memfd', 'device', 'unknown'];
const INFO_NONE = 0;
const INFO_PACKED = 1;
const INFO_APART = 2;
const flagsTexts = new Map<number, string>();
const flagsText = (f: number): string => {
  let t = flagsTexts.get(f);
  if (t === undefined) flagsTexts.set(f, (t = '0' + f.toString(8)));
  return t;
};

/** Packs the helper's results as processes come. */
export class ScanPacker {
  private nums = new Float64Array(FD_WIDTH * 4096);
  private n = 0;
  private links: string[] = [];
  private maps: string[] = [];
  private heads: Array<[number, PackedHead]> = [];
  private infos: Array<[number, FdInfo]> = [];

  /** processes added since the last reset */
  size(): number {
    return this.heads.length;
  }

  /** Empty again, for the next frame (the reply made before keeps its own copies). */
  reset(): void {
    this.n = 0;
    this.links = [];
    this.maps = [];
    this.heads = [];
    this.infos = [];
  }

  add(index: number, r: ScanResult): void {
    if (typeof r === 'string') {
      this.heads.push([index, r]);
      return;
    }
    this.heads.push([index, { pid: r.pid, ppid: r.ppid, comm: r.comm, uid: r.uid, notes: r.notes, requestedTids: r.requestedTids, fds: r.fds.length, maps: r.maps.length }]);
    for (const f of r.fds) {
      if (this.nums.length < (this.n + 1) * FD_WIDTH) {
        const bigger = new Float64Array(this.nums.length * 2);
        bigger.set(this.nums);
        this.nums = bigger;
      }
      const o = this.n * FD_WIDTH;
      const a = this.nums;
      a[o] = f.fd;
      a[o + 1] = KINDS.indexOf(f.kind);
      const i = f.info;
      if (i === null) a[o + 2] = INFO_NONE;
      else if (
        i.pos <= MAX_EXACT && (i.ino === null || i.ino <= MAX_EXACT) && i.flagsText === flagsText(i.flags) &&
        i.eventfd === undefined && i.epoll === undefined && i.inotify === undefined && i.signalfd === undefined &&
        i.timerfd === undefined && i.pidfd === undefined && i.locks === undefined && i.other === undefined
      ) {
        a[o + 2] = INFO_PACKED;
        a[o + 3] = i.flags;
        a[o + 4] = i.mntId ?? NaN;
        a[o + 5] = Number(i.pos);
        a[o + 6] = i.ino === null ? NaN : Number(i.ino);
        a[o + 7] = i.scmFds ?? NaN;
      } else {
        a[o + 2] = INFO_APART;
        this.infos.push([this.n, i]);
      }
      this.links.push(f.linkText);
      this.n++;
    }
    for (const m of r.maps) {
      const p = m.path as { type: 'path'; path: string; deleted: boolean };
      this.maps.push(m.start.toString(16), m.end.toString(16), m.perms, m.offset.toString(16), m.dev, m.inode.toString(), p.path, p.deleted ? '1' : '');
    }
  }

  /** The reply, and what to transfer with it. */
  reply(error: string | null): { reply: ScanWorkerReply; transfer: ArrayBuffer[] } {
    const nums = this.nums.slice(0, this.n * FD_WIDTH);
    const join = (xs: string[]): string => (xs.length > 0 ? xs.join('\0') + '\0' : '');
    return { reply: { heads: this.heads, nums, links: join(this.links), maps: join(this.maps), infos: this.infos, error }, transfer: [nums.buffer as ArrayBuffer] };
  }
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** Unpacks a helper's reply into out[index], as scanProcess would have returned it. */
export function unpackReply(msg: ScanWorkerReply, out: Array<ScanResult | undefined>): void {
  const a = msg.nums;
  const apart = new Map(msg.infos);
  let n = 0;
  let li = 0;
  let mi = 0;
  const links = msg.links;
  const maps = msg.maps;
  const field = (): string => {
    const end = maps.indexOf('\0', mi);
    const v = maps.slice(mi, end);
    mi = end + 1;
    return v;
  };
  for (const [index, h] of msg.heads) {
    if (typeof h === 'string') {
      out[index] = h;
      continue;
    }
    const proc: ProcessSnapshot = { pid: h.pid, ppid: h.ppid, comm: h.comm, uid: h.uid, fds: [], maps: [], notes: h.notes, requestedTids: h.requestedTids };
    for (let k = 0; k < h.fds; k++, n++) {
      const o = n * FD_WIDTH;
      const end = links.indexOf('\0', li);
      const linkText = links.slice(li, end);
      li = end + 1;
      let info: FdInfo | null = null;
      if (a[o + 2] === INFO_PACKED) {
        const flags = a[o + 3]!;
        const mnt = a[o + 4]!;
        const ino = a[o + 6]!;
        const scm = a[o + 7]!;
        const pos = a[o + 5]!;
        // 0n, not BigInt(0): a literal is one shared value, as parseFdinfoBytes gives
        info = { pos: pos === 0 ? 0n : BigInt(pos), flags, flagsText: flagsText(flags), mntId: Number.isNaN(mnt) ? null : mnt, ino: Number.isNaN(ino) ? null : BigInt(ino) };
        if (!Number.isNaN(scm)) info.scmFds = scm;
      } else if (a[o + 2] === INFO_APART) {
        info = apart.get(n) ?? null;
      }
      proc.fds.push(fdSnapshot(a[o]!, linkText, parseFdLink(linkText), info, KINDS[a[o + 1]!]!));
    }
    for (let k = 0; k < h.maps; k++) {
      const start = BigInt('0x' + field());
      const end = BigInt('0x' + field());
      const perms = field();
      const offset = BigInt('0x' + field());
      const dev = field();
      const inode = BigInt(field());
      const path = field();
      const deleted = field() === '1';
      proc.maps.push({ start, end, perms, shared: perms.charCodeAt(3) === 0x73 /* s */, offset, dev, inode, path: { type: 'path', path, deleted } });
    }
    out[index] = proc;
  }
}

function fdSnapshot(fd: number, linkText: string, link: FdLink, info: FdInfo | null, kind: FdKind): FdSnapshot {
  return {
    fd,
    linkText,
    link,
    info,
    cloexec: info ? (info.flags & O_CLOEXEC) !== 0 : null,
    kind,
    target: formatFdLink(link),
    socket: null,
    ofd: null,
    inFlight: info?.scmFds ?? null,
  };
}

/**
 * Scans every [pid, tids] of `list`; the results in the same order.
 * A big scan of the live /proc can run in two processes: this one and a helper (./scan-child.ts, started by
 * startScanHelper before this process loads koffi, so that its start overlaps ours) take the next process
 * from a queue in a pipe (reads of one 8-byte entry are atomic), so the split balances itself; the helper
 * sends its results packed, a few processes per frame, and this process unpacks the frames that have come
 * between its own processes, so that little is left to wait for at the end. Two processes, not two threads:
 * two threads of one process reading /proc took ~2x the CPU of one doing it all (process.cpuUsage, both
 * with and without unshare(CLONE_FILES) and their own creds), two processes ~1x.
 */
export function scanAll(root: string, list: Array<[number, number[]]>, opts: ScanAllOptions): ScanResult[] {
  const out = new Array<ScanResult | undefined>(list.length);
  const reader = new ProcReader(root);
  const cache = new ScanCache();
  const so: ScanOptions = { all: opts.all, maps: opts.maps };
  const scan = (i: number): void => {
    const [pid, tids] = list[i]!;
    out[i] = scanProcess(reader, opts.nat, pid, tids, so, cache);
  };
  const h = opts.helper !== undefined ? opts.helper : helperPays(root, list, opts) ? startScanHelper(so) : null;
  if (h) {
    const queued = h.queue(list);
    const frames = new FrameReader(h.results, (msg) => receive(msg, out, list));
    const entry = Buffer.alloc(QUEUE_ENTRY);
    try {
      while (fs.readSync(h.queueRead, entry, 0, QUEUE_ENTRY, null) === QUEUE_ENTRY) {
        scan(entry.readInt32LE(0));
        frames.drain(0);
      }
    } finally {
      fs.closeSync(h.queueRead);
    }
    for (let i = queued; i < list.length; i++) scan(i);
    // the helper's last frames (if it never started, it finds the queue empty and ends at once)
    frames.drain(HELPER_WAIT_MS);
    h.close();
  }
  // everything not read yet: all of it on one thread, or what the helper did not bring (it failed, or timed out)
  for (let i = 0; i < list.length; i++) if (out[i] === undefined) scan(i);
  return out as ScanResult[];
}

/** Whether scanAll should start a helper itself: asked for, a big scan, the live /proc, the real native reader. */
export function helperPays(root: string, list: ReadonlyArray<unknown>, opts: Pick<ScanAllOptions, 'threads' | 'nat'>): boolean {
  return opts.threads === 2 && root === '/proc' && opts.nat !== null && opts.nat.readFdTable === native.readFdTable && list.length >= HELPER_MIN_PROCESSES;
}

/** A started helper process: queue it the list, read its frames, end it. */
export interface ScanHelper {
  /** read end of the queue (this process takes entries from it too) */
  readonly queueRead: number;
  /** read end of the results pipe, or -1 */
  readonly results: number;
  /** writes [index, pid] of list's first entries (at most QUEUE_MAX) and closes the write end; how many */
  queue(list: Array<[number, number[]]>): number;
  /** closes the results pipe and ends the helper if it is still there (it must not outlive the snapshot) */
  close(): void;
}

/** One frame: a u32 length, then v8.serialize of a ScanWorkerReply. */
const FRAME_HEAD = 4;

/**
 * Starts the helper process; null when it cannot be (no native pipe). Queue its work with ScanHelper.queue.
 * `frameFds`: fds per frame of its results (tests make it small; default in scan-child.ts).
 */
export function startScanHelper(opts: ScanOptions, frameFds?: number): ScanHelper | null {
  const q = native.pipe();
  if (!Array.isArray(q)) return null;
  const r = native.pipe();
  if (!Array.isArray(r)) {
    fs.closeSync(q[0]);
    fs.closeSync(q[1]);
    return null;
  }
  // frames wait in the pipe while this process reads a process of its own: room for many, so the helper never waits
  native.setPipeSize(r[1], 1 << 20);
  let child: ChildProcess | null = null;
  let results = r[0];
  try {
    const script = fileURLToPath(new URL('./scan-child.js', import.meta.url));
    const args = [script, opts.all ? 'all' : 'pids', opts.maps ? 'maps' : 'nomaps', ...(frameFds !== undefined ? [String(frameFds)] : [])];
    // node:child_process is loaded here, for the opt-in helper only: loading it costs a snapshot's start ~20 ms
    const { spawn } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
    child = spawn(process.execPath, args, {
      stdio: ['ignore', 'ignore', 'ignore', q[0], r[1]],
      // NODE_EXTRA_CA_CERTS empty: the helper makes no TLS connection, and a Node start with it set parses the bundle (~90 ms of CPU)
      env: { ...process.env, FDWATCH_SNAPSHOT_THREADS: '1', NODE_EXTRA_CA_CERTS: '' },
    });
    // a helper that cannot start leaves its share to this process: nothing to report
    child.on('error', () => {});
    child.unref();
  } catch {
    // the queue stays readable: this process takes all of it
    fs.closeSync(r[0]);
    results = -1;
  }
  fs.closeSync(r[1]); // the helper holds the only write end: its exit is the end of file
  let queueWrite = q[1];
  const closeQueue = (): void => {
    if (queueWrite >= 0) fs.closeSync(queueWrite);
    queueWrite = -1;
  };
  return {
    queueRead: q[0],
    results,
    queue(list) {
      const queued = Math.min(list.length, QUEUE_MAX);
      try {
        const buf = Buffer.alloc(queued * QUEUE_ENTRY);
        for (let i = 0; i < queued; i++) {
          buf.writeInt32LE(i, i * QUEUE_ENTRY);
          buf.writeInt32LE(list[i]![0], i * QUEUE_ENTRY + 4);
        }
        let off = 0;
        while (off < buf.length) off += fs.writeSync(queueWrite, buf, off);
      } finally {
        closeQueue();
      }
      return queued;
    },
    close() {
      closeQueue();
      if (results >= 0) fs.closeSync(results);
      results = -1;
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Reads frames from the helper's results pipe as they come and hands each, deserialized, to `take`. */
export class FrameReader {
  private buf = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  private done: boolean;

  constructor(private readonly fd: number, private readonly take: (msg: ScanWorkerReply) => void) {
    this.done = fd < 0;
  }

  /** Reads what has come, waiting up to `ms` for more until the end of file (0: only what is there now). */
  drain(ms: number): void {
    while (!this.done) {
      if (native.pollIn(this.fd, ms) !== 'ready') {
        if (ms > 0) this.done = true; // given up on: its processes are read here
        return;
      }
      if (this.used === this.buf.length) {
        const bigger = Buffer.allocUnsafe(this.buf.length * 2);
        this.buf.copy(bigger, 0, 0, this.used);
        this.buf = bigger;
      }
      let n: number;
      try {
        n = fs.readSync(this.fd, this.buf, this.used, this.buf.length - this.used, null);
      } catch {
        n = 0;
      }
      if (n === 0) {
        this.done = true; // the end (a frame cut short by the helper's death is left: its processes are read here)
        return;
      }
      this.used += n;
      this.frames();
    }
  }

  private frames(): void {
    let off = 0;
    while (this.used - off >= FRAME_HEAD) {
      const len = this.buf.readUInt32LE(off);
      if (this.used - off - FRAME_HEAD < len) break;
      let msg: ScanWorkerReply | null = null;
      try {
        msg = v8.deserialize(this.buf.subarray(off + FRAME_HEAD, off + FRAME_HEAD + len)) as ScanWorkerReply;
      } catch {
        msg = null; // not ours to trust: its processes are read here
      }
      off += FRAME_HEAD + len;
      if (msg) this.take(msg);
    }
    if (off > 0) {
      this.buf.copy(this.buf, 0, off, this.used);
      this.used -= off;
    }
  }
}

/** Unpacks one frame into out; the helper was given pids only: the thread ids asked for stay here. */
function receive(msg: ScanWorkerReply, out: Array<ScanResult | undefined>, list: Array<[number, number[]]>): void {
  unpackReply(msg, out);
  for (const [index] of msg.heads) {
    const r = out[index];
    if (r !== undefined && typeof r !== 'string') r.requestedTids = list[index]![1];
  }
}

/** Packs one frame of the helper's results (scan-child.ts). */
export function frame(reply: ScanWorkerReply): Buffer {
  const body = v8.serialize(reply);
  const head = Buffer.alloc(FRAME_HEAD);
  head.writeUInt32LE(body.length, 0);
  return Buffer.concat([head, body]);
}
