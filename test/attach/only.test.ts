// `--only`: which records line mode and JSON keep, by type, pid, comm and path (the summary always).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { recordFilter } from '../../src/cli/watch.js';
import type { FdwatchRecord } from '../../src/model/records.js';
import { alert, fd, map, proc, transfer } from '../tui/records.js';

const SUMMARY = { v: 1, type: 'summary', ts: null, lines: 0, events: 0, syscalls: 0, processes: 0, transfers: { delivered: 0, inFlight: 0, lost: 0 }, fdsSent: 0, fdsReceived: 0, parseErrors: 0, parseErrorSamples: [], alerts: 0, cleanEnd: true, opaqueMessages: 0 } as FdwatchRecord;

const STREAM: FdwatchRecord[] = [
  proc(1, 'attach', { comm: 'nginx' }), proc(2, 'attach', { comm: 'getent' }),
  fd(1, 3, 'open', '/etc/hostname'), fd(2, 4, 'open', '/etc/passwd'),
  transfer([1, 3, 'nginx'], [2, 5, 'getent'], '/etc/hostname'),
  map(2, '0x7f0000000000', '/etc/passwd'), alert(2, 'fd 5 (/etc/hostname) leaked'), SUMMARY,
];

const kept = (only: string[]): string[] => {
  const pass = recordFilter(only)!;
  return STREAM.filter(pass).map((r) => r.type + ('pid' in r ? `:${r.pid}` : ''));
};

test('--only by type keeps those and the summary', () => {
  assert.equal(kept(['transfer', 'alert']), ['transfer', 'alert:2', 'summary']);
  assert.is(recordFilter(null), null);
});

test('--only by comm (fd records name their process through its earlier process record), pid and path', () => {
  assert.equal(kept(['comm=nginx']), ['process:1', 'fd:1', 'transfer', 'summary']);
  assert.equal(kept(['fd', 'pid=2']), ['fd:2', 'summary']);
  assert.equal(kept(['path=passwd']), ['fd:2', 'map:2', 'summary']);
});

test.run();
