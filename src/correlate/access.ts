// The DAC question, pure: could a process with fsuid U and groups G open a file of owner O, group Gr and mode M
// with the access mode it got? As the kernel's generic_permission() asks it of the mode bits.
import { O_ACCMODE } from '../model/kernel.js';

/** An open file description's access mode (O_ACCMODE): O_RDONLY, O_WRONLY, O_RDWR. */
export type Access = 'r' | 'w' | 'rw';

/** What stat says of a file: `mode` holds the permission bits (st_mode & 07777). */
export interface FileOwner {
  mode: number;
  uid: number;
  gid: number;
}

/** `unknown`: the answer depends on groups nobody could read. */
export type Verdict = 'yes' | 'no' | 'unknown';

/** O_ACCMODE of open flags (fdinfo `flags:`) as an Access; null for the invalid 3. */
export function accessOf(flags: number): Access | null {
  const m = flags & O_ACCMODE;
  return m === 0 ? 'r' : m === 1 ? 'w' : m === 2 ? 'rw' : null;
}

/** The rwx triplet's bits that `access` needs: 4 read, 2 write. */
const want = (access: Access): number => (access === 'r' ? 4 : access === 'w' ? 2 : 6);

/**
 * Could `uid` (with supplementary and primary `gids`, or null when they are not known) open `file` for `access`?
 * Mode bits only: a POSIX ACL could grant more (its mask is what the group bits show), and it is not read here.
 */
export function mayOpen(file: FileOwner, uid: number, gids: readonly number[] | null, access: Access): Verdict {
  const need = want(access);
  // root bypasses DAC for read and write (CAP_DAC_OVERRIDE); only exec needs some x bit, and no fd grants exec
  if (uid === 0) return 'yes';
  // the kernel looks at exactly one class: the owner's bits for the owner, even when group or other allow more
  if (uid === file.uid) return ((file.mode >> 6) & need) === need ? 'yes' : 'no';
  const group = ((file.mode >> 3) & need) === need;
  const other = (file.mode & need) === need;
  if (gids !== null) return (gids.includes(file.gid) ? group : other) ? 'yes' : 'no';
  // groups unknown: the answer holds only when the group and the other bits agree
  return group === other ? (group ? 'yes' : 'no') : 'unknown';
}

/** 0600: the permission bits as the kernel's octal, at least four digits. */
export function modeText(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}
