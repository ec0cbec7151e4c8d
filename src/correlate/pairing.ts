// Whether a received message can be the one a send queued: what both sides' -y/-yy decorations say. Pure.
import type { FdTarget } from '../model/fdop.js';

/** false when two decorations clearly name different files; null when they cannot tell. */
function sameFile(a: FdTarget, b: FdTarget): boolean | null {
  if (a.inode !== null && b.inode !== null) return a.inode === b.inode;
  if (a.kind === 'unknown' || b.kind === 'unknown') return null;
  if (a.kind !== b.kind) return false;
  // a socket's address may change while it travels (bind, connect): only its protocol is fixed
  if (a.kind === 'socket') return a.target.slice(0, a.target.indexOf(':[')) === b.target.slice(0, b.target.indexOf(':['));
  return undeleted(a.target) === undeleted(b.target);
}

function undeleted(target: string): string {
  return target.endsWith(' (deleted)') ? target.slice(0, -10) : target;
}

/** A receive that got `got` could have taken the message `sent`: not more fds, and none clearly another file. */
export function fits(sent: readonly { seen: FdTarget | null }[], got: readonly (FdTarget | null)[]): boolean {
  if (got.length > sent.length) return false;
  for (let i = 0; i < got.length; i++) {
    const a = sent[i]!.seen;
    const b = got[i];
    if (a && b && sameFile(a, b) === false) return false;
  }
  return true;
}

/** The other end's view of a socket pair in -yy words: `UNIX-STREAM:[A->B]` seen from B is `UNIX-STREAM:[B->A]`. */
export function mirrored(socket: string | null): string | null {
  const m = socket !== null ? /^(.*):\[(\d+)->(\d+)\]$/.exec(socket) : null;
  return m ? `${m[1]}:[${m[3]}->${m[2]}]` : null;
}
