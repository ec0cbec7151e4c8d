// `fdwatch snapshot [pids..] [--json FILE|-] [--diff OLD]`: what processes hold right now, from /proc (+ kcmp,
// sock_diag), or what changed since an earlier `snapshot --json` file.
// Text mode prints one table per process, then shared open file descriptions, in-flight fds and file
// mappings; every string that came from another process goes through escapeControl.

import { commPid } from '../model/names.js';
import { escapeControl } from '../model/escape.js';
import type { FdwatchRecord } from '../model/records.js';
import { YOUNG_INTERRUPT_BUDGET } from '../model/v8-young.js';
import fs from 'node:fs';
import v8 from 'node:v8';
import type { SnapshotState } from '../export/diff.js';
import { errnoText, guardStream, isClosedPipe } from './output.js';
import { writeAll } from '../export/write-all.js';
import { describeOpenFlags } from '../procfs/fdinfo.js';
import { hex64 } from '../procfs/maps.js';
import { eachSnapshotLine, snapshotRecords } from '../procfs/records.js';
import { snapshotProcesses, type FdSnapshot, type PeerOwner, type ProcessSnapshot, type Snapshot } from '../procfs/snapshot.js';

export interface SnapshotCliOptions {
  pids: number[];
  /** NDJSON output path, or '-' for `out` */
  json: string | null;
  /** an earlier `snapshot --json` file: print what changed since (fds opened, closed, changed; the growth) */
  diff?: string | null;
  /** default /proc */
  procRoot?: string;
  /** default process.stdout */
  out?: NodeJS.WritableStream;
  /** default process.stderr */
  err?: NodeJS.WritableStream;
}

/**
 * V8 settings for the snapshot command, a run of about a second that allocates many short-lived objects (per fd
 * its fdinfo, link and record text) and exits:
 * - the young generation grows 16x, not 2x, once enough has survived its scavenges (up to V8's 16 MiB cap on a
 *   semi-space): a whole-machine scan scavenged every 1 MiB for most of its run;
 * - TurboFan's budget for inlining into one optimised function at 200 bytes of bytecode, not 920, as a short
 *   replay has it (replay.ts): big inlined graphs compiled for loops that end soon after;
 * - the interrupt budget at 300000, not 67584, as live sessions and short replays have it: fewer functions
 *   compiled for the little they still run (100 holders of 110 fds, 12 runs: 189 -> 166 ms of user CPU, the same
 *   wall time).
 * Callgrind of `snapshot --json /dev/null` with 100 holders of 110 fds: 1.82 G -> 1.51 G instructions (on the
 * command line, the first two); peak RSS in docs/snapshot.md. Flags set here are read by each later compile and resize.
 */
export const SNAPSHOT_V8_FLAGS = `--semi-space-growth-factor=16 --max-inlined-bytecode-size-cumulative=200 ${YOUNG_INTERRUPT_BUDGET}`;

