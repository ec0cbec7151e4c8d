// The view store without a terminal: records -> model, keys -> view state and effects, bounded buffers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initialState, viewModel, type State, type DashboardEvent } from '../../src/tui/state.js';
import { reduce } from '../../src/tui/store.js';
import { LIMITS } from '../../src/view/model.js';
import { fdRows, originText, processRows, transferRows } from '../../src/tui/panels.js';
import { renderScreen } from '../../src/tui/screen.js';
import type { FdwatchRecord } from '../../src/model/records.js';
import { alert, fd, map, proc, seedRecords, transfer } from './records.js';

function feed(s: State, rs: FdwatchRecord[]): State {
  for (const r of rs) reduce(s, { type: 'record', record: r });
  return s;
}

function keys(s: State, ...ks: string[]): State {
  for (const k of ks) reduce(s, { type: 'key', key: k });
  return s;
}

test('the seed trace: two processes, parent and child, one delivered transfer with both ends', () => {
  const s = feed(initialState({ now: 1000 }), seedRecords());
  const m = s.model;
  assert.is(m.processes.size, 2);
  const [parent, child] = [...m.processes.values()];
  assert.is(child!.ppid, parent!.pid);
  assert.ok(parent!.exited && child!.exited);
  assert.is(m.counts.delivered, 1);
  assert.is(parent!.sent, 1);
  assert.is(child!.received, 1);
  const t = m.transfers.last()!.rec;
  assert.equal([t.from.fd, t.to?.fd, t.target], [3, 4, '/etc/hostname']);
  assert.ok(m.summary?.cleanEnd);
});

test('origins: opened, inherited from the parent, received from comm[pid] fd N, taken via pidfd_getfd', () => {
  const recs = seedRecords();
  const upTo = recs.findIndex((r) => r.type === 'transfer');
  const s = feed(initialState({ now: 1000 }), recs.slice(0, upTo + 1));
  const [parent, child] = [...s.model.processes.values()];
  assert.is(originText(parent!.fds.get(3)!.origin, true), 'opened (openat)');
  assert.is(originText(child!.fds.get(5)!.origin, true), `inherited from ${parent!.pid}`);
  assert.is(originText(child!.fds.get(4)!.origin, true), `received from seed[${parent!.pid}] fd 3`);
  assert.ok(child!.fds.get(4)!.transferred);
  feed(s, [proc(3086, 'attach', { comm: 'nscd' }), proc(3100, 'attach'), fd(3100, 7, 'take', '/var/cache/nscd/passwd', { fromPid: 3086, fromFd: 5 })]);
  assert.is(originText(s.model.processes.get(3100)!.fds.get(7)!.origin, true), 'taken via pidfd_getfd from nscd[3086] fd 5');
});

test('an in-flight transfer resolved later updates its row instead of adding one', () => {
  const s = initialState();
  feed(s, [transfer([10, 3, 'a'], null, '/x', { line: 7 })]);
  assert.is(s.model.counts.inFlight, 1);
  feed(s, [transfer([10, 3, 'a'], [11, 4, 'b'], '/x', { line: 7 })]);
  assert.is(s.model.transfers.length, 1);
  assert.equal([s.model.counts.inFlight, s.model.counts.delivered, s.model.counts.fdsSent], [0, 1, 1]);
});

test('exec starts a new address space; exit keeps the fds at exit; a reused pid starts afresh', () => {
  const s = feed(initialState(), [proc(5, 'attach'), fd(5, 3, 'open', '/a'), map(5, '0x1000', '/a'), proc(5, 'exec', { path: '/bin/x' })]);
  const p = s.model.processes.get(5)!;
  assert.is(p.maps.length, 0);
  feed(s, [proc(5, 'exit', { exitCode: 3 })]);
  assert.ok(p.exited);
  assert.is(p.fds.size, 1);
  feed(s, [proc(5, 'fork', { ppid: 1 })]);
  const q = s.model.processes.get(5)!;
  assert.is.not(q, p);
  assert.is(q.exited, false);
  assert.is(q.fds.size, 0);
});

test('filter: / opens the prompt, typing filters as you type, Enter keeps it, Escape in the prompt restores', () => {
  const s = feed(initialState(), [proc(1, 'attach', { comm: 'nscd' }), proc(2, 'attach', { comm: 'getent' }), fd(2, 4, 'open', '/var/cache/nscd/passwd')]);
  keys(s, '/', 'g', 'e', 't');
  assert.ok(s.editing);
  assert.equal(processRows(s).map((r) => r.key), [2]);
  keys(s, 'enter');
  assert.is(s.editing, null);
  assert.is(s.filter, 'get');
  keys(s, '/', 'backspace', 'backspace', 'backspace', '1', 'escape');
  assert.is(s.filter, 'get');
  // by path: the process shows, and only the matching fds
  keys(s, '/', 'C-u', 'p', 'a', 's', 's', 'w', 'd', 'enter');
  assert.equal(processRows(s).map((r) => r.key), [2]);
  keys(s, 'escape');
  assert.is(s.filter, '');
  assert.is(processRows(s).length, 2);
});

test('p freezes the view while records keep coming; p again shows them', () => {
  const s = feed(initialState(), [proc(1, 'attach')]);
  keys(s, 'p');
  assert.ok(s.paused);
  feed(s, [proc(2, 'attach'), proc(3, 'attach')]);
  assert.is(viewModel(s).processes.size, 1);
  assert.is(s.model.processes.size, 3);
  assert.is(s.pendingWhilePaused, 2);
  keys(s, 'p');
  assert.is(viewModel(s).processes.size, 3);
});

