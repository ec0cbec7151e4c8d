// Parses /proc/PID/fdinfo/N: the common lines (pos, flags, mnt_id, ino) and the per-type extras.
// Numbers are printed by the kernel in fixed bases (see fs/proc/fd.c, fs/eventfd.c, fs/eventpoll.c,
// fs/notify/fdinfo.c, fs/signalfd.c, fs/timerfd.c, kernel/pid.c, net/unix/af_unix.c).

export interface EpollTarget {
  tfd: number;     // the watched fd, in the epoll owner's table
  events: number;
  data: bigint;
  pos: bigint;
  ino: bigint;
  sdev: number;
}

export interface InotifyWatch {
  wd: number;
  ino: bigint;
  sdev: number;
  mask: number;
  ignoredMask: number;
}

export interface TimerfdInfo {
  clockid: number;
  ticks: bigint;
  settimeFlags: number;
  itValue: [bigint, bigint];    // seconds, nanoseconds
  itInterval: [bigint, bigint];
}

export interface FdInfo {
  pos: bigint;
  /** open flags as a number (octal in the file); bit 02000000 is O_CLOEXEC, which belongs to the fd, not the open file. */
  flags: number;
  /** the octal text exactly as printed, e.g. "02100002" */
  flagsText: string;
  mntId: number | null;
  /** the inode; every anon-inode fd (eventfd, epoll, timerfd, ...) shows the same one */
  ino: bigint | null;
  /** Unix sockets: fds sent to this socket and not yet received (SCM_RIGHTS in flight) */
  scmFds?: number;
  eventfd?: { count: bigint; id: number | null; semaphore: boolean | null };
  epoll?: EpollTarget[];
  inotify?: InotifyWatch[];
  signalfd?: { sigmask: bigint };
  timerfd?: TimerfdInfo;
  /** pidfd: the pid it refers to (-1 once that process has been reaped), and its pid in each namespace */
  pidfd?: { pid: number; nspid: number[] };
  /** "lock:" lines (flock/POSIX locks held through this file), verbatim after the tab */
  locks?: string[];
  /** lines this parser does not know, verbatim */
  other?: string[];
}

export { O_ACCMODE, O_CLOEXEC } from '../model/kernel.js';
import { O_ACCMODE } from '../model/kernel.js';

const hex = (s: string): bigint => BigInt('0x' + (s || '0'));

/** Splits "k1:v1 k2:v2  k3: v3" (epoll tfd and inotify lines) into a key -> value record. */
function fields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const parts = text.trim().split(/\s+/);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const colon = p.indexOf(':');
    if (colon < 0) continue;
    let value = p.slice(colon + 1);
    // "tfd:        5": the value is the next token when nothing follows the colon
    if (value === '' && i + 1 < parts.length && !parts[i + 1]!.includes(':')) value = parts[++i]!;
    out[p.slice(0, colon)] = value;
  }
  return out;
}

function parseTimespec(v: string): [bigint, bigint] {
  const m = /^\(\s*(-?\d+),\s*(-?\d+)\s*\)$/.exec(v);
  return m ? [BigInt(m[1]!), BigInt(m[2]!)] : [0n, 0n];
}

/** Returns null when the text lacks the pos/flags lines every fdinfo file has (truncated or not an fdinfo file). */
export function parseFdinfo(text: string): FdInfo | null {
  // One fixed-shape object: a whole-machine scan parses tens of thousands of these.
  const info: FdInfo = { pos: 0n, flags: 0, flagsText: '', mntId: null, ino: null };
  let sawPos = false;
  let sawFlags = false;
  let start = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    const colon = text.indexOf(':', start);
    if (colon < 0 || colon > end) {
      if (end > start) (info.other ??= []).push(text.slice(start, end));
      start = end + 1;
      continue;
    }
    // the value: after the colon, skipping blanks
    let v = colon + 1;
    while (v < end && (text.charCodeAt(v) === 0x09 || text.charCodeAt(v) === 0x20)) v++;
    const value = text.slice(v, end);
    switch (text.slice(start, colon)) {
      case 'pos':
        info.pos = BigInt(value);
        sawPos = true;
        break;
      case 'flags':
        info.flagsText = value;
        info.flags = parseInt(value, 8);
        sawFlags = true;
        break;
      case 'mnt_id':
        info.mntId = Number(value);
        break;
      case 'ino':
        info.ino = BigInt(value);
        break;
      default:
        extra(info, text.slice(start, end), text.slice(start, colon), value);
    }
    start = end + 1;
  }
  if (!sawPos || !sawFlags) return null;
  return info;
}

