// The published JSON contract (schema/fdwatch-v1.schema.json) against what fdwatch really writes:
// every golden NDJSON line, live `replay` and `snapshot` output, hand-made bad records, and the
// TypeScript unions and field lists of src/model/records.ts (type-checked lists, so drift is caught).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate } from './validate.js';
import {
  SCHEMA_VERSION,
  type AlertKind, type AlertRecord, type FdKind, type FdOp, type FdRecord, type FdwatchRecord, type MapRecord,
  type ParseErrorSample, type ProcessEvent, type ProcessRecord, type SocketInfo, type SummaryRecord,
  type TransferEnd, type TransferRecord, type TransferState, type TransferVia,
} from '../../src/model/records.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SCHEMA_FILE = path.join(root, 'schema', 'fdwatch-v1.schema.json');
const schema = JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8')) as Schema;
const BIN = path.join(root, 'bin', 'fdwatch.js');

interface Schema {
  $id: string;
  oneOf: Array<{ $ref: string }>;
  $defs: Record<string, { enum?: string[]; const?: unknown; required?: string[]; properties?: Record<string, Schema & { const?: unknown; items?: Schema }> }>;
}

// ---------------------------------------------------------------- lists copied from records.ts, checked by tsc

/** true when the list names every member of the union; otherwise a type naming what is missing */
type Complete<U, L extends readonly unknown[]> = [Exclude<U, L[number]>] extends [never] ? true : ['missing from the list:', Exclude<U, L[number]>];
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type OptionalKeys<T> = Exclude<keyof T, RequiredKeys<T>>;

const FD_KINDS = ['file', 'dir', 'socket', 'pipe', 'anon', 'memfd', 'device', 'unknown'] as const satisfies readonly FdKind[];
const PROCESS_EVENTS = ['attach', 'fork', 'exec', 'exit', 'snapshot',
  'diff', 'setuid'] as const satisfies readonly ProcessEvent[];
const FD_OPS = ['open', 'close', 'dup', 'inherit', 'receive', 'take', 'seen', 'cloexec', 'snapshot',
  'opened', 'closed', 'changed'] as const satisfies readonly FdOp[];
const TRANSFER_VIAS = ['SCM_RIGHTS', 'pidfd_getfd'] as const satisfies readonly TransferVia[];
const TRANSFER_STATES = ['delivered', 'in-flight', 'lost'] as const satisfies readonly TransferState[];
const ALERT_KINDS = ['ctrunc-lost', 'socket-closed-with-fds', 'received-fd-survives-exec', 'in-flight-at-end',
  'privilege-crossing',
  'uid-crossing',
  'fd-leak',
] as const satisfies readonly AlertKind[];
const RECORD_TYPES = ['process', 'fd', 'transfer', 'map', 'alert', 'summary'] as const satisfies readonly FdwatchRecord['type'][];

const ENUMS: Array<[defName: string, values: readonly string[]]> = [
  ['FdKind', FD_KINDS], ['ProcessEvent', PROCESS_EVENTS], ['FdOp', FD_OPS],
  ['TransferVia', TRANSFER_VIAS], ['TransferState', TRANSFER_STATES], ['AlertKind', ALERT_KINDS],
];

const BASE_REQ = ['v', 'type', 'ts'] as const;
const PROCESS_REQ = [...BASE_REQ, 'pid', 'ppid', 'comm', 'uid', 'event'] as const satisfies readonly RequiredKeys<ProcessRecord>[];
const PROCESS_OPT = ['tid', 'path', 'exitCode', 'signal', 'shareFdTableWith', 'note',
  'fdsBefore', 'fdsAfter', 'fromUid'] as const satisfies readonly OptionalKeys<ProcessRecord>[];
const FD_REQ = [...BASE_REQ, 'pid', 'fd', 'op', 'target', 'kind', 'cloexec', 'syscall'] as const satisfies readonly RequiredKeys<FdRecord>[];
const FD_OPT = ['tid', 'fromFd', 'fromPid', 'pos', 'flags', 'ofd', 'socket', 'inFlight', 'origin',
  'was'] as const satisfies readonly OptionalKeys<FdRecord>[];
