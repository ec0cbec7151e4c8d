// Turns a Snapshot into the JSON contract: per process one `process` record (event "snapshot"),
// its `fd` records (op "snapshot") and its file-backed `map` records.

import { SCHEMA_VERSION, type FdRecord, type FdwatchRecord, type MapRecord, type ProcessRecord } from '../model/records.js';
import type { FdSnapshot, ProcessSnapshot, Snapshot } from './snapshot.js';
import { num, plainQuoted } from '../model/json.js';

export function processRecord(p: ProcessSnapshot, ts: number): ProcessRecord {
  const r: ProcessRecord = { v: SCHEMA_VERSION, type: 'process', ts, pid: p.pid, ppid: p.ppid, comm: p.comm, uid: p.uid, event: 'snapshot' };
  if (p.notes.length > 0) r.note = p.notes.join('; ');
  return r;
}

export function fdRecord(p: ProcessSnapshot, f: FdSnapshot, ts: number): FdRecord {
  return {
    v: SCHEMA_VERSION,
    type: 'fd',
    ts,
    pid: p.pid,
    fd: f.fd,
    op: 'snapshot',
    target: f.target,
    kind: f.kind,
    cloexec: f.cloexec,
    syscall: null,
    // fdinfo pos is 64-bit; a number is exact up to 2^53, far beyond any real file position
    pos: f.info ? Number(f.info.pos) : null,
    flags: f.info ? f.info.flagsText : null,
    ofd: f.ofd,
    socket: f.socket
      ? {
          inode: f.socket.inode,
          peer: f.socket.peer,
          // the socket's own name, else the name of the socket it is connected to (a client of /run/x.sock)
          path: f.socket.name ?? f.socket.peerName,
          peerOwners: f.socket.peerOwners.map((o) => ({ pid: o.pid, fd: o.fd, comm: o.comm })),
        }
      : null,
    inFlight: f.inFlight,
  };
}

export function mapRecords(p: ProcessSnapshot, ts: number): MapRecord[] {
  return p.maps.map((m) => ({
    v: SCHEMA_VERSION,
    type: 'map',
    ts,
    pid: p.pid,
    start: hex(m.start),
    end: hex(m.end),
    perms: m.perms,
    offset: hex(m.offset),
    path: m.path.type === 'path' ? m.path.path + (m.path.deleted ? ' (deleted)' : '') : null,
    dev: m.dev,
    inode: Number(m.inode),
  }));
}

export function snapshotRecords(snap: Snapshot): FdwatchRecord[] {
  const out: FdwatchRecord[] = [];
  eachSnapshotRecord(snap, (r) => out.push(r));
  return out;
}

/**
 * The records of snapshotRecords, one at a time: a writer that drops each after writing it keeps them young
 * (a whole-machine snapshot is ~30k records; held all at once, every scavenge copies them).
 */
export function eachSnapshotRecord(snap: Snapshot, sink: (r: FdwatchRecord) => void): void {
  for (const p of snap.processes) {
    sink(processRecord(p, snap.ts));
    for (const f of p.fds) sink(fdRecord(p, f, snap.ts));
    for (const m of mapRecords(p, snap.ts)) sink(m);
  }
}

/** The contract's 64-bit hex: 0x-prefixed, lower case, no padding (as the tracer writes it). */
function hex(v: bigint): string {
  return '0x' + v.toString(16);
}

/**
 * The NDJSON lines of eachSnapshotRecord, written by hand: byte for byte `JSON.stringify` of each record (the
 * same keys in the same order), without the record objects, their nested socket objects and the generic
 * stringifier's walk (~16k instructions a record on a whole-machine scan). `line` gets one line, no newline.
 */
export function eachSnapshotLine(snap: Snapshot, line: (text: string) => void): void {
  const ts = JSON.stringify(snap.ts);
  const head = '{"v":' + SCHEMA_VERSION + ',"type":';
  for (const p of snap.processes) {
    const pid = num(p.pid);
    let s = head + '"process","ts":' + ts + ',"pid":' + pid + ',"ppid":' + num(p.ppid) + ',"comm":' + str(p.comm) + ',"uid":' + num(p.uid) + ',"event":"snapshot"';
    if (p.notes.length > 0) s += ',"note":' + str(p.notes.join('; '));
    line(s + '}');
    const fdHead = head + '"fd","ts":' + ts + ',"pid":' + pid + ',"fd":';
    for (const f of p.fds) line(fdLine(fdHead, f));
    const mapHead = head + '"map","ts":' + ts + ',"pid":' + pid + ',"start":"0x';
    for (const m of p.maps) {
      const path = m.path.type === 'path' ? str(m.path.deleted ? m.path.path + ' (deleted)' : m.path.path) : 'null';
      line(mapHead + m.start.toString(16) + '","end":"0x' + m.end.toString(16) + '","perms":' + str(m.perms) + ',"offset":"0x' + m.offset.toString(16) +
        '","path":' + path + ',"dev":' + str(m.dev) + ',"inode":' + num(Number(m.inode)) + '}');
    }
  }
}

// The middle of an fd line repeats: one text per (kind, cloexec) and one quoted text per flags value, made once.
const kindTexts = new Map<string, string>();
const quotedFlags = new Map<string, string>();

/** `,"kind":K,"cloexec":C,"syscall":null,"pos":` */
function kindText(kind: string, cloexec: boolean | null): string {
  const key = kind + (cloexec === null ? '' : cloexec ? '1' : '0');
  let t = kindTexts.get(key);
  if (t === undefined) kindTexts.set(key, (t = ',"kind":' + str(kind) + ',"cloexec":' + cloexec + ',"syscall":null,"pos":'));
  return t;
}

function flagsText(text: string): string {
  let t = quotedFlags.get(text);
  if (t === undefined) quotedFlags.set(text, (t = ',"flags":' + str(text) + ',"ofd":'));
  return t;
}

/** fdRecord's JSON text after `head` (`{"v":1,"type":"fd","ts":T,"pid":P,"fd":`). */
function fdLine(head: string, f: FdSnapshot): string {
  const i = f.info;
  let s = head + num(f.fd) + ',"op":"snapshot","target":' + str(f.target) + kindText(f.kind, f.cloexec) +
    (i ? num(Number(i.pos)) + flagsText(i.flagsText) : 'null,"flags":null,"ofd":') + str(f.ofd) + ',"socket":';
  const k = f.socket;
  if (k) {
    s += '{"inode":' + num(k.inode) + ',"peer":' + num(k.peer) + ',"path":' + str(k.name ?? k.peerName) + ',"peerOwners":[';
    const o = k.peerOwners;
    for (let j = 0; j < o.length; j++) s += (j > 0 ? ',{"pid":' : '{"pid":') + num(o[j]!.pid) + ',"fd":' + num(o[j]!.fd) + ',"comm":' + str(o[j]!.comm) + '}';
    s += ']}';
  } else s += 'null';
  return s + ',"inFlight":' + num(f.inFlight) + '}';
}

/** A string as JSON.stringify quotes it. */
function str(s: string | null): string {
  return s === null ? 'null' : plainQuoted(s) ?? JSON.stringify(s);
}
