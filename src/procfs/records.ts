// Turns a Snapshot into the JSON contract: per process one `process` record (event "snapshot"),
// its `fd` records (op "snapshot") and its file-backed `map` records.

import { SCHEMA_VERSION, type FdRecord, type FdwatchRecord, type MapRecord, type ProcessRecord } from '../model/records.js';
import type { FdSnapshot, ProcessSnapshot, Snapshot } from './snapshot.js';

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
