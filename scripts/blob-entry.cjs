// @ts-check
// The start-up snapshot's entry (scripts/build-blob.mjs runs it under `node --build-snapshot`): it holds the CLI's
// modules (dist/blob/cjs, tsc's CommonJS emit of src/) compiled, evaluates those that `--help`, `snapshot`,
// `replay` and `watch` import statically, and leaves the rest compiled for the code that loads them; node then saves the heap as
// dist/blob/fdwatch.blob. bin/fdwatch starts `node --snapshot-blob dist/blob/fdwatch.blob -- ARGS` when that
// blob is usable: no module is read, resolved, compiled or evaluated at start-up then (the ESM loader was half
// of `fdwatch snapshot PID`'s start).
//
// What a module's top level computes is frozen into the blob. While modules are evaluated here, reading the
// environment, argv, cwd, pid, time, randomness, a tty, the file system or the host's facts, installing a
// listener or a timer, or asking import.meta.url is an error that fails the build (a tripwire, below): such
// code belongs in a function that runs when a command runs.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');

const SOURCES = process.env['FDWATCH_BLOB_SOURCES']; // dist/blob/cjs
if (!SOURCES) throw new Error('FDWATCH_BLOB_SOURCES is not set (scripts/build-blob.mjs sets it)');
/** FDWATCH_BLOB_COMMAND=snapshot: the blob of that command alone (dist/blob/snapshot.blob): main.js, its static
 * imports, and what the command's module reaches; nothing of the other commands (the watch, replay, eBPF and
 * dashboard modules), which 0.9 MB less of blob to read and deserialize makes 6-8 ms of `fdwatch snapshot PID`'s
 * start. A module it lacks is compiled from dist/blob/cjs when it is first loaded (never, if the walk is right). */
const COMMAND = process.env['FDWATCH_BLOB_COMMAND'] || null;
const COMMANDS = { snapshot: 'src/cli/snapshot.js' };
if (COMMAND !== null && !(COMMAND in COMMANDS)) throw new Error(`FDWATCH_BLOB_COMMAND: no command ${COMMAND} (${Object.keys(COMMANDS).join(', ')})`);
/** which modules are evaluated while building: these commands' and their static imports (5.59 MB; all of
 * them, FDWATCH_BLOB_EVALUATE=all, make 6.31 MB: ~6 ms more CPU for --help), or all of them (the build's audit of every top level) */
const EVALUATE = process.env['FDWATCH_BLOB_EVALUATE'] === 'all' ? 'all'
  : COMMAND !== null ? ['src/cli/main.js', COMMANDS[COMMAND]]
  : ['src/cli/main.js', 'src/cli/snapshot.js', 'src/cli/replay.js', 'src/cli/watch.js', 'src/cli/backend.js'];
/** the module that runs the CLI: evaluated at run time, last */
const MAIN = 'src/cli/main.js';
/** built-ins node does not vouch for in a snapshot (it warns when they load while building): a module gets a
 * stand-in that loads the real one when a property is first read, which is at run time */
const LAZY_BUILTINS = ['node:child_process', 'node:module'];
/** programs of their own, not modules: node runs them from dist/src (the snapshot helper, src/procfs/scan.ts) */
const PROGRAMS = ['src/procfs/scan-child.js'];

// ---- the modules, compiled (each a function of its own script, named after its CommonJS file) ----