const flagsTexts = new Map<number, string>();

/** A decimal number of at most 15 digits at buf[from..to) (exact in a double), else -1. */
function smallDecimal(buf: Uint8Array, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const ch = buf[i]!;
    if (ch < 0x30 || ch > 0x39) return -1;
    v = v * 10 + (ch - 0x30);
  }
  return v;
}

const POS = 0x706f733a; // "pos:"
const INO = 0x696e6f3a; // "ino:"

/**
 * parseFdinfo of the latin1 text of buf[0..n), without making that text when the file holds only the common
 * lines (pos, flags, mnt_id, ino, scm_fds) in the kernel's own format: the whole-machine scan reads one per fd.
 */
export function parseFdinfoBytes(buf: Uint8Array, n: number): FdInfo | null {
  const info: FdInfo = { pos: 0n, flags: 0, flagsText: '', mntId: null, ino: null };
  let seen = 0;
  let start = 0;
  while (start < n) {
    let end = buf.indexOf(10, start);
    if (end < 0 || end > n) end = n;
    // the key ends at the colon; the value starts after one tab (one space for scm_fds)
    const k4 = start + 4 <= end ? ((buf[start]! << 24) | (buf[start + 1]! << 16) | (buf[start + 2]! << 8) | buf[start + 3]!) >>> 0 : 0;
    let v: number;
    if (k4 === POS && buf[start + 4] === 0x09 && (v = smallDecimal(buf, start + 5, end)) >= 0) {
      // most positions are 0: the literal's one bigint, not one allocated per fd (each survives until the output)
      info.pos = v === 0 ? 0n : BigInt(v);
      seen |= 1;
    } else if (k4 === INO && buf[start + 4] === 0x09 && (v = smallDecimal(buf, start + 5, end)) >= 0) {
      info.ino = BigInt(v);
    } else if (end - start > 8 && buf[start] === 0x66 /* f */ && buf[start + 5] === 0x3a && buf[start + 6] === 0x09 && buf[start + 7] === 0x30 && isKey(buf, start, 'flags')) {
      // "flags:\t0<octal>": the kernel prints %o after a literal 0, so the text is a function of the value
      let f = 0;
      let i = start + 8;
      for (; i < end; i++) {
        const ch = buf[i]!;
        if (ch < 0x30 || ch > 0x37) break;
        f = f * 8 + (ch - 0x30);
      }
      let text = flagsTexts.get(f);
      if (text === undefined) flagsTexts.set(f, (text = '0' + f.toString(8)));
      if (i !== end || text.length !== end - start - 7) return parseFdinfo(latin1Text(buf, n));
      info.flags = f;
      info.flagsText = text;
      seen |= 2;
    } else if (buf[start] === 0x6d /* m */ && buf[start + 6] === 0x3a && buf[start + 7] === 0x09 && isKey(buf, start, 'mnt_id') && (v = smallDecimal(buf, start + 8, end)) >= 0) {
      info.mntId = v;
    } else if (buf[start] === 0x73 /* s */ && buf[start + 7] === 0x3a && buf[start + 8] === 0x20 && isKey(buf, start, 'scm_fds') && (v = smallDecimal(buf, start + 9, end)) >= 0) {
      info.scmFds = v;
    } else {
      // anything else (a per-type line, a big number, an unknown format): the text parser says it all
      return parseFdinfo(latin1Text(buf, n));
    }
    start = end + 1;
  }
  return seen === 3 ? info : null;
}

function isKey(buf: Uint8Array, at: number, key: string): boolean {
  for (let i = 0; i < key.length; i++) if (buf[at + i] !== key.charCodeAt(i)) return false;
  return true;
}

function latin1Text(buf: Uint8Array, n: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset, n).toString('latin1');
}

