// A tiny JSON Schema (draft 2020-12) validator for schema/fdwatch-v1.schema.json. Pure, no I/O, no dependencies.
//
// It implements ONLY the subset that schema uses:
//   type (a name or an array of names: null, boolean, object, array, number, integer, string),
//   const, enum, required, properties, additionalProperties: false, items, oneOf, pattern, minimum,
//   $ref to a JSON pointer inside the same document ("#/$defs/Name"), $defs as a container, true/false schemas.
// Annotations ($schema, $id, title, description) are ignored. Any other keyword throws, so a schema
// edit that needs more of JSON Schema fails loudly instead of being silently accepted.

/** Validates `value` against `schema`; returns error messages ("$.from.pid: expected integer, got string"), [] when valid. */
export function validate(schema: unknown, value: unknown): string[] {
  const out: Err[] = [];
  check(schema, value, '$', schema, out, 0);
  return out.map((e) => `${e.path}: ${e.message}`);
}

interface Err {
  path: string;
  message: string;
  /** set when a `const` did not match (with the value found): used to pick the intended oneOf alternative */
  constant?: unknown;
  actual?: unknown;
  /** set when the value had none of the schema's types */
  wrongType?: true;
}

const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', '$defs']);
const KEYWORDS = new Set(['type', 'const', 'enum', 'required', 'properties', 'additionalProperties', 'items', 'oneOf', 'pattern', 'minimum', '$ref']);
const TYPES = new Set(['null', 'boolean', 'object', 'array', 'number', 'integer', 'string']);
const MAX_DEPTH = 64;
const patterns = new Map<string, RegExp>();

type Schema = Record<string, unknown>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function check(schema: unknown, value: unknown, path: string, root: unknown, out: Err[], depth: number): void {
  if (schema === true) return;
  if (schema === false) { out.push({ path, message: 'no value is allowed here' }); return; }
  if (!isObject(schema)) throw new Error(`schema at ${path} is not an object or boolean`);
  if (depth > MAX_DEPTH) throw new Error(`schema nests deeper than ${MAX_DEPTH} at ${path} ($ref cycle?)`);
  for (const k of Object.keys(schema)) {
    if (!KEYWORDS.has(k) && !ANNOTATIONS.has(k)) throw new Error(`unsupported JSON Schema keyword "${k}" (schema for ${path})`);
  }
  const s: Schema = schema;

  if (s['$ref'] !== undefined) check(resolve(root, s['$ref']), value, path, root, out, depth + 1);

  if (s['type'] !== undefined) {
    const types = Array.isArray(s['type']) ? s['type'] : [s['type']];
    for (const t of types) if (typeof t !== 'string' || !TYPES.has(t)) throw new Error(`unknown type ${JSON.stringify(t)} (schema for ${path})`);
    if (!types.some((t) => hasType(value, t as string))) {
      out.push({ path, message: `expected ${types.join(' or ')}, got ${typeName(value)}`, wrongType: true });
      return; // the other keywords would only repeat the mismatch
    }
  }

  if ('const' in s && !jsonEqual(s['const'], value)) {
    out.push({ path, message: `expected ${JSON.stringify(s['const'])}, got ${show(value)}`, constant: s['const'], actual: value });
  }

  if (s['enum'] !== undefined) {
    const values = s['enum'];
    if (!Array.isArray(values)) throw new Error(`enum is not an array (schema for ${path})`);
    if (!values.some((e) => jsonEqual(e, value))) {
      out.push({ path, message: `expected one of ${values.map((e) => JSON.stringify(e)).join(', ')}, got ${show(value)}` });
    }
  }

  if (typeof value === 'number' && s['minimum'] !== undefined) {
    if (typeof s['minimum'] !== 'number') throw new Error(`minimum is not a number (schema for ${path})`);
    if (value < s['minimum']) out.push({ path, message: `${value} is less than the minimum ${s['minimum']}` });
  }

  if (typeof value === 'string' && s['pattern'] !== undefined) {
    if (typeof s['pattern'] !== 'string') throw new Error(`pattern is not a string (schema for ${path})`);
    if (!regex(s['pattern']).test(value)) out.push({ path, message: `${show(value)} does not match ${s['pattern']}` });
  }

  if (isObject(value)) {
    const props = s['properties'];
    if (props !== undefined && !isObject(props)) throw new Error(`properties is not an object (schema for ${path})`);
    if (s['required'] !== undefined) {
      if (!Array.isArray(s['required'])) throw new Error(`required is not an array (schema for ${path})`);
      for (const k of s['required']) {
        if (typeof k !== 'string') throw new Error(`required holds a non-string (schema for ${path})`);
        if (!Object.prototype.hasOwnProperty.call(value, k)) out.push({ path, message: `missing required field ${JSON.stringify(k)}` });
      }
    }
    if (s['additionalProperties'] !== undefined && s['additionalProperties'] !== false) {
      throw new Error(`only "additionalProperties": false is supported (schema for ${path})`);
    }
    for (const [k, v] of Object.entries(value)) {
      const sub = props !== undefined && Object.prototype.hasOwnProperty.call(props, k) ? props[k] : undefined;
      if (sub !== undefined) check(sub, v, member(path, k), root, out, depth + 1);
      else if (s['additionalProperties'] === false) out.push({ path, message: `unknown field ${JSON.stringify(k)}` });
    }
  }

  if (Array.isArray(value) && s['items'] !== undefined) {
    value.forEach((item, i) => check(s['items'], item, `${path}[${i}]`, root, out, depth + 1));
  }

  if (s['oneOf'] !== undefined) {
    if (!Array.isArray(s['oneOf']) || s['oneOf'].length === 0) throw new Error(`oneOf is not a non-empty array (schema for ${path})`);
    oneOf(s['oneOf'], value, path, root, out, depth);
  }
}

