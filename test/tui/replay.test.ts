// Replay timing and controls, with a fake clock.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReplayPlayer, playTimes, UNTIMED_RATE, MAX_GAP, type PlayerClock } from '../../src/tui/replay.js';
import type { FdwatchRecord } from '../../src/model/records.js';
import { proc } from './records.js';

function fakeClock(): PlayerClock & { advance(ms: number): void } {
  let now = 0;
  let timers: Array<{ at: number; fn: () => void; id: number }> = [];
  let ids = 0;
  return {
    now: () => now,
    setTimeout(fn, ms) { const id = ++ids; timers.push({ at: now + ms, fn, id }); return id; },
    clearTimeout(h) { timers = timers.filter((t) => t.id !== h); },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const t = timers[0];
        if (!t || t.at > end) break;
        timers.shift();
        now = t.at;
        t.fn();
      }
      now = end;
    },
  };
}

const untimed = (n: number): FdwatchRecord[] => Array.from({ length: n }, (_, i) => proc(i + 1, 'attach'));

test('no timestamps: 200 records a second at 1x', () => {
  const d = playTimes(untimed(401));
  assert.is(d[0], 0);
  assert.is(d[200], 200 / UNTIMED_RATE);
  assert.is(d[400], 2);
});

test('timestamps: played as recorded, idle gaps shortened, out-of-order times do not go back', () => {
  const ts = [100, 100.5, 110, 109, 110.25];
  const d = playTimes(ts.map((t, i) => ({ ...proc(i + 1, 'attach'), ts: t })));
  assert.equal([...d], [0, 0.5, 0.5 + MAX_GAP, 0.5 + MAX_GAP, 0.75 + MAX_GAP]);
});

test('player: plays on the clock, pauses, steps one record, changes speed, stops at the end', () => {
  const c = fakeClock();
  const got: number[] = [];
  const p = new ReplayPlayer(untimed(1000), (r) => got.push(r.type === 'process' ? r.pid : 0), c);
  p.play();
  c.advance(1000);
  assert.ok(got.length >= 195 && got.length <= 205, `1 s at 1x: ${got.length}`);
  p.toggle();
  const n = got.length;
  c.advance(1000);
  assert.is(got.length, n);
  p.step();
  assert.is(got.length, n + 1);
  assert.is(p.state().playing, false);
  p.faster();
  p.faster();
  assert.is(p.state().speed, 4);
  p.toggle();
  c.advance(250);
  assert.ok(got.length >= n + 195 && got.length <= n + 206, `250 ms at 4x: ${got.length - n}`);
  p.slower();
  p.slower();
  p.slower();
  assert.is(p.state().speed, 0.5);
  c.advance(60_000);
  assert.equal(p.state(), { position: 1000, total: 1000, playing: false, speed: 0.5, done: true });
  assert.equal(got, Array.from({ length: 1000 }, (_, i) => i + 1));
});

test.run();
