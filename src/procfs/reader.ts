// Reads /proc under a root given as a parameter (tests point it at a fixture tree); every path goes
// through ProcReader.path. Reads are synchronous: a whole-machine scan is tens of thousands of tiny
// files, and sync reads of /proc cost a few microseconds where the async thread pool costs tens.

import fs from 'node:fs';
import { NotFound, ProcError, toProcError } from './errors.js';
import { parseFdinfo, type FdInfo } from './fdinfo.js';
import { parseFileMaps, parseMaps, type MapEntry, type MapIntern } from './maps.js';
import { parseStatus, type ProcStatus } from './status.js';

export type NetTable = 'unix' | 'tcp' | 'tcp6' | 'udp' | 'udp6';

/** One process's fd table as text: links and fdinfo, not yet parsed. */
export interface RawFdTable {
  /** fds still open when read; a fd closed between listing and reading is left out */
  /** mode: st_mode of the open file when the reader learnt it cheaply (native path), else undefined */
  fds: Array<{ fd: number; link: string; fdinfo: string | null; mode?: number | null }>;
  /** readlink was refused: the table is incomplete */
  linkDenied: boolean;
  /** fdinfo was refused: the entries have fdinfo null */
  fdinfoDenied: boolean;
}

function numericEntries(names: string[]): number[] {
  const out: number[] = [];
  for (const n of names) {
    const c = n.charCodeAt(0);
    if (c >= 0x30 && c <= 0x39) out.push(Number(n));
  }
  return out.sort((a, b) => a - b);
}

export class ProcReader {
  private buf = Buffer.allocUnsafe(64 * 1024);

  constructor(readonly root: string = '/proc') {}

  /** The one place a /proc path is built. */
  path(a?: string | number, b?: string | number, c?: string | number): string {
    // fixed arity: this runs once or twice per fd, and a rest array per call shows up in a whole-machine scan
    let p = this.root;
    if (a !== undefined) p += '/' + a;
    if (b !== undefined) p += '/' + b;
    if (c !== undefined) p += '/' + c;
    return p;
  }

  /**
   * Reads a whole file into text; throws a typed ProcError. `oneRecord`: the file is a single seq_file
   * record (fdinfo, status), which the kernel hands over in one read when the buffer has room.
   */
  readText(path: string, encoding: 'latin1' | 'utf8' = 'utf8', oneRecord = false): string {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (err) {
      throw toProcError(err, path);
    }
    try {
      let n = 0;
      for (;;) {
        if (n === this.buf.length) {
          const bigger = Buffer.allocUnsafe(this.buf.length * 2);
          this.buf.copy(bigger, 0, 0, n);
          this.buf = bigger;
        }
        const room = this.buf.length - n;
        const r = fs.readSync(fd, this.buf, n, room, null);
        n += r;
        // A single-record file comes whole when it fits, so a short read is its end: this saves the
        // read() that would return 0 on every fdinfo file. Multi-record files (maps) come a page at a time.
        if (r === 0 || (oneRecord && r < room)) break;
      }
      return this.buf.toString(encoding, 0, n);
    } catch (err) {
      throw toProcError(err, path);
    } finally {
      fs.closeSync(fd);
    }
  }

  private listNumeric(path: string): number[] {
    try {
      return numericEntries(fs.readdirSync(path));
    } catch (err) {
      throw toProcError(err, path);
    }
  }

  /** Thread-group ids (the /proc listing shows only group leaders). */
  listPids(): number[] {
    return this.listNumeric(this.path());
  }

  /** Thread ids of a thread group. */
  listTasks(pid: number): number[] {
    return this.listNumeric(this.path(pid, 'task'));
  }

  statusText(pid: number): string {
    return this.readText(this.path(pid, 'status'), 'utf8', true);
  }

  status(pid: number): ProcStatus {
    const path = this.path(pid, 'status');
    const s = parseStatus(this.readText(path, 'utf8', true));
    if (!s) throw new NotFound(path, 'EINCOMPLETE'); // a status without Name/Tgid: the process is being torn down
    return s;
  }

  listFds(pid: number): number[] {
    return this.listNumeric(this.path(pid, 'fd'));
  }

  fdLink(pid: number, fd: number): string {
    const path = this.path(pid, 'fd', fd);
    try {
      return fs.readlinkSync(path);
    } catch (err) {
      throw toProcError(err, path);
    }
  }

  fdinfoText(pid: number, fd: number): string {
    return this.readText(this.path(pid, 'fdinfo', fd), 'latin1', true);
  }

  fdinfo(pid: number, fd: number): FdInfo | null {
    return parseFdinfo(this.fdinfoText(pid, fd));
  }

  /** Links and fdinfo of every fd; throws a ProcError only when the fd directory cannot be listed. */
  fdTable(pid: number, withFdinfo = true): RawFdTable {
    const out: RawFdTable = { fds: [], linkDenied: false, fdinfoDenied: !withFdinfo };
    for (const fd of this.listFds(pid)) {
      let link: string;
      try {
        link = this.fdLink(pid, fd);
      } catch (err) {
        if (!(err instanceof ProcError)) throw err;
        if (err.kind === 'NotFound') continue; // closed between listing and reading, which is normal
        // access is decided per process: the other fds would fail the same way
        out.linkDenied = true;
        break;
      }
      let fdinfo: string | null = null;
      if (!out.fdinfoDenied) {
        try {
          fdinfo = this.fdinfoText(pid, fd);
        } catch (err) {
          if (!(err instanceof ProcError)) throw err;
          if (err.kind === 'NotFound') continue;
          out.fdinfoDenied = true;
        }
      }
      out.fds.push({ fd, link, fdinfo });
    }
    return out;
  }

  mapsText(pid: number): string {
    return this.readText(this.path(pid, 'maps'));
  }

  maps(pid: number): MapEntry[] {
    return parseMaps(this.mapsText(pid));
  }

  /** The file-backed mappings only, values shared through `intern`. */
  fileMaps(pid: number, intern: MapIntern): MapEntry[] {
    return parseFileMaps(this.mapsText(pid), intern);
  }

  /** /proc/net/* as seen from the reader's network namespace. */
  netText(table: NetTable): string {
    return this.readText(this.path('net', table));
  }
}