const TRANSFER_REQ = [...BASE_REQ, 'via', 'state', 'from', 'to', 'target', 'kind', 'sentTs', 'receivedTs'] as const satisfies readonly RequiredKeys<TransferRecord>[];
const TRANSFER_OPT = ['reason', 'confirmed', 'line', 'origin'] as const satisfies readonly OptionalKeys<TransferRecord>[];
const MAP_REQ = [...BASE_REQ, 'pid', 'start', 'end', 'perms', 'offset', 'path'] as const satisfies readonly RequiredKeys<MapRecord>[];
const MAP_OPT = ['fd', 'dev', 'inode', 'transferred', 'origin'] as const satisfies readonly OptionalKeys<MapRecord>[];
const ALERT_REQ = [...BASE_REQ, 'kind', 'pid', 'fd', 'message'] as const satisfies readonly RequiredKeys<AlertRecord>[];
const ALERT_OPT = ['count',
  'severity', 'file', 'fromUid', 'toUid', 'access',
  'leak', 'samples', 'sentNotClosed', 'growth',
] as const satisfies readonly OptionalKeys<AlertRecord>[];
const SUMMARY_REQ = [...BASE_REQ, 'lines', 'events', 'syscalls', 'processes', 'transfers', 'fdsSent', 'fdsReceived', 'parseErrors',
  'parseErrorSamples', 'alerts', 'cleanEnd', 'opaqueMessages'] as const satisfies readonly RequiredKeys<SummaryRecord>[];
const SUMMARY_OPT = ['source', 'backend', 'engine', 'lostEvents', 'internalErrors', 'internalErrorSample', 'error'] as const satisfies readonly OptionalKeys<SummaryRecord>[];
const END_REQ = ['pid', 'tid', 'comm', 'uid', 'fd', 'socket'] as const satisfies readonly RequiredKeys<TransferEnd>[];
const END_OPT = [] as const satisfies readonly OptionalKeys<TransferEnd>[];
const SOCKET_REQ = ['inode', 'peer', 'path'] as const satisfies readonly RequiredKeys<SocketInfo>[];
const SOCKET_OPT = ['peerOwners'] as const satisfies readonly OptionalKeys<SocketInfo>[];
type PeerOwner = NonNullable<SocketInfo['peerOwners']>[number];
const OWNER_REQ = ['pid', 'fd', 'comm'] as const satisfies readonly RequiredKeys<PeerOwner>[];
const OWNER_OPT = [] as const satisfies readonly OptionalKeys<PeerOwner>[];
const SAMPLE_REQ = ['line', 'reason', 'text'] as const satisfies readonly RequiredKeys<ParseErrorSample>[];
const SAMPLE_OPT = [] as const satisfies readonly OptionalKeys<ParseErrorSample>[];
type Counts = SummaryRecord['transfers'];
const COUNTS_REQ = ['delivered', 'inFlight', 'lost'] as const satisfies readonly RequiredKeys<Counts>[];
const COUNTS_OPT = [] as const satisfies readonly OptionalKeys<Counts>[];

