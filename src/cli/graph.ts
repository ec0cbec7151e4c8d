// `--dot FILE` (replay and live mode): the graph written at the end, and drawn as SVG when Graphviz is there.
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { DotGraph } from '../export/dot.js';
import { writeFailure } from './output.js';

/**
 * Writes the graph to `file` and renders it to SVG beside it (FILE.svg, FILE's .dot suffix dropped) when Graphviz's
 * dot is on PATH; returns what to tell, or the one line of a failure.
 */
export function writeGraph(graph: DotGraph, file: string, title: string): { message: string; failure: string | null } {
  try { fs.writeFileSync(file, graph.render(title)); } catch (e) {
    return { message: '', failure: `${writeFailure(file, e).replace(/, open '.*'(?= \()/, '')}: give --dot a file in a folder you can write` };
  }
  const svg = file.replace(/\.(dot|gv)$/, '') + '.svg';
  const r = spawnSync('dot', ['-Tsvg', '-o', svg, file], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const n = graph.edges().length;
  const what = `graph of ${n} transfer${n === 1 ? '' : 's'} in ${file}`;
  if (r.error) return { message: `${what}; install graphviz to draw it (dot -Tsvg ${file} -o ${svg})`, failure: null };
  if (r.status !== 0) return { message: `${what}; dot could not draw it: ${(r.stderr ?? '').trim().split('\n')[0] ?? ''}`, failure: null };
  return { message: `${what}, drawn in ${svg}`, failure: null };
}