/** @type {Map<string, { fn: Function, deps: string[] }>} keyed by 'src/…/x.js' */
const defs = new Map();
/** property names each lazy built-in is read for (its stand-in's getters) */
const lazyNames = new Map(LAZY_BUILTINS.map((b) => [b, new Set()]));
/** a copy of a string that is part of a bigger one: the part would keep the whole (a file's text) in the blob */
const flat = (s) => /** @type {string} */ (JSON.parse(JSON.stringify(s)));
const STATIC = /^(?:(?:const|var|let) \w+ = )?(?:__importDefault\(|__importStar\(|__exportStar\()?require\("([^"]+)"\)/gm;
/** every require of a module, its dynamic imports' too (tsc writes `Promise.resolve().then(() => __importStar(require('./x.js')))`) */
const ANY = /\brequire\((["'])([^"']+)\1\)/g;

/** A CommonJS file of dist/blob/cjs as the loader's module function, and its static and other requires. */
function compile(p, text) {
  // import.meta is the module's own (its dist/src URL, asked at run time); source one-byte (V8 keeps a
  // source holding any other character as two bytes a character: the blob grew by a megabyte)
  const body = text
    .replace(/\bimport\.meta\b/g, '__fdwatch_meta')
    .replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const fn = (0, eval)(`(function (exports, require, module, __fdwatch_meta) {${body}\n})\n//# sourceURL=${p}`);
  return { fn, deps: [...text.matchAll(STATIC)].map((m) => flat(m[1])) };
}
/** every module's requires, dynamic ones too (for the walk of FDWATCH_BLOB_COMMAND; emptied before the heap is saved) */
const allDeps = new Map();

(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.js')) {
      const id = path.relative(SOURCES, p).split(path.sep).join('/');
      if (PROGRAMS.includes(id)) continue;
      const text = fs.readFileSync(p, 'utf8');
      for (const [b, names] of lazyNames) {
        const alias = `${b.replace(/\W/g, '_')}_\\d+`;
        for (const m of text.matchAll(new RegExp(`\\b${alias}\\.(?:default\\.)?(\\w+)`, 'g'))) if (m[1] !== 'default') names.add(flat(m[1]));
      }
      defs.set(id, compile(p, text));
      allDeps.set(id, [...text.matchAll(ANY)].map((m) => m[2]));
    }
  }
})(path.join(SOURCES, 'src'));
if (!defs.has(MAIN)) throw new Error(`no ${MAIN} in ${SOURCES}`);

const target = (from, spec) => (spec.startsWith('.') ? path.posix.join(path.posix.dirname(from), spec) : null);

if (COMMAND !== null) {
  // main.js's static imports, the command's module, and all that these reach (dynamic imports too); main.js's
  // dynamic imports of the other commands are left out
  const keep = new Set();
  const visit = (id, specs) => {
    if (keep.has(id) || !defs.has(id)) return;
    keep.add(id);
    for (const s of specs(id)) { const t = target(id, s); if (t) visit(t, all); }
  };
  const all = (id) => allDeps.get(id) ?? [];
  visit(MAIN, (id) => /** @type {{deps: string[]}} */ (defs.get(id)).deps);
  visit(COMMANDS[COMMAND], all);
  for (const id of [...defs.keys()]) if (!keep.has(id)) defs.delete(id);
}
allDeps.clear();

// a module that imports a package (blessed) cannot be evaluated here (node loads no user module while building),
// nor any module that imports it
const deferred = new Set();
for (let grew = true; grew;) {
  grew = false;
  for (const [id, d] of defs) {
    if (deferred.has(id)) continue;
    if (d.deps.some((s) => { const t = target(id, s); return t === null ? !s.startsWith('node:') : deferred.has(t); })) {
      deferred.add(id);
      grew = true;
    }
  }
}
const toEvaluate = new Set();
if (EVALUATE === 'all') for (const id of defs.keys()) toEvaluate.add(id);
else {
  const visit = (id) => {
    if (toEvaluate.has(id) || !defs.has(id)) return;
    toEvaluate.add(id);
    for (const s of /** @type {{deps: string[]}} */ (defs.get(id)).deps) { const t = target(id, s); if (t) visit(t); }
  };
  EVALUATE.forEach(visit);
}
toEvaluate.delete(MAIN);
for (const id of deferred) toEvaluate.delete(id);

// ---- the loader ----

let building = true;
/** @type {string | null} the package's folder, found at run time from the blob's path */
let root = null;
const rootDir = () => {
  if (root === null) throw new Error('fdwatch blob: the package folder is not known yet');
  return root;
};
/** @type {Map<string, { exports: unknown }>} */
const cache = new Map();
/** @type {string[]} the modules being evaluated, innermost last */
const evaluating = [];
/** @type {string[]} */
const trips = [];
const trip = (what) => { if (building) trips.push(`${evaluating[evaluating.length - 1] ?? '(loader)'}: ${what}`); };

function load(id) {
  const hit = cache.get(id);
  if (hit) return hit.exports;
  const d = defs.get(id) ?? (building ? undefined : fromDisk(id));
  if (!d) throw new Error(`fdwatch blob: no module ${id}`);
  const module = { exports: {} };
  cache.set(id, module);
  let url = null;
  const meta = {
    get url() {
      if (building) { trip('import.meta.url at import time (the path of the machine that built the blob)'); return 'file:///'; }
      return (url ??= require('node:url').pathToFileURL(path.join(rootDir(), 'dist', id)).href);
    },
  };
  evaluating.push(id);
  try {
    d.fn.call(module.exports, module.exports, requireFrom(id), module, meta);
  } finally {
    evaluating.pop();
  }
  return module.exports;
}

/** A module this blob does not hold (a command's blob lacks the other commands'), compiled from dist/blob/cjs. */
function fromDisk(id) {
  const p = path.join(rootDir(), 'dist', 'blob', 'cjs', id);
  let text;
  try { text = fs.readFileSync(p, 'utf8'); } catch { return undefined; }
  const d = compile(p, text);
  defs.set(id, d);
  return d;
}

/** @type {Map<string, object>} */
const standIns = new Map();
function standIn(b) {
  let s = standIns.get(b);
  if (s) return s;
  s = {};
  let real = null;
  for (const name of /** @type {Set<string>} */ (lazyNames.get(b))) {
    Object.defineProperty(s, name, { enumerable: true, get: () => /** @type {Record<string, unknown>} */ (real ??= require(b))[name] });
  }
  standIns.set(b, s);
  return s;
}

function requireFrom(id) {
  return (spec) => {
    const t = target(id, spec);
    if (t !== null && defs.has(t)) return load(t);
    if (spec.startsWith('node:')) return building && lazyNames.has(spec) ? standIn(spec) : builtin(spec);
    if (building) throw new Error(`${id}: package ${spec} while building the snapshot (node loads none then)`);
    // a package (blessed, koffi's loader): from node_modules, as the dist/src module would have it
    return require('node:module').createRequire(path.join(rootDir(), 'dist', id))(spec);
  };
}

// ---- tripwires: what a top level must not read or start while the modules are evaluated here ----

/** @type {(() => void)[]} */
const restore = [];
/** the property's descriptor where obj or its prototype chain has it, and whether obj itself does */
function find(obj, key) {
  for (let o = obj; o !== null; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, key);
    if (d) return { d, own: o === obj };
  }
  return null;
}
function shadow(obj, key, d, own) {
  Object.defineProperty(obj, key, d);
  restore.push(() => {
    if (own) Object.defineProperty(obj, key, own);
    else delete obj[key];
  });
}
function wrapMethod(obj, key, what) {
  const f = find(obj, key);
  if (!f || typeof f.d.value !== 'function') return;
  const orig = f.d.value;
  // a top level that kept the function itself keeps this pass-through
  const wrapped = function (...args) { trip(what); return new.target ? Reflect.construct(orig, args, new.target) : orig.apply(this, args); };
  Object.defineProperties(wrapped, Object.getOwnPropertyDescriptors(orig));
  shadow(obj, key, { configurable: true, writable: true, enumerable: f.d.enumerable, value: wrapped }, f.own ? f.d : null);
}
function wrapGetter(obj, key, what) {
  const f = find(obj, key);
  if (!f || (f.own && !f.d.configurable)) return;
  const d = f.d;
  let value = d.value;
  shadow(obj, key, {
    configurable: true, enumerable: d.enumerable,
    get() { trip(what); return d.get ? d.get.call(this) : value; },
    set(v) { trip(what); if (d.set) d.set.call(this, v); else value = v; },
  }, f.own ? d : null);
}

function armTripwires() {
  const env = process.env;
  const envTrap = new Proxy(env, {
    get: (t, k) => { if (typeof k === 'string') trip(`process.env.${k}`); return Reflect.get(t, k); },
    has: (t, k) => { trip(`process.env (${String(k)} in)`); return Reflect.has(t, k); },
    ownKeys: (t) => { trip('process.env (its keys)'); return Reflect.ownKeys(t); },
    set: (t, k, v) => { trip(`process.env.${String(k)} =`); return Reflect.set(t, k, v); },
  });
  process.env = envTrap;
  restore.push(() => { process.env = env; });
  for (const k of ['argv', 'argv0', 'execArgv', 'execPath', 'pid', 'ppid', 'title', 'stdin', 'stdout', 'stderr', 'exitCode', 'debugPort']) wrapGetter(process, k, `process.${k}`);
  for (const k of ['cwd', 'chdir', 'hrtime', 'uptime', 'memoryUsage', 'cpuUsage', 'resourceUsage', 'getuid', 'geteuid', 'getgid', 'getegid', 'getgroups', 'umask',
    'on', 'once', 'addListener', 'prependListener', 'prependOnceListener', 'nextTick', 'kill', 'exit', 'emitWarning']) wrapMethod(process, k, `process.${k}()`);
  wrapMethod(process.hrtime, 'bigint', 'process.hrtime.bigint()');
  for (const k of ['setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask']) wrapMethod(globalThis, k, `${k}()`);
  wrapMethod(Date, 'now', 'Date.now()');
  const RealDate = Date;
  // new Date() and Date(): now; a Date's local fields: the time zone
  globalThis.Date = new Proxy(RealDate, {
    construct: (t, args, nt) => { if (args.length === 0) trip('new Date()'); return Reflect.construct(t, args, nt); },
    apply: (t, self, args) => { trip('Date()'); return Reflect.apply(t, self, args); },
  });
  restore.push(() => { globalThis.Date = RealDate; });
  for (const k of ['getTimezoneOffset', 'getFullYear', 'getMonth', 'getDate', 'getDay', 'getHours', 'getMinutes', 'getSeconds', 'toString', 'toDateString',
    'toTimeString', 'toLocaleString', 'toLocaleDateString', 'toLocaleTimeString']) wrapMethod(RealDate.prototype, k, `Date.prototype.${k}() (the time zone)`);
  wrapMethod(Math, 'random', 'Math.random()');
  for (const k of ['DateTimeFormat', 'NumberFormat', 'Collator', 'Segmenter', 'RelativeTimeFormat', 'ListFormat', 'PluralRules', 'DisplayNames']) wrapMethod(Intl, k, `Intl.${k} (the locale)`);
  wrapMethod(String.prototype, 'localeCompare', 'String.prototype.localeCompare() (the locale)');
  wrapMethod(Number.prototype, 'toLocaleString', 'Number.prototype.toLocaleString() (the locale)');
}

/** built-ins whose functions read the file system, the host or randomness: wrapped when a module first imports one */
const HOST_BUILTINS = new Set(['node:fs', 'node:os', 'node:crypto', 'node:net', 'node:zlib', 'node:dns', 'node:tty', 'node:readline', 'node:worker_threads']);
const tripped = new Set();
function builtin(spec) {
  const mod = require(spec);
  if (building && HOST_BUILTINS.has(spec) && !tripped.has(spec)) {
    tripped.add(spec);
    for (const k of Object.keys(mod)) if (/^[a-z]/.test(k)) wrapMethod(mod, k, `${spec.slice(5)}.${k}()`);
  }
  return mod;
}

// ---- build: evaluate, check, hand the run to the deserialized process ----

armTripwires();
// performance.now() is seen by what it loads (a tripwire on the global would itself grow the blob by 140 KB)
const perfLoaded = () => process.moduleLoadList.includes('NativeModule internal/perf/performance');
const perfBefore = perfLoaded();
let failure = null;
try {
  for (const id of defs.keys()) if (toEvaluate.has(id)) load(id);
  if (!perfBefore && perfLoaded()) trips.push('(a module): performance (the clock)');
} catch (e) {
  failure = e;
} finally {
  for (const r of restore.reverse()) r();
  restore.length = 0; // nothing of the tripwires stays in the blob but the pass-throughs a top level kept
}
building = false;
if (failure !== null || trips.length > 0) {
  const lines = [...new Set(trips)].map((t) => `  ${t}`);
  if (failure !== null) lines.push(`  threw: ${failure instanceof Error ? failure.stack : String(failure)}`);
  process.stderr.write(`fdwatch blob: module top levels that would freeze the building machine's state into the snapshot:\n${lines.join('\n')}\n` +
    'move them into a function that runs when a command runs (scripts/blob-entry.cjs)\n');
  process.exit(1);
}
// not on stderr: a stdio stream made now (a pipe's socket) would be in the blob
const report = process.env['FDWATCH_BLOB_REPORT'];
if (report) fs.writeFileSync(report, `${COMMAND ?? 'all commands'}: ${defs.size} modules, ${cache.size} evaluated while building, ${deferred.size} loading packages (${[...deferred].join(', ')})\n`);

// what the run-time start below calls, compiled now (and kept in the blob)
fs.realpathSync(SOURCES);

v8.startupSnapshot.setDeserializeMainFunction(() => {
  // node --snapshot-blob PKG/dist/blob/fdwatch.blob -- ARGS: argv is [node, ...ARGS]; PKG, the package, from the blob's path
  const xa = process.execArgv;
  const i = xa.findIndex((a) => a === '--snapshot-blob' || a.startsWith('--snapshot-blob='));
  const blob = i < 0 ? null : xa[i] === '--snapshot-blob' ? xa[i + 1] : xa[i].slice('--snapshot-blob='.length);
  if (!blob) {
    process.stderr.write('fdwatch: cannot start (no --snapshot-blob path)\n');
    process.exit(1);
  }
  root = fs.realpathSync(path.resolve(blob, '..', '..', '..'));
  // as `node bin/fdwatch.js ARGS` has it
  process.argv.splice(1, 0, path.join(root, 'bin', 'fdwatch.js'));
  load(MAIN);
});
