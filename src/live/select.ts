// Choosing processes as pgrep and lsof do (I/O edge, /proc only): by comm (`pgrep -x`), by a file or socket path
// they hold (`lsof PATH`), by a TCP/UDP port (`lsof -i :PORT`), and with their existing descendants (--tree).
import fs from 'node:fs';
import { ProcReader } from '../procfs/reader.js';
import { parseNetInet, parseNetUnix, type InetProtocol } from '../procfs/net.js';
import { LiveError } from '../model/errors.js';

export interface Selection {
  /** process ids given as such */
  pids: number[];
  /** comms, matched exactly as `pgrep -x` does */
  names: string[];
  /** files or unix socket paths held */
  paths: string[];
  /** TCP/UDP ports held (local side) */
  ports: number[];
  /** also every existing descendant of what was chosen */
  tree: boolean;
}

export interface Chosen {
  pids: number[];
  /** one line per process chosen, and why: what fdwatch prints when it starts */
  lines: string[];
}

const proc = new ProcReader('/proc');

function commOf(pid: number): string | null {
  try { return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trimEnd(); } catch { return null; }
}

/** Thread-group leaders only: /proc lists processes, each thread's ppid is its process's. */
function processes(): number[] {
  return proc.listPids().filter((p) => p !== process.pid);
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tids: number[];
  try { tids = proc.listTasks(pid); } catch { return out; }
  for (const t of tids) {
    try {
      for (const c of fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch { /* thread gone */ }
  }
  return out;
}

/** Socket inodes bound to `path` (unix) from /proc/net/unix. */
function unixInodes(path: string): Set<number> {
  const out = new Set<number>();
  try { for (const e of parseNetUnix(proc.netText('unix')).values()) if (e.path === path) out.add(e.inode); } catch { /* no table */ }
  return out;
}

/** Socket inodes whose local port is `port`, from /proc/net/{tcp,tcp6,udp,udp6}. */
function portInodes(port: number): Set<number> {
  const out = new Set<number>();
  const tables: Array<['tcp' | 'tcp6' | 'udp' | 'udp6', InetProtocol]> = [['tcp', 'TCP'], ['tcp6', 'TCPv6'], ['udp', 'UDP'], ['udp6', 'UDPv6']];
  for (const [t, p] of tables) {
    let text: string;
    try { text = proc.netText(t); } catch { continue; }
    for (const e of parseNetInet(text, p).values()) if (Number(e.local.slice(e.local.lastIndexOf(':') + 1)) === port && e.inode > 0) out.add(e.inode);
  }
  return out;
}

/** Processes holding an fd whose link is one of `links`. */
function holders(links: Set<string>): number[] {
  const out: number[] = [];
  for (const pid of processes()) {
    let fds: number[];
    try { fds = proc.listFds(pid); } catch { continue; }
    for (const fd of fds) {
      let l: string;
      try { l = proc.fdLink(pid, fd); } catch { continue; }
      if (links.has(l)) { out.push(pid); break; }
    }
  }
  return out;
}

/** What the user chose, resolved to process ids; a choice that matches nothing is an error naming it. */
export function choose(sel: Selection): Chosen {
  const why = new Map<number, string>();
  const add = (pid: number, reason: string): void => { if (!why.has(pid)) why.set(pid, reason); };
  for (const p of sel.pids) add(p, 'given');
  for (const name of sel.names) {
    const found = processes().filter((p) => commOf(p) === name);
    if (found.length === 0) throw new LiveError(`no process named ${name} (matched as pgrep -x matches comm)`);
    for (const p of found) add(p, `named ${name}`);
  }
  for (const path of sel.paths) {
    let real = path;
    try { real = fs.realpathSync(path); } catch { /* a socket path that is gone still names its holders */ }
    const links = new Set([real, path]);
    for (const i of unixInodes(real)) links.add(`socket:[${i}]`);
    for (const i of unixInodes(path)) links.add(`socket:[${i}]`);
    const found = holders(links);
    if (found.length === 0) throw new LiveError(`no process holds ${path}`);
    for (const p of found) add(p, `holds ${path}`);
  }
  for (const port of sel.ports) {
    const links = new Set([...portInodes(port)].map((i) => `socket:[${i}]`));
    const found = links.size > 0 ? holders(links) : [];
    if (found.length === 0) throw new LiveError(`no process holds port ${port}`);
    for (const p of found) add(p, `holds port ${port}`);
  }
  if (sel.tree) {
    const todo = [...why.keys()];
    while (todo.length > 0) {
      const p = todo.pop()!;
      for (const c of childrenOf(p)) if (!why.has(c)) { why.set(c, `child of ${p}`); todo.push(c); }
    }
  }
  const pids = [...why.keys()];
  const lines = sel.names.length + sel.paths.length + sel.ports.length > 0 || sel.tree
    ? pids.map((p) => `tracing ${p} (${commOf(p) ?? '?'}): ${why.get(p)}`)
    : [];
  return { pids, lines };
}
