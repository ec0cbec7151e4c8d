// Live mode's facts for privilege-crossing alerts (I/O edge): the file behind a delivered fd, stat'ed through
// /proc/PID/fd/N of the receiver (or, once it closed it, of the sender), its access mode from fdinfo, and the
// receiver's fsuid and groups from /proc/PID/status. One lookup per delivered fd; nothing per ordinary syscall.
import fs from 'node:fs';
import { parseFdinfo } from '../procfs/fdinfo.js';
import { accessOf } from '../correlate/access.js';
import type { FileFacts } from '../correlate/crossing.js';
import type { TransferRecord } from '../model/records.js';

/** Kinds a process opens by path: the only ones whose mode says who could have opened them. */
const OPENABLE = new Set(['file', 'dir', 'device']);

/** fd `fd` of `pid`, if it still is `target`: its owner, mode and access mode. */
function statFd(root: string, pid: number, fd: number, target: string | null): Pick<FileFacts, 'file' | 'access'> | null {
  const p = `${root}/${pid}/fd/${fd}`;
  try {
    const st = fs.statSync(p);
    if (!(st.isFile() || st.isDirectory() || st.isCharacterDevice() || st.isBlockDevice())) return null;
    const info = parseFdinfo(fs.readFileSync(`${root}/${pid}/fdinfo/${fd}`, 'utf8'));
    // the fd may have been closed and its number reused since the transfer: it must still be that file
    if (info === null || (info.ino !== null && info.ino !== BigInt(st.ino))) return null;
    if (target !== null && fs.readlinkSync(p) !== target) return null;
    return { file: { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid }, access: accessOf(info.flags) };
  } catch {
    return null; // gone, or not ours to read
  }
}

export interface Creds { uid: number | null; gids: number[] | null }

/** fsuid and groups (fsgid first) of `pid` from its status file; nulls when it cannot be read. */
export function credsOf(root: string, pid: number): Creds {
  let text: string | null;
  try { text = fs.readFileSync(`${root}/${pid}/status`, 'utf8'); } catch { text = null; }
  return credsFrom(text);
}

const UID_LINE = /^Uid:[ \t]*([0-9 \t]*)$/m;
const GID_LINE = /^Gid:[ \t]*([0-9 \t]*)$/m;
const GROUPS_LINE = /^Groups:[ \t]*([0-9 \t]*)$/m;

/** fsuid and groups (fsgid first) from the text of a status file (null: it could not be read). */
export function credsFrom(text: string | null): Creds {
  if (text === null) return { uid: null, gids: null };
  const field = (re: RegExp): number[] | null => {
    const m = re.exec(text);
    return m ? m[1]!.trim().split(/\s+/).filter((x) => x !== '').map(Number) : null;
  };
  const uid = field(UID_LINE);
  const gid = field(GID_LINE);
  const groups = field(GROUPS_LINE);
  // Uid/Gid: real, effective, saved set, filesystem: open(2) checks the filesystem ids
  const fsuid = uid?.[3] ?? null;
  const fsgid = gid?.[3] ?? null;
  return { uid: fsuid, gids: fsgid !== null && groups !== null ? [fsgid, ...groups] : null };
}

/** The facts of one delivered transfer, read now (`creds`: the receiver's, by default from its status file). */
export function fileFacts(t: TransferRecord, root = '/proc', creds: (pid: number) => Creds = (pid) => credsOf(root, pid)): FileFacts | null {
  if (t.to === null || t.to.pid === null) return null;
  let got: Pick<FileFacts, 'file' | 'access'> | null = null;
  if (OPENABLE.has(t.kind)) {
    // the receiver's fd first (it is the one in question); the sender's is the same open file description
    if (t.to.fd !== null) got = statFd(root, t.to.pid, t.to.fd, t.target);
    if (got === null && t.from.pid !== null && t.from.fd !== null) got = statFd(root, t.from.pid, t.from.fd, t.target);
  }
  const c = creds(t.to.pid);
  return { file: got?.file ?? null, access: got?.access ?? null, toUid: c.uid, toGids: c.gids };
}
