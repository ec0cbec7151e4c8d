// Parses /proc/PID/maps lines. Addresses, offsets and inodes are bigint: user addresses on x86-64 with
// 5-level paging and kernel/vsyscall addresses pass 2^53.

export type MapPath =
  | { type: 'anonymous' }
  | { type: 'heap' }
  | { type: 'stack' }
  | { type: 'vdso' }
  | { type: 'special'; name: string }            // [vvar], [vsyscall], [anon:name], [stack:tid], ...
  | { type: 'path'; path: string; deleted: boolean };

export interface MapEntry {
  start: bigint;
  end: bigint;
  /** as printed, e.g. "r--s"; the fourth letter is s for MAP_SHARED, p for private */
  perms: string;
  shared: boolean;
  offset: bigint;
  /** "major:minor" in hex, as printed */
  dev: string;
  inode: bigint;
  path: MapPath;
}

const DELETED = ' (deleted)';

/** The kernel escapes only "\n" in map paths (as \012, see show_map_vma / seq_file_path). */
function unescapeMapPath(s: string): string {
  return s.includes('\\012') ? s.split('\\012').join('\n') : s;
}

function classify(text: string): MapPath {
  if (text.length === 0) return { type: 'anonymous' };
  if (text.charCodeAt(0) === 0x5b /* [ */ && text.endsWith(']')) {
    if (text === '[heap]') return { type: 'heap' };
    if (text === '[stack]') return { type: 'stack' };
    if (text === '[vdso]') return { type: 'vdso' };
    return { type: 'special', name: text };
  }
  const deleted = text.endsWith(DELETED);
  return { type: 'path', path: unescapeMapPath(deleted ? text.slice(0, -DELETED.length) : text), deleted };
}

/**
 * Values many mappings share (library paths, dev, perms, inodes: every process maps the same libc), kept once
 * per scan: a whole-machine snapshot holds ~15k mappings until it is written, and every object held is copied
 * by each young-generation collection.
 */
export class MapIntern {
  readonly strings = new Map<string, string>();
  readonly paths = new Map<string, MapPath>();
  readonly numbers = new Map<string, bigint>();

  string(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    this.strings.set(s, s);
    return s;
  }

  /** BigInt(prefix + digits), one bigint per distinct text */
  number(prefix: string, digits: string): bigint {
    const key = prefix + digits;
    let v = this.numbers.get(key);
    if (v === undefined) this.numbers.set(key, (v = BigInt(key)));
    return v;
  }

  path(text: string): MapPath {
    let p = this.paths.get(text);
    if (p === undefined) this.paths.set(text, (p = classify(text)));
    return p;
  }
}

/** Parses one maps line; null for a line that is not a mapping (empty, truncated). */
export function parseMapsLine(line: string, intern?: MapIntern): MapEntry | null {
  // start-end perms offset dev inode<spaces>path
  const dash = line.indexOf('-');
  const s1 = line.indexOf(' ', dash + 1);
  const s2 = s1 < 0 ? -1 : line.indexOf(' ', s1 + 1);
  const s3 = s2 < 0 ? -1 : line.indexOf(' ', s2 + 1);
  const s4 = s3 < 0 ? -1 : line.indexOf(' ', s3 + 1);
  if (dash <= 0 || s4 < 0) return null;
  let s5 = line.indexOf(' ', s4 + 1);
  if (s5 < 0) s5 = line.length;
  let p = s5;
  while (p < line.length && line.charCodeAt(p) === 0x20) p++;
  const perms = intern ? intern.string(line.slice(s1 + 1, s2)) : line.slice(s1 + 1, s2);
  try {
    return {
      start: BigInt('0x' + line.slice(0, dash)),
      end: BigInt('0x' + line.slice(dash + 1, s1)),
      perms,
      shared: perms.charCodeAt(3) === 0x73 /* s */,
      offset: intern ? intern.number('0x', line.slice(s2 + 1, s3)) : BigInt('0x' + line.slice(s2 + 1, s3)),
      dev: intern ? intern.string(line.slice(s3 + 1, s4)) : line.slice(s3 + 1, s4),
      inode: intern ? intern.number('', line.slice(s4 + 1, s5)) : BigInt(line.slice(s4 + 1, s5)),
      path: intern ? intern.path(line.slice(p)) : classify(line.slice(p)),
    };
  } catch {
    return null; // a number field that is not a number: not a maps line
  }
}

export function parseMaps(text: string): MapEntry[] {
  const out: MapEntry[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start) {
      const e = parseMapsLine(text.slice(start, end));
      if (e) out.push(e);
    }
    start = end + 1;
  }
  return out;
}

/** parseMaps(text).filter(isFileBacked), sharing values through `intern`. */
export function parseFileMaps(text: string, intern: MapIntern): Array<MapEntry & { path: { type: 'path' } }> {
  const out: Array<MapEntry & { path: { type: 'path' } }> = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start) {
      const e = parseMapsLine(text.slice(start, end), intern);
      if (e && isFileBacked(e)) out.push(e);
    }
    start = end + 1;
  }
  return out;
}

/** A mapping of a file (not anonymous memory, heap, stack or vdso). */
export function isFileBacked(e: MapEntry): e is MapEntry & { path: { type: 'path' } } {
  return e.path.type === 'path';
}

/** 16 hex digits, as maps prints on 64-bit (zero-padded to at least 8). */
export function hex64(v: bigint): string {
  return v.toString(16).padStart(8, '0');
}