export async function runSnapshot(opts: SnapshotCliOptions): Promise<number> {
  if (process.env['FDWATCH_SNAPSHOT_V8'] !== 'default') v8.setFlagsFromString(SNAPSHOT_V8_FLAGS);
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const fail = (msg: string): number => {
    err.write(`fdwatch: ${escapeControl(msg)}\n`);
    return 1;
  };
  const diff = opts.diff ?? null;
  let old: SnapshotState | null = null;
  // loaded only for --diff: a plain snapshot spends its start-up on nothing else
  const d = diff !== null ? await import('../export/diff.js') : null;
  if (diff !== null) {
    const read = readOld(d!.snapshotState, diff, opts.pids.length > 0 ? new Set(opts.pids) : null);
    if (typeof read === 'string') return fail(read);
    old = read;
  }
  let snap: Snapshot;
  try {
    snap = snapshotProcesses(opts.procRoot ?? '/proc', opts.pids.length > 0 ? opts.pids : 'all');
  } catch (e) {
    return fail(`snapshot failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  // a diff names a process of the old snapshot that is gone; a pid in neither is an error as without --diff
  const missing = snap.notFound.filter((pid) => !old?.processes.has(pid));
  if (missing.length > 0) {
    return fail(`no such process: ${missing.join(', ')}`);
  }
  const toOut = opts.json === null || opts.json === '-';
  // a reader that closes the pipe (`| head -1`) has read enough: a normal end, as for any Unix filter
  const guard = toOut ? guardStream(out) : null;
  try {
    if (old !== null) {
      const changes = d!.diffSnapshots(old, d!.snapshotState(snapshotRecords(snap)));
      if (opts.json !== null) {
        const records = d!.diffRecords(changes);
        writeLines((line) => records.forEach((r) => line(JSON.stringify(r))), opts.json, out, () => guard?.failed() != null);
      } else out.write(d!.renderDiffText(changes, diff!));
    } else if (opts.json !== null) writeLines((line) => eachSnapshotLine(snap, line), opts.json, out, () => guard?.failed() != null);
    else out.write(renderSnapshotText(snap));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    const why = code === 'ENOENT' ? 'no such directory' : errnoText(e);
    return fail(`cannot write ${opts.json ?? 'output'}: ${why}`);
  }
  if (guard) {
    await guard.settled();
    const e = guard.failed();
    if (e && !isClosedPipe(e)) return fail(`cannot write stdout: ${errnoText(e)}`);
  }
  return 0;
}

/** The old snapshot of `--diff`, or the one line that says what is wrong with the file. */
function readOld(snapshotState: typeof import('../export/diff.js').snapshotState, file: string, pids: ReadonlySet<number> | null): SnapshotState | string {
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    return `--diff: cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : errnoText(e)}`;
  }
  const records: FdwatchRecord[] = [];
  let n = 0;
  for (const line of text.split('\n')) {
    n++;
    if (line.trim() === '') continue;
    let r: unknown;
    try { r = JSON.parse(line); } catch { return `--diff: ${file} line ${n} is not JSON: give a file written by fdwatch snapshot --json`; }
    if (typeof r !== 'object' || r === null || (r as { v?: unknown }).v !== 1 || typeof (r as { type?: unknown }).type !== 'string') {
      return `--diff: ${file} line ${n} is not an fdwatch v1 record: give a file written by fdwatch snapshot --json`;
    }
    records.push(r as FdwatchRecord);
  }
  const st = snapshotState(records, pids);
  if (st.processes.size === 0) {
    const which = pids ? ` of process ${[...pids].join(', ')}` : '';
    return `--diff: ${file} holds no snapshot records${which}: give a file written by fdwatch snapshot --json`;
  }
  return st;
}

/** Lines joined per this many UTF-16 units: one write per line is slow, one giant string can be hundreds of MB. */
const CHUNK = 1 << 16;

/** Writes the NDJSON lines `each` produces to `target` ('-': the stream `out`), a write per ~64k characters. */
function writeLines(each: (line: (text: string) => void) => void, target: string, out: NodeJS.WritableStream, failed: () => boolean): void {
  const fd = target === '-' ? -1 : fs.openSync(target, 'w');
  let chunk = '';
  const put = (text: string): void => {
    if (fd < 0) {
      if (!failed()) out.write(text);
      return;
    }
    writeAll(fd, Buffer.from(text, 'utf8'));
  };
  try {
    each((line) => {
      chunk += line + '\n';
      if (chunk.length >= CHUNK) {
        put(chunk);
        chunk = '';
      }
    });
    if (chunk.length > 0) put(chunk);
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

const who = (o: { pid: number; comm: string | null }): string => escapeControl(commPid(o.comm, o.pid));

const flagText = new Map<number, string>();

/** "RDWR|CLOEXEC": open flags without the O_ prefix and without LARGEFILE, which the kernel sets on every 64-bit open. */
export function shortFlags(flags: number): string {
  let t = flagText.get(flags);
  if (t === undefined) {
    t = describeOpenFlags(flags)
      .split('|')
      .filter((f) => f !== 'O_LARGEFILE')
      .map((f) => f.replace(/^O_/, ''))
      .join('|');
    flagText.set(flags, t);
  }
  return t;
}

function owners(list: PeerOwner[]): string {
  return list.map((o) => `${who(o)} fd ${o.fd}`).join(', ');
}

/** The TARGET column: what the fd refers to, with socket peers and per-type details. */
export function describeFd(f: FdSnapshot): string {
  const s = f.socket;
  if (s) {
    let text: string;
    if (s.protocol === null) {
      text = `socket ino ${s.inode}`;
    } else if (s.protocol.startsWith('UNIX')) {
      text = `${s.protocol} ino ${s.inode}`;
      if (s.peer !== null) text += ` -> ${s.peer}` + (s.peerOwners.length > 0 ? ` ${owners(s.peerOwners)}` : '');
      const name = s.name ?? s.peerName;
      if (name !== null) text += ` "${escapeControl(name)}"`;
      if (s.listening) text += ' listening';
    } else {
      text = `${s.protocol} ${s.local ?? '?'}` + (s.remote ? ` -> ${s.remote}` : s.listening ? ' listening' : '');
      // a loopback connection: the other end's holders, as ss -tp names them
      if (s.peer !== null && s.peerOwners.length > 0) text += ` ${owners(s.peerOwners)}`;
    }
    if (f.inFlight) text += `  in-flight ${f.inFlight}`;
    return text;
  }
  let text = escapeControl(f.target);
  const i = f.info;
  if (i?.eventfd) text += ` count ${i.eventfd.count}`;
  if (i?.pidfd) text += ` pid ${i.pidfd.pid}`;
  if (i?.epoll) text += ` watching fd ${i.epoll.map((t) => t.tfd).join(',')}`;
  if (i?.inotify) text += ` ${i.inotify.length} watch${i.inotify.length === 1 ? '' : 'es'}`;
  if (i?.timerfd) text += ` clock ${i.timerfd.clockid}`;
  if (i?.signalfd) text += ` sigmask 0x${i.signalfd.sigmask.toString(16)}`;
  return text;
}

function typeOf(f: FdSnapshot): string {
  if (f.socket?.protocol) return f.socket.protocol;
  if (f.link.type === 'anon') return f.link.name;
  if (f.link.type === 'deleted') return `${f.kind}(deleted)`;
  return f.kind;
}

function table(rows: string[][], indent: string, rightAligned: Set<number>): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map(
    (r) =>
      indent +
      r
        .map((c, i) => (i === r.length - 1 ? c : rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
  );
}

function renderProcess(p: ProcessSnapshot, shared: Set<string>): string[] {
  const head = [`PID ${p.pid} ${escapeControl(p.comm ?? '?')}`];
  if (p.uid !== null) head.push(`uid ${p.uid}`);
  if (p.ppid !== null) head.push(`ppid ${p.ppid}`);
  if (p.requestedTids.length > 0) head.push(`(asked for thread ${p.requestedTids.join(', ')})`);
  const lines = [head.join('  ')];
  const rows: string[][] = [['FD', 'TYPE', 'FLAGS', 'POS', 'OFD', 'TARGET']];
  for (const f of p.fds) {
    const flags = f.info ? shortFlags(f.info.flags) : f.cloexec ? 'CLOEXEC' : '?';
    rows.push([
      String(f.fd),
      typeOf(f),
      flags,
      f.info ? String(f.info.pos) : '?',
      // only worth a column when the description is shared with another fd
      f.ofd !== null && shared.has(f.ofd) ? f.ofd : '',
      describeFd(f),
    ]);
  }
  if (p.fds.length > 0) lines.push(...table(rows, '  ', new Set([0, 3])));
  else lines.push('  (no fds listed)');
  for (const n of p.notes) lines.push(`  note: ${n}`);
  return lines;
}

export function renderSnapshotText(snap: Snapshot): string {
  const lines: string[] = [];
  const shared = new Set(snap.ofdGroups.map((g) => g.id));
  let hidden = 0;
  for (const p of snap.processes) {
    // a whole-machine listing leaves out kernel threads and zombies: nothing to show but a name
    if (snap.all && p.fds.length === 0 && p.maps.length === 0 && p.notes.length === 0) {
      hidden++;
      continue;
    }
    lines.push(...renderProcess(p, shared), '');
  }

  lines.push('Open file descriptions shared across processes');
  const across = snap.ofdGroups.filter((g) => new Set(g.members.map((m) => m.pid)).size > 1);
  if (snap.native.kcmp !== 'ok') lines.push(`  (kcmp unavailable: ${snap.native.kcmp}; ${snap.stats.unverifiedFds} fds not verified)`);
  if (across.length === 0) lines.push('  (none)');
  for (const g of across) {
    lines.push(`  ofd ${g.id}  ${g.kind}  ${escapeControl(g.target)}`);
    lines.push(`    ${g.members.map((m) => `${who(m)} fd ${m.fd}`).join(', ')}`);
  }
  const within = snap.ofdGroups.length - across.length;
  if (within > 0) lines.push(`  (${within} more shared only between fds of one process: see the OFD column)`);
  lines.push('');

  lines.push(`In-flight fds (sent over a Unix socket, not yet received): ${snap.inFlightTotal}`);
  for (const p of snap.processes) {
    for (const f of p.fds) {
      if (f.inFlight) lines.push(`  ${who(p)} fd ${f.fd} ${escapeControl(f.target)}: ${f.inFlight}`);
    }
  }
  lines.push('');

  lines.push('File-backed mappings (s = MAP_SHARED)');
  let any = false;
  for (const p of snap.processes) {
    if (p.maps.length === 0) continue;
    any = true;
    lines.push(`  ${who(p)}`);
    const rows = p.maps.map((m) => [
      `${hex64(m.start)}-${hex64(m.end)}`,
      m.perms,
      hex64(m.offset),
      m.dev,
      String(m.inode),
      (m.path.type === 'path' ? escapeControl(m.path.path) + (m.path.deleted ? ' (deleted)' : '') : '') + (m.shared ? '  MAP_SHARED' : ''),
    ]);
    lines.push(...table(rows, '    ', new Set([4])));
  }
  if (!any) lines.push('  (none)');
  lines.push('');

  const tail: string[] = [];
  if (hidden > 0) tail.push(`${hidden} without fds or mappings (kernel threads, zombies) not shown`);
  if (snap.skipped.permissionDenied > 0) tail.push(`${snap.skipped.permissionDenied} processes not readable by this user`);
  if (snap.skipped.exited > 0) tail.push(`${snap.skipped.exited} exited during the scan`);
  if (snap.native.sockDiag !== 'ok') tail.push(`socket peers unavailable: ${snap.native.sockDiag}`);
  lines.push(
    `${snap.stats.processes} processes, ${snap.stats.fds} fds, ${snap.ofdGroups.length} shared open file descriptions` +
      (tail.length > 0 ? `; ${tail.join('; ')}` : ''),
  );
  return lines.join('\n') + '\n';
}
