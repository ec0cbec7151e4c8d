import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ch, hexDigit, isHex, readEnd, readFraction, readHex, readUint, readUintBytes } from '../../src/model/chars.js';

test('every character code is its character', () => {
  const codes: Array<[number, string]> = [
    [Ch.Bell, '\x07'], [Ch.Backspace, '\b'], [Ch.Tab, '\t'], [Ch.LF, '\n'], [Ch.VT, '\v'], [Ch.FF, '\f'], [Ch.CR, '\r'],
    [Ch.Space, ' '], [Ch.Quote, '"'], [Ch.LParen, '('], [Ch.RParen, ')'], [Ch.Star, '*'], [Ch.Plus, '+'],
    [Ch.Comma, ','], [Ch.Minus, '-'], [Ch.Dot, '.'], [Ch.Slash, '/'], [Ch.D0, '0'], [Ch.D7, '7'], [Ch.D9, '9'],
    [Ch.Colon, ':'], [Ch.Lt, '<'], [Ch.Eq, '='], [Ch.Gt, '>'], [Ch.Question, '?'], [Ch.At, '@'], [Ch.A, 'A'],
    [Ch.D, 'D'], [Ch.E, 'E'], [Ch.X, 'X'], [Ch.Z, 'Z'], [Ch.LBracket, '['], [Ch.Backslash, '\\'],
    [Ch.RBracket, ']'], [Ch.Underscore, '_'], [Ch.a, 'a'], [Ch.b, 'b'], [Ch.d, 'd'], [Ch.e, 'e'], [Ch.f, 'f'],
    [Ch.m, 'm'], [Ch.n, 'n'], [Ch.r, 'r'], [Ch.s, 's'], [Ch.t, 't'], [Ch.u, 'u'], [Ch.v, 'v'], [Ch.x, 'x'],
    [Ch.z, 'z'], [Ch.LBrace, '{'], [Ch.Pipe, '|'], [Ch.RBrace, '}'],
  ];
  for (const [code, ch] of codes) assert.is(String.fromCharCode(code), ch, `${code}`);
});

test('readUint: the digits from p, stopping at the first other character or at end; readEnd says where', () => {
  assert.is(readUint('x123y', 1, 5), 123);
  assert.is(readEnd, 4);
  assert.is(readUint('123456', 0, 3), 123, 'end bounds it');
  assert.is(readEnd, 3);
  assert.is(readUint('abc', 1, 3), 0);
  assert.is(readEnd, 1, 'no digits: readEnd is the start');
  assert.is(readUint('7', 1, 1), 0);
  assert.is(readEnd, 1);
  assert.is(readUint('4294967295', 0, 10), 4294967295);
  assert.is(readUint('9007199254740991', 0, 16), Number.MAX_SAFE_INTEGER);
});

test('readUintBytes reads raw bytes as readUint reads text', () => {
  const b = Buffer.from('2532  close(3) [pid 17]', 'latin1');
  assert.is(readUintBytes(b, 0, b.length), 2532);
  assert.is(readEnd, 4);
  assert.is(readUintBytes(b, 20, 21), 1);
  assert.is(readEnd, 21);
  assert.is(readUintBytes(b, b.length, b.length), 0, 'past the last byte: nothing, no throw');
  assert.is(readEnd, b.length);
});

test('readHex and hexDigit: both cases, nothing else', () => {
  assert.is(readHex('0x7fAB,', 2, 7), 0x7fab);
  assert.is(readEnd, 6);
  assert.is(readHex('0xg', 2, 3), 0);
  assert.is(readEnd, 2);
  assert.is(readHex('0x7ffd5a3b1000', 2, 14), 0x7ffd5a3b1000);
  for (let c = 0; c < 0x3000; c++) {
    const ch = String.fromCharCode(c);
    const want = /^[0-9a-fA-F]$/.test(ch) ? parseInt(ch, 16) : -1;
    assert.is(hexDigit(c), want, `hexDigit(${c})`);
    assert.is(isHex(c), want >= 0);
  }
  assert.is(hexDigit(NaN), -1, 'charCodeAt past the end');
});

test('readFraction: the digits after a point; past 15 digits they no longer count (no NaN from 400 of them)', () => {
  assert.is(readFraction('.814896 ', 1, 8), 814896 / 1e6);
  assert.is(readEnd, 7);
  assert.is(readFraction('.123456789', 1, 10), 123456789 / 1e9);
  assert.is(readFraction('.x', 1, 2), 0);
  assert.is(readEnd, 1);
  const long = '.' + '1'.repeat(400) + ' ';
  const f = readFraction(long, 1, long.length);
  assert.is(readEnd, 401, 'all the digits are stepped over');
  assert.ok(Math.abs(f - 1 / 9) < 1e-15, `${f}`);
});

test.run();