function oneOf(alternatives: unknown[], value: unknown, path: string, root: unknown, out: Err[], depth: number): void {
  const results = alternatives.map((alt) => {
    const errs: Err[] = [];
    check(alt, value, path, root, errs, depth + 1);
    return errs;
  });
  const matched = results.filter((r) => r.length === 0).length;
  if (matched === 1) return;
  if (matched > 1) { out.push({ path, message: `matches ${matched} of the oneOf alternatives, expected exactly one` }); return; }

  // None matched. The intended alternative is the one with the fewest `const` mismatches
  // (for the record union: the one whose "type" matched); report its errors.
  const constErrs = results.map((r) => r.filter((e) => 'constant' in e));
  const fewest = Math.min(...constErrs.map((c) => c.length));
  let best = results.filter((_, i) => constErrs[i]!.length === fewest);
  // ... and among those, one that accepts the value's type (a nullable object: the object alternative)
  const typed = best.filter((r) => !r.some((e) => e.wrongType && e.path === path));
  if (typed.length > 0) best = typed;
  if (best.length === 1) { out.push(...best[0]!); return; }

  // Several alternatives fail a const at the same place (a wrong discriminant): list the allowed values.
  if (fewest === 1) {
    const at = constErrs[0]![0]!.path;
    if (constErrs.every((c) => c.length === 1 && c[0]!.path === at)) {
      const wanted = constErrs.map((c) => JSON.stringify(c[0]!.constant));
      out.push({ path: at, message: `expected one of ${wanted.join(', ')}, got ${show(constErrs[0]![0]!.actual)}` });
      return;
    }
  }
  const firsts = new Set(best.map((r) => r[0]!).map((e) => (e.path === path ? e.message : `${e.path}: ${e.message}`)));
  out.push({ path, message: `matches none of the oneOf alternatives (${[...firsts].join(' | ')})` });
}

/** A "#/a/b" JSON pointer into the root schema. */
function resolve(root: unknown, ref: unknown): unknown {
  if (typeof ref !== 'string' || !ref.startsWith('#')) throw new Error(`only local $ref ("#/...") is supported, got ${JSON.stringify(ref)}`);
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${JSON.stringify(ref)}`);
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(node) || !Object.prototype.hasOwnProperty.call(node, key)) throw new Error(`$ref ${ref} does not resolve`);
    node = node[key];
  }
  return node;
}

function hasType(v: unknown, t: string): boolean {
  switch (t) {
    case 'null': return v === null;
    case 'boolean': return typeof v === 'boolean';
    case 'object': return isObject(v);
    case 'array': return Array.isArray(v);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'string': return typeof v === 'string';
    default: return false;
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

function regex(p: string): RegExp {
  let r = patterns.get(p);
  if (!r) { r = new RegExp(p, 'u'); patterns.set(p, r); }
  return r;
}

function member(path: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}