test('f follows the newest process and transfer; moving by hand stops following', () => {
  const s = feed(initialState(), [proc(1, 'attach'), proc(2, 'fork', { ppid: 1 })]);
  assert.is(s.sel.pid, 2);
  keys(s, 'up');
  assert.is(s.sel.pid, 1);
  assert.is(s.following, false);
  feed(s, [proc(3, 'fork', { ppid: 1 })]);
  assert.is(s.sel.pid, 1);
  keys(s, 'f');
  assert.is(s.sel.pid, 3);
  assert.ok(s.following);
});

test('selecting a transfer shows both processes\' fds, the moved fd marked at each end', () => {
  const s = feed(initialState(), [
    proc(1, 'attach', { comm: 'nscd' }), proc(2, 'attach', { comm: 'getent', uid: 65534 }),
    fd(1, 5, 'open', '/var/cache/nscd/passwd'), fd(1, 6, 'open', '/etc/passwd'),
    fd(2, 4, 'receive', '/var/cache/nscd/passwd', { fromPid: 1, fromFd: 5 }),
    transfer([1, 5, 'nscd'], [2, 4, 'getent'], '/var/cache/nscd/passwd'),
  ]);
  keys(s, 'tab', 'tab');
  assert.is(s.focus, 'transfers');
  keys(s, 'end');
  assert.is(s.fdView, 'transfer');
  const rows = fdRows(s);
  const marked = rows.filter((r) => r.style === 'mark').map((r) => r.key);
  assert.equal(marked, ['1:5', '2:4']);
  assert.ok(rows.some((r) => r.cells.join(' ').includes('sender nscd[1]')));
  assert.ok(rows.some((r) => r.cells.join(' ').includes('receiver getent[2]')));
  assert.ok(transferRows(s)[0]!.cells.join(' ').includes('(uid 0 \u2192 65534)'));
});

test('keys become effects for the app: q quits once, e exports, replay keys only in a replay', () => {
  const s = initialState();
  keys(s, 'e', ' ', '.', 'q', 'q');
  assert.equal(s.effects, [{ kind: 'export' }, { kind: 'quit' }]);
  const r = initialState({ replay: true });
  reduce(r, { type: 'replay', replay: { position: 0, total: 5, playing: true, speed: 1, done: false } });
  keys(r, ' ', '.', '+', '-', 'C-c');
  assert.equal(r.effects.map((e) => (e.kind === 'replay' ? e.op : e.kind)), ['toggle', 'step', 'faster', 'slower', 'quit']);
  assert.ok(r.quitting);
});

test('? opens the key help and Enter the details of the selected row; Escape closes', () => {
  const s = feed(initialState(), [proc(7, 'attach', { comm: 'x' })]);
  keys(s, '?');
  assert.is(s.overlay?.kind, 'help');
  assert.ok(s.overlay!.lines.some((l) => l.includes('pause')));
  keys(s, 'escape', 'enter');
  assert.is(s.overlay?.kind, 'details');
  assert.ok(s.overlay!.lines.some((l) => l.includes('pid 7')));
  keys(s, 'escape');
  assert.is(s.overlay, null);
});

test('a click selects the row drawn under the pointer and focuses its panel', () => {
  const s = feed(initialState({ cols: 80, rows: 24 }), [proc(1, 'attach'), proc(2, 'fork', { ppid: 1 }), proc(3, 'fork', { ppid: 1 })]);
  renderScreen(s);
  // title bar at y 0, panel title at 1, column header at 2, rows from 3
  reduce(s, { type: 'mouse', action: 'click', x: 3, y: 3 });
  assert.is(s.sel.pid, 1);
  reduce(s, { type: 'mouse', action: 'click', x: 60, y: 15 }); // in the transfers panel (y 12-18 at 80x24)
  assert.is(s.focus, 'transfers');
});

test('1M events keep every buffer bounded', () => {
  const s = initialState({ now: 1 });
  const ev: DashboardEvent = { type: 'record', record: proc(1, 'attach') };
  let pid = 100;
  for (let i = 0; i < 1_000_000; i++) {
    let r: FdwatchRecord;
    switch (i % 10) {
      case 0: pid++; r = proc(pid, 'fork', { ppid: 1 }); break;
      case 1: case 2: r = fd(pid, 3 + (i % 7), 'open', `/tmp/f${i}`, { tid: pid * 10 + (i % 300) }); break;
      case 3: r = fd(pid, 3 + (i % 7), 'close', `/tmp/f${i}`); break;
      case 4: r = transfer([pid, 3, 'a'], i % 20 === 4 ? null : [1, 9, 'b'], '/x', { line: i }); break;
      case 5: r = map(1, '0x' + i.toString(16), '/m'); break;
      case 6: r = alert(pid, 'm'); break;
      case 7: r = fd(1, i, 'open', '/leak'); break; // one process that never closes
      case 8: r = fd(i, 3, 'seen', 'fd:3'); break; // processes known only from fd records
      default: r = proc(pid, 'exit', { exitCode: 0 }); break;
    }
    (ev as { record: FdwatchRecord }).record = r;
    reduce(s, ev);
  }
  const m = s.model;
  assert.ok(m.processes.size <= LIMITS.processes, `processes ${m.processes.size}`);
  assert.ok(m.transfers.length <= LIMITS.transfers);
  assert.ok(m.alerts.length <= LIMITS.alerts);
  assert.ok(m.inFlight.size <= LIMITS.transfers);
  for (const p of m.processes.values()) {
    assert.ok(p.fds.size <= LIMITS.fdsPerProcess);
    assert.ok(p.maps.length <= LIMITS.mapsPerProcess);
    assert.ok(p.tids.length <= LIMITS.threadsPerProcess);
    assert.ok(p.closed.length <= LIMITS.closedPerProcess);
  }
  assert.ok(m.processes.get(1)!.fdsDropped > 0);
  assert.is(m.counts.records, 1_000_000);
});

test.run();
