// clock(): a record's time as line mode prints it, local HH:MM:SS.micro; the second is formatted once per second.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clock } from '../../src/export/text.js';

/** What clock() printed when it made a Date for every stamp. */
function byDate(ts: number): string {
  const d = new Date(ts * 1000);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const us = Math.round((ts % 1) * 1e6) % 1e6;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(us, 6)}`;
}

test('clock: as a Date of each stamp says, across seconds, minutes, back in time and at the edges of a second', () => {
  const base = 1796147965;
  const stamps: number[] = [];
  for (let i = 0; i < 5000; i++) stamps.push(base + i * 0.0137);
  for (let i = 0; i < 200; i++) stamps.push(base + 3600 - i * 0.731); // backwards, over an hour
  for (const s of [base, base + 0.000001, base + 0.999999, base + 0.9999996, base + 1, base - 0.000001, 0, 0.5, 59.999999, 86399.999999]) stamps.push(s);
  for (const ts of stamps) assert.is(clock(ts), byDate(ts), `ts ${ts}`);
  assert.is(clock(null), '-');
});

test.run();
