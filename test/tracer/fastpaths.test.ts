// The replay speed-ups change no result: each fast path against the plain code it replaced, on random text made of
// the characters that matter to it (quotes, backslashes, brackets, decorations), and on the shapes strace prints.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { skipString, skipDecoration, scanLine } from '../../src/tracer/scan.js';
import { parseArgs, field, type Value } from '../../src/tracer/values.js';

/** skipString as it was: a character loop. */
function skipStringLoop(s: string, p: number, end: number): number {
  p++;
  while (p < end) {
    const d = s.charCodeAt(p);
    if (d === 92) p += 2;
    else if (d === 34) return p + 1;
    else p++;
  }
  return end;
}

/** skipDecoration of a path (`3</a<b>>`) as it was: a character loop counting < and >. */
function skipPathLoop(s: string, p: number): number {
  let depth = 0;
  while (p < s.length) {
    const c = s.charCodeAt(p);
    if (c === 60) depth++;
    else if (c === 62 && --depth === 0) return p + 1;
    p++;
  }
  return -1;
}

/** A small deterministic generator (the same cases every run). */
function rng(seed: number): () => number {
  let x = seed;
  return () => { x = (x * 1103515245 + 12345) & 0x7fffffff; return x / 0x80000000; };
}

function randomText(next: () => number, alphabet: string, max: number): string {
  const n = Math.floor(next() * max);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(next() * alphabet.length)];
  return s;
}

test('skipString finds the closing quote as the character loop did, escapes and early ends included', () => {
  const next = rng(7);
  let checked = 0;
  for (let i = 0; i < 20000; i++) {
    const s = '"' + randomText(next, 'a\\"x\\\\', 24);
    const end = Math.floor(next() * (s.length + 1));
    assert.is(skipString(s, 0, end), skipStringLoop(s, 0, end), JSON.stringify([s, end]));
    checked++;
  }
  assert.is(checked, 20000);
  assert.is(skipString('"a\\"b" x', 0, 8), 6);
  assert.is(skipString('"a\\\\" x', 0, 7), 5);
  assert.is(skipString('"abc', 0, 4), 4);
});

test('a path decoration ends where the character loop ended it, nested and unclosed ones included', () => {
  const next = rng(11);
  for (let i = 0; i < 20000; i++) {
    const s = '3</' + randomText(next, 'a<>/ ', 20);
    assert.is(skipDecoration(s, 1), skipPathLoop(s, 1), JSON.stringify(s));
  }
  assert.is(skipDecoration('5</dev/null<char 1:3>>, x', 1), 22);
  assert.is(skipDecoration('3</tmp/a[b>, 1', 1), 11);
  assert.is(skipDecoration('3</tmp/open', 1), -1);
});

test('strings with and without escapes parse to the same values (the no-escape path is native)', () => {
  const a = parseArgs('"plain", "with \\"quote\\" and \\n", "x"..., @"abstract", "\\\\"');
  assert.equal(a, [
    { t: 'str', s: 'plain', trunc: false, abstract: false },
    { t: 'str', s: 'with "quote" and \n', trunc: false, abstract: false },
    { t: 'str', s: 'x', trunc: true, abstract: false },
    { t: 'str', s: 'abstract', trunc: false, abstract: true },
    { t: 'str', s: '\\', trunc: false, abstract: false },
  ]);
  // an unterminated string runs to the end
  assert.equal(parseArgs('"abc'), [{ t: 'str', s: 'abc', trunc: false, abstract: false }]);
});

