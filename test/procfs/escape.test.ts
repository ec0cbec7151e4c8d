// escapeControl: what reaches a terminal from another process's names.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { escapeControl, isInvisible } from '../../src/model/escape.js';
import { clean } from '../../src/tui/text.js';

test('C0, DEL and C1 controls become escapes; backslash doubles; the rest is untouched', () => {
  assert.is(escapeControl('plain /path with space'), 'plain /path with space');
  assert.is(escapeControl('a\nb\tc\rd'), 'a\\nb\\tc\\rd');
  assert.is(escapeControl('\x1b[31mred'), '\\x1b[31mred');
  assert.is(escapeControl('\x00\x7f\x85\x9b'), '\\x00\\x7f\\x85\\x9b');
  assert.is(escapeControl('back\\slash'), 'back\\\\slash');
  assert.is(escapeControl('ünïcødé ✓ \u00a0'), 'ünïcødé ✓ \u00a0');
});

test('every UTF-16 code unit: escaped exactly when it is a control, a backslash or invisible (the one-test fast path agrees)', () => {
  for (let c = 0; c <= 0xffff; c++) {
    const ch = String.fromCharCode(c);
    const takes = c < 0x20 || c === 0x5c || (c >= 0x7f && (c <= 0x9f || isInvisible(c)));
    for (const s of [ch, `a${ch}b`, `${'x'.repeat(40)}${ch}`]) {
      if ((escapeControl(s) !== s) !== takes) assert.unreachable(`U+${c.toString(16)} in ${JSON.stringify(s)}: ${takes ? 'not escaped' : 'escaped'}`);
    }
  }
});

test('bidi controls and other invisible format characters become \\u{...}, as the dashboard shows them', () => {
  assert.is(escapeControl('rtl\u202etxt.exe'), 'rtl\\u{202e}txt.exe');
  const all = [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c,
    0x200b, 0x200c, 0x200d, 0x2028, 0x2029, 0xfeff];
  for (const c of all) {
    const s = `a${String.fromCharCode(c)}b`;
    assert.is(escapeControl(s), `a\\u{${c.toString(16)}}b`);
    assert.is(escapeControl(s), clean(s, true), 'the same text as the dashboard');
  }
  assert.is(escapeControl('soft\u00adhyphen'), 'soft\\xadhyphen');
  // neighbours stay as they are: Arabic and Hebrew letters, en dash, ellipsis, U+FFFD
  assert.is(escapeControl('\u0627\u05d0\u2013\u2026\ufffd'), '\u0627\u05d0\u2013\u2026\ufffd');
});

test.run();
