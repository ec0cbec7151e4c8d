// The selected transfer's fds (dashboard): each end shown as it was at the transfer, even when its fd number was
// closed and reused since (issue 11 item 5).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initialState, type State } from '../../src/tui/state.js';
import { reduce } from '../../src/tui/store.js';
import { fdRows } from '../../src/tui/panels.js';
import type { FdwatchRecord } from '../../src/model/records.js';
import { fd, proc, transfer } from '../tui/records.js';

function feed(s: State, rs: FdwatchRecord[]): State {
  for (const r of rs) reduce(s, { type: 'record', record: r });
  return s;
}

function selectLastTransfer(s: State): void {
  for (const k of ['tab', 'tab', 'end']) reduce(s, { type: 'key', key: k });
  assert.is(s.fdView, 'transfer');
}

const marked = (s: State): string[] => fdRows(s).filter((r) => r.style === 'mark').map((r) => r.cells.join(' '));

test('the sender fd was closed and its number reused for another file: the marked row is the sent file, not the new one', () => {
  const s = feed(initialState(), [
    proc(1, 'attach', { comm: 'demo' }), proc(2, 'fork', { ppid: 1, comm: 'demo' }),
    fd(1, 3, 'open', '/etc/hostname', { ts: 10 }),
    fd(2, 4, 'receive', '/etc/hostname', { fromPid: 1, fromFd: 3, ts: 11 }),
    transfer([1, 3, 'demo'], [2, 4, 'demo'], '/etc/hostname', { sentTs: 11, receivedTs: 11 }),
    fd(1, 3, 'close', '/etc/hostname', { ts: 12 }),
    fd(1, 3, 'open', '/etc/passwd', { ts: 13 }),
  ]);
  selectLastTransfer(s);
  const m = marked(s);
  assert.is(m.length, 2, m.join('\n'));
  assert.match(m[0]!, /3 .*\/etc\/hostname/);
  assert.not.match(m[0]!, /passwd/);
  assert.match(m[1]!, /4 .*\/etc\/hostname/);
});

test('the receiver fd number held an older file before: the closed older entry is not taken for the received one', () => {
  const s = feed(initialState(), [
    proc(1, 'attach', { comm: 'demo' }), proc(2, 'attach', { comm: 'peer' }),
    fd(1, 3, 'open', '/etc/hostname', { ts: 10 }),
    fd(2, 4, 'open', '/etc/motd', { ts: 10 }),
    fd(2, 4, 'close', '/etc/motd', { ts: 11 }),
    transfer([1, 3, 'demo'], [2, 4, 'peer'], '/etc/hostname', { sentTs: 12, receivedTs: 12 }),
  ]);
  selectLastTransfer(s);
  const m = marked(s);
  assert.is(m.length, 2, m.join('\n'));
  assert.match(m[1]!, /4 .*\/etc\/hostname/);
  assert.not.match(m[1]!, /motd/);
});

test('a socket that gained its address since it was opened: the fd table shows the address, and the transfer marks it', () => {
  const s = feed(initialState(), [
    proc(1, 'attach', { comm: 'node' }), proc(2, 'fork', { ppid: 1, comm: 'node' }),
    fd(1, 19, 'open', 'TCP:[12553]', { kind: 'socket', syscall: 'socket', ts: 10 }),
    fd(1, 19, 'seen', 'TCP:[127.0.0.1:45127]', { kind: 'socket', syscall: 'sendmsg', ts: 11 }),
    fd(2, 20, 'receive', 'TCP:[127.0.0.1:45127]', { kind: 'socket', fromPid: 1, fromFd: 19, ts: 11 }),
    transfer([1, 19, 'node'], [2, 20, 'node'], 'TCP:[127.0.0.1:45127]', { kind: 'socket', sentTs: 11, receivedTs: 11 }),
  ]);
  selectLastTransfer(s);
  const m = marked(s);
  assert.is(m.length, 2, m.join('\n'));
  assert.match(m[0]!, /19 .*TCP:\[127\.0\.0\.1:45127\]/);
  assert.not.match(m.join('\n'), /not open now|12553/);
});

test.run();
