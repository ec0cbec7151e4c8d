// Parses the text of a /proc/PID/fd/N symlink into a tagged union (the kernel's d_path / dname output).
import type { FdKind } from '../model/records.js';

/** What an fd refers to, from its /proc/PID/fd/N link text. */
export type FdLink =
  | { type: 'path'; path: string }
  | { type: 'deleted'; path: string }          // "/tmp/x (deleted)": unlinked while open
  | { type: 'socket'; inode: number }          // "socket:[6149]"
  | { type: 'pipe'; inode: number }            // "pipe:[4984]"
  | { type: 'anon'; name: string }             // "anon_inode:[eventfd]" -> "eventfd"; "anon_inode:inotify" -> "inotify"
  | { type: 'memfd'; name: string }            // "/memfd:shared-memory-region (deleted)"
  | { type: 'other'; text: string };           // "net:[4026531840]" (nsfs), anything new

const DELETED = ' (deleted)';

/** Parses "[123]" at `from` into 123, or -1. */
function bracketNumber(text: string, from: number): number {
  if (text.charCodeAt(from) !== 0x5b /* [ */ || text.charCodeAt(text.length - 1) !== 0x5d /* ] */) return -1;
  const digits = text.slice(from + 1, -1);
  if (digits.length === 0 || digits.length > 10) return -1;
  for (let i = 0; i < digits.length; i++) {
    const c = digits.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
  }
  return Number(digits);
}

export function parseFdLink(text: string): FdLink {
  if (text.charCodeAt(0) === 0x2f /* / */) {
    const deleted = text.endsWith(DELETED);
    const path = deleted ? text.slice(0, -DELETED.length) : text;
    // memfd files live on an internal tmpfs and are always shown unlinked.
    if (path.startsWith('/memfd:')) return { type: 'memfd', name: path.slice('/memfd:'.length) };
    return deleted ? { type: 'deleted', path } : { type: 'path', path };
  }
  if (text.startsWith('socket:')) {
    const inode = bracketNumber(text, 7);
    if (inode >= 0) return { type: 'socket', inode };
  } else if (text.startsWith('pipe:')) {
    const inode = bracketNumber(text, 5);
    if (inode >= 0) return { type: 'pipe', inode };
  } else if (text.startsWith('anon_inode:')) {
    const rest = text.slice('anon_inode:'.length);
    const name = rest.startsWith('[') && rest.endsWith(']') ? rest.slice(1, -1) : rest;
    return { type: 'anon', name };
  }
  return { type: 'other', text };
}

/** The link text back, as the kernel prints it (round trip of parseFdLink). */
export function formatFdLink(t: FdLink): string {
  switch (t.type) {
    case 'path':
      return t.path;
    case 'deleted':
      return t.path + DELETED;
    case 'socket':
      return `socket:[${t.inode}]`;
    case 'pipe':
      return `pipe:[${t.inode}]`;
    case 'anon':
      // inotify and a few others print without brackets; the common ones use them.
      return t.name === 'inotify' || t.name === 'bpf-map' || t.name === 'bpf-prog' ? `anon_inode:${t.name}` : `anon_inode:[${t.name}]`;
    case 'memfd':
      return `/memfd:${t.name}${DELETED}`;
    case 'other':
      return t.text;
  }
}

/** What kind of file a link names (a path: a file; its mode tells a directory or a device). */
export function linkKind(link: FdLink): FdKind {
  switch (link.type) {
    case 'socket':
      return 'socket';
    case 'pipe':
      return 'pipe';
    case 'anon':
      return 'anon';
    case 'memfd':
      return 'memfd';
    case 'path':
    case 'deleted':
      return 'file';
    case 'other':
      return 'unknown';
  }
}
