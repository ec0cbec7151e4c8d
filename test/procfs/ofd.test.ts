// Grouping fds into open file descriptions with a fake kcmp: few compares, failures and unavailability.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { groupOpenFileDescriptions, type OfdCandidate, type OfdCompare } from '../../src/procfs/ofd.js';

/** identity per "pid:fd": equal identities are one open file description; order by identity like kcmp does. */
function fake(identity: Record<string, string>, opts: { dead?: Set<string>; keyOf?: Map<string, string> } = {}): OfdCompare {
  return (a, b) => {
    const ra = `${a.pid}:${a.fd}`;
    const rb = `${b.pid}:${b.fd}`;
    if (opts.keyOf && opts.keyOf.get(ra) !== opts.keyOf.get(rb)) throw new Error(`compared across keys: ${ra} ${rb}`);
    if (opts.dead?.has(ra) || opts.dead?.has(rb)) return { failed: 'EBADF' };
    const x = identity[ra] ?? ra;
    const y = identity[rb] ?? rb;
    return x === y ? 0 : x < y ? -1 : 1;
  };
}

function cands(spec: Array<[number, number, string | null]>): OfdCandidate[] {
  return spec.map(([pid, fd, key]) => ({ pid, fd, key }));
}

test('equal neighbours after a kcmp sort form groups; ids are the first member; other keys are never compared', () => {
  const c = cands([
    [20, 4, 'f'], [10, 3, 'f'], [30, 9, 'f'], [10, 5, 'f'], // 10:3, 20:4, 30:9 one description; 10:5 another
    [11, 1, 'p'], [12, 1, 'p'],
    [13, 0, 'solo'],
    [14, 0, null],
  ]);
  const keyOf = new Map(c.map((x) => [`${x.pid}:${x.fd}`, x.key ?? '']));
  const r = groupOpenFileDescriptions(c, fake({ '10:3': 'A', '20:4': 'A', '30:9': 'A', '11:1': 'B', '12:1': 'B' }, { keyOf }));
  assert.equal(r.groups.map((g) => [g.id, g.members.map((i) => `${c[i]!.pid}:${c[i]!.fd}`)]), [
    ['10:3', ['10:3', '20:4', '30:9']],
    ['11:1', ['11:1', '12:1']],
  ]);
  assert.equal(r.ofd, ['10:3', '10:3', '10:3', '10:5', '11:1', '11:1', '13:0', null]);
  assert.is(r.unverified, 0);
  assert.is(r.unavailable, null);
});

test('a big bucket of distinct descriptions costs about n log n compares, not n^2', () => {
  const n = 512;
  const c = cands(Array.from({ length: n }, (_, i) => [1000 + i, 3, 'same'] as [number, number, string]));
  const r = groupOpenFileDescriptions(c, fake({}));
  assert.is(r.groups.length, 0);
  assert.ok(r.compares < 3 * n * Math.log2(n), `compares ${r.compares}`);
  assert.ok(r.compares < (n * (n - 1)) / 8);
});

test('an fd that vanishes mid-sort is dropped as unverified; the rest still group', () => {
  const c = cands([[1, 3, 'k'], [2, 3, 'k'], [3, 3, 'k'], [4, 3, 'k']]);
  const r = groupOpenFileDescriptions(c, fake({ '1:3': 'A', '2:3': 'A', '4:3': 'A' }, { dead: new Set(['3:3']) }));
  assert.equal(r.ofd, ['1:3', '1:3', null, '1:3']);
  assert.is(r.unverified, 1);
  assert.is(r.groups.length, 1);
});

test('kcmp unavailable: singletons keep their ids, shared candidates stay unverified', () => {
  const c = cands([[1, 3, 'k'], [2, 3, 'k'], [3, 0, 'alone']]);
  const r = groupOpenFileDescriptions(c, () => ({ unavailable: 'kcmp: ENOSYS' }));
  assert.equal(r.ofd, [null, null, '3:0']);
  assert.is(r.unavailable, 'kcmp: ENOSYS');
  assert.is(r.unverified, 2);
});

test('a bucket of distinct descriptions: no pair is asked twice (the neighbour pass reads the sort\'s answers)', () => {
  const n = 100;
  // a fixed shuffle (an LCG): kcmp's order has nothing to do with (pid, fd)
  let seed = 12345;
  const ids = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  const identity = Object.fromEntries(ids.map((id, i) => [`${1000 + i}:3`, String(id).padStart(3, '0')]));
  const c = cands(Array.from({ length: n }, (_, i) => [1000 + i, 3, 'same'] as [number, number, string]));
  const asked = new Set<string>();
  const inner = fake(identity);
  const r = groupOpenFileDescriptions(c, (a, b) => {
    const pair = a.pid < b.pid ? `${a.pid}/${b.pid}` : `${b.pid}/${a.pid}`;
    assert.not.ok(asked.has(pair), `asked twice: ${pair}`);
    asked.add(pair);
    return inner(a, b);
  });
  assert.is(r.groups.length, 0);
  // binary insertion's worst case: n ceil(log2 n) - 2^ceil(log2 n) + 1 = 573 for 100 (with a neighbour pass that
  // asked again: 632)
  const k = Math.ceil(Math.log2(n));
  assert.ok(r.compares <= n * k - 2 ** k + 1, `compares ${r.compares}`);
});

test('equal socket inodes are one description without kcmp (a socket has one file); other buckets still sort', () => {
  const c: OfdCandidate[] = [
    { pid: 20, fd: 4, key: 'sock:77', proven: true },
    { pid: 10, fd: 9, key: 'sock:77', proven: true },
    { pid: 30, fd: 1, key: 'sock:77', proven: true },
    { pid: 10, fd: 3, key: 'file', proven: false },
    { pid: 11, fd: 3, key: 'file' },
  ];
  const compared: string[] = [];
  const r = groupOpenFileDescriptions(c, (a, b) => {
    compared.push(`${a.pid}:${a.fd}/${b.pid}:${b.fd}`);
    return a.pid === b.pid && a.fd === b.fd ? 0 : a.pid < b.pid ? -1 : 1;
  });
  assert.equal(r.ofd, ['10:9', '10:9', '10:9', '10:3', '11:3']);
  assert.equal(r.groups.map((g) => [g.id, g.members]), [['10:9', [1, 0, 2]]]);
  assert.ok(compared.every((x) => !x.includes(':9') && !x.includes('20:') && !x.includes('30:')), compared.join(' '));
  assert.is(r.compares, 1);
});

test('many random buckets with repeats group exactly as a brute-force partition would', () => {
  let seed = 7;
  const rand = (k: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % k;
  };
  for (let t = 0; t < 500; t++) {
    const n = 1 + rand(40);
    const kinds = 1 + rand(n);
    const ids = Array.from({ length: n }, () => String(rand(kinds)).padStart(3, '0'));
    const c = cands(ids.map((_, i) => [100 + i, 3, 'k'] as [number, number, string]));
    let calls = 0;
    const r = groupOpenFileDescriptions(c, (a, b) => {
      calls++;
      const x = ids[a.pid - 100]!;
      const y = ids[b.pid - 100]!;
      return x === y ? 0 : x < y ? -1 : 1;
    });
    assert.equal(r.ofd, ids.map((id) => `${100 + ids.indexOf(id)}:3`), `ids ${ids.join(',')}`);
    assert.is(r.compares, calls);
    if (n > 1) {
      const k = Math.ceil(Math.log2(n));
      assert.ok(calls <= n * k - 2 ** k + 1, `${calls} calls for ${n}`);
    }
  }
});

test.run();
