// escapeControl: what reaches a terminal from another process's names.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { escapeControl } from '../../src/model/escape.js';

test('C0, DEL and C1 controls become escapes; backslash doubles; the rest is untouched', () => {
  assert.is(escapeControl('plain /path with space'), 'plain /path with space');
  assert.is(escapeControl('a\nb\tc\rd'), 'a\\nb\\tc\\rd');
  assert.is(escapeControl('\x1b[31mred'), '\\x1b[31mred');
  assert.is(escapeControl('\x00\x7f\x85\x9b'), '\\x00\\x7f\\x85\\x9b');
  assert.is(escapeControl('back\\slash'), 'back\\\\slash');
  assert.is(escapeControl('ünïcødé ✓ \u00a0'), 'ünïcødé ✓ \u00a0');
});

test.run();