// A compile error on one of these lines means records.ts changed: update the list above, the schema and docs/schema.md.
const COMPLETE: true[] = [
  true as Complete<FdKind, typeof FD_KINDS>,
  true as Complete<ProcessEvent, typeof PROCESS_EVENTS>,
  true as Complete<FdOp, typeof FD_OPS>,
  true as Complete<TransferVia, typeof TRANSFER_VIAS>,
  true as Complete<TransferState, typeof TRANSFER_STATES>,
  true as Complete<AlertKind, typeof ALERT_KINDS>,
  true as Complete<FdwatchRecord['type'], typeof RECORD_TYPES>,
  true as Complete<RequiredKeys<ProcessRecord>, typeof PROCESS_REQ>, true as Complete<OptionalKeys<ProcessRecord>, typeof PROCESS_OPT>,
  true as Complete<RequiredKeys<FdRecord>, typeof FD_REQ>, true as Complete<OptionalKeys<FdRecord>, typeof FD_OPT>,
  true as Complete<RequiredKeys<TransferRecord>, typeof TRANSFER_REQ>, true as Complete<OptionalKeys<TransferRecord>, typeof TRANSFER_OPT>,
  true as Complete<RequiredKeys<MapRecord>, typeof MAP_REQ>, true as Complete<OptionalKeys<MapRecord>, typeof MAP_OPT>,
  true as Complete<RequiredKeys<AlertRecord>, typeof ALERT_REQ>, true as Complete<OptionalKeys<AlertRecord>, typeof ALERT_OPT>,
  true as Complete<RequiredKeys<SummaryRecord>, typeof SUMMARY_REQ>, true as Complete<OptionalKeys<SummaryRecord>, typeof SUMMARY_OPT>,
  true as Complete<RequiredKeys<TransferEnd>, typeof END_REQ>, true as Complete<OptionalKeys<TransferEnd>, typeof END_OPT>,
  true as Complete<RequiredKeys<SocketInfo>, typeof SOCKET_REQ>, true as Complete<OptionalKeys<SocketInfo>, typeof SOCKET_OPT>,
  true as Complete<RequiredKeys<PeerOwner>, typeof OWNER_REQ>, true as Complete<OptionalKeys<PeerOwner>, typeof OWNER_OPT>,
  true as Complete<RequiredKeys<ParseErrorSample>, typeof SAMPLE_REQ>, true as Complete<OptionalKeys<ParseErrorSample>, typeof SAMPLE_OPT>,
  true as Complete<RequiredKeys<Counts>, typeof COUNTS_REQ>, true as Complete<OptionalKeys<Counts>, typeof COUNTS_OPT>,
];

// ---------------------------------------------------------------- helpers

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

/** Validates every NDJSON line; returns "label:line: error" strings. */
function validateLines(text: string, label: string): { count: number; types: Set<string>; errors: string[] } {
  const errors: string[] = [];
  const types = new Set<string>();
  let count = 0;
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    count++;
    let value: unknown;
    try { value = JSON.parse(line); } catch (e) { errors.push(`${label}:${i + 1}: not JSON (${String(e)})`); return; }
    if (typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string') types.add((value as { type: string }).type);
    for (const err of validate(schema, value)) errors.push(`${label}:${i + 1}: ${err}`);
  });
  return { count, types, errors };
}

function noErrors(errors: string[], what: string): void {
  const shown = errors.slice(0, 15).join('\n  ');
  assert.ok(errors.length === 0, `${errors.length} schema errors in ${what}:\n  ${shown}${errors.length > 15 ? '\n  ...' : ''}`);
}

function ndjsonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...ndjsonFiles(p));
    else if (e.name.endsWith('.ndjson')) out.push(p);
  }
  return out.sort();
}