test('a msghdr parses to the same control data, flags and lengths with its iov and name stepped over', () => {
  const hdr = '{msg_name={sa_family=AF_UNIX, sun_path="/run/x"}, msg_namelen=110 => 0, msg_iov=[{iov_base="a\\"),]}{[b", iov_len=65536}, ' +
    '{iov_base=[{x="y"}], iov_len=1}] => [{iov_base="c", iov_len=1}], msg_iovlen=2, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, ' +
    'cmsg_type=SCM_RIGHTS, cmsg_data=[5</etc/hostname>]}], msg_controllen=24, msg_flags=MSG_CMSG_CLOEXEC}';
  const [sock, h, flags] = parseArgs(`3<UNIX-STREAM:[1->2]>, ${hdr}, MSG_DONTWAIT`);
  assert.equal(sock, { t: 'fd', fd: 3, decor: 'UNIX-STREAM:[1->2]', suffix: '' });
  assert.equal(flags, { t: 'sym', text: 'MSG_DONTWAIT' });
  assert.is(field(h, 'msg_iov'), undefined);
  assert.is(field(h, 'msg_name'), undefined);
  assert.equal(field(h, 'msg_namelen'), { t: 'inout', before: { t: 'num', n: 110, text: '110' }, after: { t: 'num', n: 0, text: '0' } });
  assert.equal(field(h, 'msg_iovlen'), { t: 'num', n: 2, text: '2' });
  assert.equal(field(h, 'msg_controllen'), { t: 'num', n: 24, text: '24' });
  assert.equal(field(h, 'msg_flags'), { t: 'sym', text: 'MSG_CMSG_CLOEXEC' });
  const ctl = field(h, 'msg_control') as Extract<Value, { t: 'arr' }>;
  assert.equal(field(ctl.items[0], 'cmsg_data'), { t: 'arr', items: [{ t: 'fd', fd: 5, decor: '/etc/hostname', suffix: '' }] });
});

/** parseArgs of these, as the parser before the replay speed-ups gave them (nested brackets, decorations, comments, in/out). */
// prettier-ignore
const BEFORE: Array<[string, unknown]> = [["foo(3</x>, [1,2]) => 5, 7",[{"t":"inout","before":{"t":"sym","text":"foo(3</x>, [1,2])"},"after":{"t":"num","n":5,"text":"5"}},{"t":"num","n":7,"text":"7"}]],["{a=[1, {b=2}], c=3</p>, d=f(x, y)}, 0x10 /* X */",[{"t":"struct","fields":[{"name":"a","value":{"t":"arr","items":[{"t":"num","n":1,"text":"1"},{"t":"struct","fields":[{"name":"b","value":{"t":"num","n":2,"text":"2"}}]}]}},{"name":"c","value":{"t":"fd","fd":3,"decor":"/p","suffix":""}},{"name":"d","value":{"t":"sym","text":"f(x, y)"}}]},{"t":"num","n":16,"text":"0x10 /* X */"}]],["[{x=1}, {y=\")\"}] => [{z=2}], ~[RTMIN], 5<UNIX:[1->2]>",[{"t":"inout","before":{"t":"arr","items":[{"t":"struct","fields":[{"name":"x","value":{"t":"num","n":1,"text":"1"}}]},{"t":"struct","fields":[{"name":"y","value":{"t":"str","s":")","trunc":false,"abstract":false}}]}]},"after":{"t":"arr","items":[{"t":"struct","fields":[{"name":"z","value":{"t":"num","n":2,"text":"2"}}]}]}},{"t":"sym","text":"~[RTMIN]"},{"t":"fd","fd":5,"decor":"UNIX:[1->2]","suffix":""}]],["N<<SHIFT, 21<<MAP_HUGE_SHIFT|MAP_PRIVATE, (a, (b, c)), x",[{"t":"sym","text":"N<<SHIFT"},{"t":"sym","text":"21<<MAP_HUGE_SHIFT|MAP_PRIVATE"},{"t":"sym","text":"(a, (b, c))"},{"t":"sym","text":"x"}]],["{unclosed=[1, 2",[{"t":"struct","fields":[{"name":"unclosed","value":{"t":"arr","items":[{"t":"num","n":1,"text":"1"},{"t":"num","n":2,"text":"2"}]}}]}]]];

test('spans with brackets, decorations and comments parse as they did before the speed-ups', () => {
  assert.is(BEFORE.length, 5);
  for (const [args, values] of BEFORE) assert.equal(parseArgs(args), values, args);
});

test('a long unfinished half shorter than the nesting limit, and one nested past it', () => {
  const short = scanLine('12 recvmsg(3<UNIX:[1->2]>,  <unfinished ...>');
  assert.is(short.kind, 'unfinished');
  const deep = scanLine('12 ioctl(3, ' + '['.repeat(70) + ' <unfinished ...>');
  assert.is(deep.kind, 'error');
});

test.run();
