// The dashboard's modules as a graph, read from the sources: no import loop (type imports count too), and the
// records -> view-model fold stays free of the terminal so other views can reuse it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { root } from '../paths.js';

const TUI = path.join(root, 'src', 'tui');
const VIEW = path.join(root, 'src', 'view');
const FROM = /^\s*(?:import|export)\b[^'"]*?\bfrom\s+'([^']+)'/gm;

/** module name -> the modules of DIR it imports (and the outside ones, with their relative path). */
function graph(DIR = TUI): Map<string, { inside: string[]; outside: string[] }> {
  const g = new Map<string, { inside: string[]; outside: string[] }>();
  for (const f of fs.readdirSync(DIR).filter((x) => x.endsWith('.ts')).sort()) {
    const text = fs.readFileSync(path.join(DIR, f), 'utf8');
    const inside: string[] = [];
    const outside: string[] = [];
    for (const m of text.matchAll(FROM)) {
      const spec = m[1]!;
      if (spec.startsWith('./')) inside.push(spec.slice(2).replace(/\.js$/, ''));
      else outside.push(spec);
    }
    g.set(f.replace(/\.ts$/, ''), { inside, outside });
  }
  return g;
}

function cycle(g: Map<string, { inside: string[] }>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === 'done') return null;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const d of g.get(n)?.inside ?? []) { const c = visit(d); if (c) return c; }
    stack.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of g.keys()) { const c = visit(n); if (c) return c; }
  return null;
}

test('src/tui has no import loop', () => {
  const g = graph();
  assert.ok(g.size >= 5, `read ${g.size} modules`);
  assert.ok(g.get('app')!.inside.includes('screen'), 'the graph was read (app imports screen)');
  for (const [n, e] of g) for (const d of e.inside) assert.ok(g.has(d), `${n} imports ./${d}.js, which is not in src/tui`);
  const c = cycle(g);
  assert.is(c, null, `import loop: ${c?.join(' -> ')}`);
});

test('the records -> view-model fold (src/view) imports nothing of the terminal: only the record types, names and the ring', () => {
  const g = graph(VIEW);
  assert.equal(g.get('model'), { inside: ['ring', 'provenance'], outside: ['../model/records.js'] });
  assert.equal(g.get('provenance'), { inside: [], outside: ['../model/records.js', '../model/names.js'] });
  assert.equal(g.get('ring'), { inside: [], outside: [] });
});

test.run();