function fdwatch(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: root, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

// real lines from the golden files (seed, send_fds, nscd f-yy)
const GOOD: Record<string, Record<string, unknown>> = {
  process: { v: 1, type: 'process', ts: null, pid: 21664, ppid: 21662, comm: 'seed', uid: null, event: 'exit', exitCode: 0, signal: null },
  fd: { v: 1, type: 'fd', ts: null, pid: 21664, fd: 4, op: 'receive', target: '/etc/hostname', kind: 'file', cloexec: true, syscall: 'recvmsg', fromFd: 3, fromPid: 21662 },
  transfer: {
    v: 1, type: 'transfer', ts: null, via: 'SCM_RIGHTS', state: 'lost',
    from: { pid: 21751, tid: 21751, comm: 'python3', uid: 0, fd: 5, socket: 'UNIX-STREAM:[251278->251279]' },
    to: { pid: 21760, tid: 21760, comm: 'python3', uid: 0, fd: null, socket: 'UNIX-STREAM:[251279->251278]' },
    target: 'pipe:[251274]', kind: 'pipe', sentTs: null, receivedTs: null, reason: "MSG_CTRUNC: the receiver's control buffer was too small", line: 589,
  },
  map: { v: 1, type: 'map', ts: null, pid: 22788, start: '0x7f3bdd767000', end: '0x7f3bdd79c000', perms: 'r--s', offset: '0x0', path: '/var/cache/nscd/passwd', fd: 4, transferred: true },
  alert: { v: 1, type: 'alert', ts: null, kind: 'ctrunc-lost', pid: 21760, fd: 5, message: 'fd 5 (pipe:[251274]) sent by python3[21751] was lost: MSG_CTRUNC' },
  summary: {
    v: 1, type: 'summary', ts: null, lines: 61, events: 37, syscalls: 52, processes: 2, transfers: { delivered: 1, inFlight: 0, lost: 0 },
    fdsSent: 1, fdsReceived: 1, parseErrors: 0, parseErrorSamples: [], alerts: 0, cleanEnd: true, opaqueMessages: 0,
  },
};

function bad(type: string, change: (r: Record<string, unknown>) => void): string[] {
  const r = clone(GOOD[type]!);
  change(r);
  return validate(schema, r);
}

function failsAt(errors: string[], needle: string): void {
  assert.ok(errors.length > 0, 'expected the record to be rejected');
  assert.ok(errors.some((e) => e.includes(needle)), `expected an error mentioning ${JSON.stringify(needle)}, got:\n  ${errors.join('\n  ')}`);
}

// ---------------------------------------------------------------- (a) golden files

test('every line of every fixtures/golden/**/*.ndjson validates', () => {
  const files = ndjsonFiles(path.join(root, 'fixtures', 'golden'));
  assert.ok(files.length >= 30, `only ${files.length} golden files found`);
  let count = 0;
  const types = new Set<string>();
  const errors: string[] = [];
  for (const f of files) {
    const r = validateLines(fs.readFileSync(f, 'utf8'), path.relative(root, f));
    count += r.count;
    r.types.forEach((t) => types.add(t));
    errors.push(...r.errors);
  }
  noErrors(errors, `${files.length} golden files`);
  assert.ok(count > 1000, `only ${count} golden records`);
  assert.equal(sorted([...types]), sorted(RECORD_TYPES), 'the golden files hold every record type');
});

test('docs/schema.md: every example line validates and is a real line of a golden file', () => {
  const doc = fs.readFileSync(path.join(root, 'docs', 'schema.md'), 'utf8');
  const examples = doc.split('\n').filter((l) => l.startsWith('{"v":'));
  const golden = new Set(ndjsonFiles(path.join(root, 'fixtures', 'golden')).flatMap((f) => fs.readFileSync(f, 'utf8').split('\n')));
  const types = new Set<string>();
  for (const l of examples) {
    assert.equal(validate(schema, JSON.parse(l)), [], l);
    assert.ok(golden.has(l), `not a golden line: ${l}`);
    types.add((JSON.parse(l) as { type: string }).type);
  }
  assert.equal(sorted([...types]), sorted(RECORD_TYPES), 'one example per record type at least');
  assert.ok(doc.includes('](../schema/fdwatch-v1.schema.json)'), 'docs link the schema file');
});

// ---------------------------------------------------------------- (b) the real CLI, now

test('`fdwatch replay fixtures/traces/nscd/f-yy.log --json -` validates line by line', () => {
  const r = fdwatch(['replay', 'fixtures/traces/nscd/f-yy.log', '--json', '-']);
  assert.is(r.code, 0, r.err);
  const v = validateLines(r.out, 'replay');
  noErrors(v.errors, 'replay output');
  assert.ok(v.count > 100, `only ${v.count} records`);
  for (const t of ['process', 'fd', 'transfer', 'map', 'summary']) assert.ok(v.types.has(t), `no ${t} record`);
  const last = JSON.parse(r.out.trim().split('\n').pop()!) as { type: string; source?: string };
  assert.equal([last.type, last.source], ['summary', 'fixtures/traces/nscd/f-yy.log']);
});

test('`fdwatch snapshot <this test process> --json -` validates line by line (with a connected Unix socket)', async () => {
  // a listening socket and a connected pair in this process, so the snapshot has socket details and peer owners
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fdwatch-schema-'));
  const sockPath = path.join(dir, 's.sock');
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(sockPath, resolve));
  const client = net.connect(sockPath);
  await new Promise<void>((resolve, reject) => { client.once('connect', resolve); client.once('error', reject); });
  const peer = await accepted;
  try {
    const r = fdwatch(['snapshot', String(process.pid), '--json', '-']);
    assert.is(r.code, 0, `snapshot failed to run: ${r.err}`);
    const v = validateLines(r.out, 'snapshot');
    assert.ok(v.count > 0, 'snapshot wrote nothing');
    assert.ok(v.types.has('process') && v.types.has('fd'), 'no process or fd record');
    const recs = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(recs.some((x) => x['type'] === 'fd' && x['socket'] !== null && typeof x['socket'] === 'object'), 'no fd record with socket details');
    noErrors(v.errors, 'snapshot output');
  } finally {
    peer.destroy();
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- (c) records that must fail

test('the hand-made good records (golden lines) validate', () => {
  for (const [type, r] of Object.entries(GOOD)) assert.equal(validate(schema, r), [], type);
});

test('missing v is rejected', () => {
  failsAt(bad('fd', (r) => { delete r['v']; }), 'missing required field "v"');
  failsAt(bad('summary', (r) => { delete r['v']; }), 'missing required field "v"');
});

test('v other than 1 is rejected', () => {
  failsAt(bad('process', (r) => { r['v'] = 2; }), '$.v: expected 1, got 2');
});

test('an unknown record type is rejected, naming the allowed types', () => {
  const errors = bad('fd', (r) => { r['type'] = 'bogus'; });
  failsAt(errors, '$.type');
  for (const t of RECORD_TYPES) failsAt(errors, JSON.stringify(t));
});

test('a known type with another type\'s fields is rejected', () => {
  failsAt(bad('fd', (r) => { r['type'] = 'map'; }), 'unknown field "op"');
});

test('an unknown extra field is rejected, on every record type and in nested objects', () => {
  for (const type of RECORD_TYPES) failsAt(bad(type, (r) => { r['extra'] = 1; }), 'unknown field "extra"');
  failsAt(bad('transfer', (r) => { (r['from'] as Record<string, unknown>)['extra'] = 1; }), 'unknown field "extra"');
  failsAt(bad('summary', (r) => { (r['transfers'] as Record<string, unknown>)['extra'] = 1; }), '$.transfers: unknown field "extra"');
});

test('state "gone" is rejected', () => {
  failsAt(bad('transfer', (r) => { r['state'] = 'gone'; }), '$.state: expected one of "delivered", "in-flight", "lost", got "gone"');
});

test('a map start that is a number is rejected', () => {
  failsAt(bad('map', (r) => { r['start'] = 0x7f3bdd767000; }), '$.start: expected string, got integer');
});

test('map start/end/offset must be 0x-prefixed lowercase hex', () => {
  failsAt(bad('map', (r) => { r['start'] = '7f3bdd767000'; }), '$.start: "7f3bdd767000" does not match');
  failsAt(bad('map', (r) => { r['end'] = '0x7F3BDD79C000'; }), '$.end');
  failsAt(bad('map', (r) => { r['offset'] = '0x'; }), '$.offset');
  failsAt(bad('map', (r) => { r['perms'] = 'rw'; }), '$.perms');
});

test('a transfer whose `to` is a string is rejected', () => {
  failsAt(bad('transfer', (r) => { r['to'] = 'python3[21760]'; }), '$.to');
  assert.equal(bad('transfer', (r) => { r['to'] = null; }), [], 'to: null is allowed');
});

test('wrong types and ranges in nested fields are rejected', () => {
  failsAt(bad('transfer', (r) => { (r['from'] as Record<string, unknown>)['pid'] = '21751'; }), '$.from.pid: expected integer or null, got string');
  failsAt(bad('fd', (r) => { r['fd'] = -1; }), '$.fd: -1 is less than the minimum 0');
  failsAt(bad('fd', (r) => { r['fd'] = 1.5; }), '$.fd: expected integer, got number');
  failsAt(bad('fd', (r) => { r['cloexec'] = 'yes'; }), '$.cloexec');
  failsAt(bad('process', (r) => { r['ts'] = '12:00:00'; }), '$.ts: expected number or null, got string');
  failsAt(bad('summary', (r) => { r['parseErrorSamples'] = [{ line: 3, reason: 'x', text: 'y', extra: 0 }]; }), '$.parseErrorSamples[0]: unknown field "extra"');
  failsAt(bad('summary', (r) => { r['parseErrorSamples'] = [{ line: 3, reason: 'x' }]; }), '$.parseErrorSamples[0]: missing required field "text"');
  failsAt(bad('alert', (r) => { r['kind'] = 'oops'; }), '$.kind');
  failsAt(bad('fd', (r) => { r['socket'] = { inode: 1, peer: 2, path: null, peerOwners: [{ pid: 3, fd: 'x', comm: null }] }; }), '$.socket.peerOwners[0].fd: expected integer, got string');
  assert.equal(bad('fd', (r) => { r['socket'] = { inode: 1, peer: 2, path: null, peerOwners: [{ pid: 3, fd: 4, comm: null }] }; }), []);
});

test('not an object at all is rejected', () => {
  failsAt(validate(schema, 'hello'), 'expected object, got string');
  failsAt(validate(schema, [GOOD['fd']]), 'expected object, got array');
  failsAt(validate(schema, null), 'expected object, got null');
});

// ---------------------------------------------------------------- (d) the schema equals records.ts

test('the lists in this test name every member of the records.ts unions (compile-time check)', () => {
  assert.ok(COMPLETE.every((x) => x === true));
});

test('schema enums equal the TypeScript unions', () => {
  for (const [def, values] of ENUMS) {
    const e = schema.$defs[def]?.enum;
    assert.ok(Array.isArray(e), `$defs.${def}.enum missing`);
    assert.equal(sorted(e!), sorted(values), `$defs.${def}.enum`);
  }
});

test('schema v const equals SCHEMA_VERSION and the file name carries it', () => {
  assert.is(schema.$defs['v']?.const, SCHEMA_VERSION);
  assert.ok(SCHEMA_FILE.endsWith(`fdwatch-v${SCHEMA_VERSION}.schema.json`));
});

test('schema oneOf covers exactly the six record types, each with additionalProperties false', () => {
  const types: string[] = [];
  for (const alt of schema.oneOf) {
    const def = schema.$defs[alt.$ref.replace('#/$defs/', '')] as Record<string, unknown> & { properties: Record<string, { const?: unknown }> };
    assert.ok(def, alt.$ref);
    assert.is(def['additionalProperties'], false, alt.$ref);
    types.push(String(def.properties['type']!.const));
  }
  assert.equal(sorted(types), sorted(RECORD_TYPES));
});

test('schema fields and required lists equal the records.ts interfaces', () => {
  type Obj = { required?: string[]; properties?: Record<string, unknown>; additionalProperties?: unknown };
  const defs = schema.$defs as Record<string, Obj>;
  const transfers = (defs['SummaryRecord']!.properties!['transfers'] as Obj);
  const sample = ((defs['SummaryRecord']!.properties!['parseErrorSamples'] as { items: Obj }).items);
  const owner = ((defs['SocketInfo']!.properties!['peerOwners'] as { items: Obj }).items);
  const cases: Array<[string, Obj | undefined, readonly string[], readonly string[]]> = [
    ['ProcessRecord', defs['ProcessRecord'], PROCESS_REQ, PROCESS_OPT],
    ['FdRecord', defs['FdRecord'], FD_REQ, FD_OPT],
    ['TransferRecord', defs['TransferRecord'], TRANSFER_REQ, TRANSFER_OPT],
    ['MapRecord', defs['MapRecord'], MAP_REQ, MAP_OPT],
    ['AlertRecord', defs['AlertRecord'], ALERT_REQ, ALERT_OPT],
    ['SummaryRecord', defs['SummaryRecord'], SUMMARY_REQ, SUMMARY_OPT],
    ['TransferEnd', defs['TransferEnd'], END_REQ, END_OPT],
    ['SocketInfo', defs['SocketInfo'], SOCKET_REQ, SOCKET_OPT],
    ['SocketInfo.peerOwners[]', owner, OWNER_REQ, OWNER_OPT],
    ['ParseErrorSample', sample, SAMPLE_REQ, SAMPLE_OPT],
    ['SummaryRecord.transfers', transfers, COUNTS_REQ, COUNTS_OPT],
  ];
  for (const [name, def, req, opt] of cases) {
    assert.ok(def, name);
    assert.equal(sorted(def!.required ?? []), sorted(req), `${name}: required`);
    assert.equal(sorted(Object.keys(def!.properties ?? {})), sorted([...req, ...opt]), `${name}: properties`);
    assert.is(def!.additionalProperties, false, `${name}: additionalProperties`);
  }
});

test('every schema property has a description', () => {
  const missing: string[] = [];
  const walk = (node: unknown, at: string): void => {
    if (typeof node !== 'object' || node === null) return;
    const n = node as Record<string, unknown>;
    if (n['properties'] && typeof n['properties'] === 'object') {
      for (const [k, p] of Object.entries(n['properties'] as Record<string, unknown>)) {
        const d = (p as Record<string, unknown>)['description'];
        const ref = (p as Record<string, unknown>)['$ref'];
        const refDesc = typeof ref === 'string' ? (schema.$defs[ref.replace('#/$defs/', '')] as Record<string, unknown> | undefined)?.['description'] : undefined;
        if (typeof d !== 'string' && typeof refDesc !== 'string') missing.push(`${at}.${k}`);
      }
    }
    for (const [k, v] of Object.entries(n)) walk(v, `${at}.${k}`);
  };
  walk(schema, '$');
  assert.equal(missing, []);
  assert.ok(typeof schema.$id === 'string' && schema.$id.length > 0, '$id');
});

// ---------------------------------------------------------------- the validator's own subset

test('validate: type arrays, integer vs number, null', () => {
  const s = { type: ['integer', 'null'] };
  assert.equal(validate(s, 3), []);
  assert.equal(validate(s, null), []);
  assert.equal(validate(s, 3.5), ['$: expected integer or null, got number']);
  assert.equal(validate({ type: 'number' }, 3), []);
  assert.equal(validate({ type: 'object' }, []), ['$: expected object, got array']);
});

test('validate: const/enum compare JSON values deeply; minimum and pattern apply to their types only', () => {
  assert.equal(validate({ const: { a: [1, 2] } }, { a: [1, 2] }), []);
  assert.is(validate({ const: { a: [1, 2] } }, { a: [2, 1] }).length, 1);
  assert.equal(validate({ enum: [1, 'x'] }, 'x'), []);
  assert.equal(validate({ minimum: 0 }, 'not a number'), []);
  assert.equal(validate({ pattern: '^a' }, 5), []);
  assert.equal(validate({ minimum: 0 }, -0.5), ['$: -0.5 is less than the minimum 0']);
});

test('validate: paths name array items and odd keys', () => {
  const s = { type: 'object', properties: { 'a b': { type: 'array', items: { type: 'string' } } } };
  assert.equal(validate(s, { 'a b': ['x', 2] }), ['$["a b"][1]: expected string, got integer']);
});

test('validate: oneOf needs exactly one match', () => {
  const s = { oneOf: [{ type: 'integer' }, { type: 'number' }] };
  assert.equal(validate(s, 1.5), []);
  assert.equal(validate(s, 1), ['$: matches 2 of the oneOf alternatives, expected exactly one']);
  assert.is(validate(s, 'x').length, 1);
});

test('validate: local $ref resolves, an unsupported keyword or remote $ref throws', () => {
  const s = { $defs: { n: { type: 'integer' } }, properties: { a: { $ref: '#/$defs/n' } } };
  assert.equal(validate(s, { a: 1 }), []);
  assert.equal(validate(s, { a: 'x' }), ['$.a: expected integer, got string']);
  assert.throws(() => validate({ maxLength: 3 }, 'abcd'), /unsupported JSON Schema keyword "maxLength"/);
  assert.throws(() => validate({ $ref: 'https://example.com/s.json' }, 1), /only local \$ref/);
  assert.throws(() => validate({ $ref: '#/$defs/nope' }, 1), /does not resolve/);
  assert.throws(() => validate({ additionalProperties: { type: 'string' } }, {}), /only "additionalProperties": false/);
});

test.run();
