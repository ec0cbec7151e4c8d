// -y/-yy fd decorations -> what the fd refers to. `4</etc/hostname>`, `3<UNIX-STREAM:[6149->5313,"/x"]>`, `5</dev/null<char 1:3>>`.
import type { FdKind } from '../model/records.js';
import { plainTarget, type FdTarget } from '../model/fdop.js';
import { Ch, readEnd, readUint } from '../model/chars.js';
import { unescapeC } from './values.js';

/** `decor` is the text between the outer `<` `>`; `suffix` what strace printed after it, e.g. `(deleted)`. */
export function parseDecor(decor: string, suffix = ''): FdTarget {
  const deleted = suffix.includes('(deleted)');
  if (decor.length > 0 && decor.charCodeAt(0) === Ch.Slash) {
    // nested device decoration: /dev/null<char 1:3>
    let path = decor;
    let kind: FdKind = 'file';
    const nest = decor.indexOf('<');
    if (nest > 0 && decor.endsWith('>')) {
      path = decor.slice(0, nest);
      const inner = decor.slice(nest + 1, -1);
      if (inner.startsWith('char ') || inner.startsWith('block ')) kind = 'device';
    }
    if (path.includes('\\')) path = unescapeC(path);
    if (path.startsWith('/memfd:')) kind = 'memfd';
    else if (kind === 'file' && path.startsWith('/dev/') && !path.startsWith('/dev/shm/')) kind = 'device';
    return plainTarget(deleted ? `${path} (deleted)` : path, kind);
  }
  const colon = decor.indexOf(':');
  const proto = colon > 0 ? decor.slice(0, colon) : decor;
  if (proto === 'pipe') return plainTarget(decor, 'pipe');
  if (proto === 'anon_inode') return plainTarget(decor, 'anon');
  if (proto === 'pid') {
    const t = plainTarget(decor, 'anon');
    const n = parseInt(decor.slice(colon + 1), 10);
    t.pid = Number.isNaN(n) ? null : n;
    return t;
  }
  const open = decor.indexOf(':[');
  if (open > 0 && decor.endsWith(']')) {
    const t = plainTarget(decor, 'socket');
    if (proto === 'net' || proto === 'mnt' || proto === 'user' || proto === 'uts' || proto === 'ipc' || proto === 'cgroup' || proto === 'time') {
      t.kind = 'anon';
      return t;
    }
    const body = decor.slice(open + 2, -1);
    if (proto === 'socket' || proto.startsWith('UNIX') || proto === 'NETLINK') {
      // A, A->B, A,"path", A->B,"path", A,@"abstract"
      const inode = readUint(body, 0, body.length);
      let p = readEnd;
      if (p > 0) t.inode = inode;
      if (body.startsWith('->', p)) {
        const peer = readUint(body, p + 2, body.length);
        if (readEnd > p + 2) t.peer = peer;
        p = readEnd;
      }
      if (p < body.length && body.charCodeAt(p) === Ch.Comma) {
        let q = p + 1;
        let at = '';
        if (q < body.length && body.charCodeAt(q) === Ch.At) { at = '@'; q++; }
        if (q < body.length && body.charCodeAt(q) === Ch.Quote && body.endsWith('"')) t.path = at + unescapeC(body.slice(q + 1, -1));
      }
    }
    return t;
  }
  return plainTarget(decor, 'unknown');
}
