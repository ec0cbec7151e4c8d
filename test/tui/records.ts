// Record builders for the dashboard tests (not a test file).
import fs from 'node:fs';
import path from 'node:path';
import { SCHEMA_VERSION, type AlertRecord, type FdRecord, type FdwatchRecord, type MapRecord, type ProcessRecord, type TransferRecord } from '../../src/model/records.js';
import { runTrace } from '../helpers.js';
import { root } from '../paths.js';

export function seedRecords(): FdwatchRecord[] {
  return runTrace(fs.readFileSync(path.join(root, 'fixtures', 'traces', 'seed', 'f-yy.log'), 'latin1')).records;
}

export function proc(pid: number, event: ProcessRecord['event'], extra: Partial<ProcessRecord> = {}): ProcessRecord {
  return { v: SCHEMA_VERSION, type: 'process', ts: null, pid, ppid: null, comm: 'p' + pid, uid: 0, event, ...extra };
}

export function fd(pid: number, n: number, op: FdRecord['op'], target: string, extra: Partial<FdRecord> = {}): FdRecord {
  return { v: SCHEMA_VERSION, type: 'fd', ts: null, pid, fd: n, op, target, kind: 'file', cloexec: false, syscall: 'openat', ...extra };
}

export function transfer(from: [number, number, string], to: [number, number, string] | null, target: string, extra: Partial<TransferRecord> = {}): TransferRecord {
  return {
    v: SCHEMA_VERSION, type: 'transfer', ts: null, via: 'SCM_RIGHTS', state: to ? 'delivered' : 'in-flight',
    from: { pid: from[0], tid: from[0], comm: from[2], uid: 0, fd: from[1], socket: 'UNIX-STREAM:[1->2]' },
    to: to ? { pid: to[0], tid: to[0], comm: to[2], uid: 65534, fd: to[1], socket: 'UNIX-STREAM:[2->1]' } : null,
    target, kind: 'file', sentTs: null, receivedTs: null, ...extra,
  };
}

export function map(pid: number, start: string, p: string, extra: Partial<MapRecord> = {}): MapRecord {
  return { v: SCHEMA_VERSION, type: 'map', ts: null, pid, start, end: '0x7f0000010000', perms: 'r--s', offset: '0x0', path: p, fd: 4, ...extra };
}

export function alert(pid: number, message: string): AlertRecord {
  return { v: SCHEMA_VERSION, type: 'alert', ts: null, kind: 'ctrunc-lost', pid, fd: 5, message };
}