/** The per-type lines, rarer than the common four. */
function extra(info: FdInfo, line: string, key: string, value: string): void {
  switch (key) {
    case 'scm_fds':
      info.scmFds = Number(value);
      break;
    case 'eventfd-count':
      (info.eventfd ??= { count: 0n, id: null, semaphore: null }).count = hex(value);
      break;
    case 'eventfd-id':
      (info.eventfd ??= { count: 0n, id: null, semaphore: null }).id = Number(value);
      break;
    case 'eventfd-semaphore':
      (info.eventfd ??= { count: 0n, id: null, semaphore: null }).semaphore = value === '1';
      break;
    case 'tfd': {
      const f = fields(line);
      (info.epoll ??= []).push({
        tfd: Number(f['tfd'] ?? -1),
        events: Number(hex(f['events'] ?? '0')),
        data: hex(f['data'] ?? '0'),
        pos: BigInt(f['pos'] ?? '0'),
        ino: hex(f['ino'] ?? '0'),
        sdev: Number(hex(f['sdev'] ?? '0')),
      });
      break;
    }
    case 'inotify wd': {
      const f = fields(line.slice('inotify '.length));
      (info.inotify ??= []).push({
        wd: Number(hex(f['wd'] ?? '0')),
        ino: hex(f['ino'] ?? '0'),
        sdev: Number(hex(f['sdev'] ?? '0')),
        mask: Number(hex(f['mask'] ?? '0')),
        ignoredMask: Number(hex(f['ignored_mask'] ?? '0')),
      });
      break;
    }
    case 'sigmask':
      info.signalfd = { sigmask: hex(value) };
      break;
    case 'clockid':
      (info.timerfd ??= emptyTimerfd()).clockid = Number(value);
      break;
    case 'ticks':
      (info.timerfd ??= emptyTimerfd()).ticks = BigInt(value);
      break;
    case 'settime flags':
      (info.timerfd ??= emptyTimerfd()).settimeFlags = parseInt(value, 8);
      break;
    case 'it_value':
      (info.timerfd ??= emptyTimerfd()).itValue = parseTimespec(value);
      break;
    case 'it_interval':
      (info.timerfd ??= emptyTimerfd()).itInterval = parseTimespec(value);
      break;
    case 'Pid':
      (info.pidfd ??= { pid: -1, nspid: [] }).pid = Number(value);
      break;
    case 'NSpid':
      (info.pidfd ??= { pid: -1, nspid: [] }).nspid = value.split(/\s+/).filter(Boolean).map(Number);
      break;
    case 'lock':
      (info.locks ??= []).push(value);
      break;
    default:
      (info.other ??= []).push(line);
  }
}

function emptyTimerfd(): TimerfdInfo {
  return { clockid: 0, ticks: 0n, settimeFlags: 0, itValue: [0n, 0n], itInterval: [0n, 0n] };
}

// Open flags (x86-64 / generic values) in the order strace prints them.
const FLAG_NAMES: Array<[number, string]> = [
  [0o2000, 'O_APPEND'],
  [0o4000, 'O_NONBLOCK'],
  [0o4010000, 'O_SYNC'],
  [0o10000, 'O_DSYNC'],
  [0o20000, 'O_ASYNC'],
  [0o40000, 'O_DIRECT'],
  [0o100000, 'O_LARGEFILE'],
  [0o200000, 'O_DIRECTORY'],
  [0o400000, 'O_NOFOLLOW'],
  [0o1000000, 'O_NOATIME'],
  [0o2000000, 'O_CLOEXEC'],
  [0o10000000, 'O_PATH'],
];

/** "O_RDWR|O_CLOEXEC" style text for an fdinfo flags value. */
export function describeOpenFlags(flags: number): string {
  const acc = flags & O_ACCMODE;
  const names = [acc === 0 ? 'O_RDONLY' : acc === 1 ? 'O_WRONLY' : acc === 2 ? 'O_RDWR' : 'O_ACCMODE'];
  let rest = flags & ~O_ACCMODE;
  for (const [bit, name] of FLAG_NAMES) {
    if ((rest & bit) === bit) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) names.push('0' + rest.toString(8));
  return names.join('|');
}
