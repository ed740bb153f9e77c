// Kinds of config fields as zod schemas, each with its help (description, unit,
// allowed values). A field takes its value as typed in YAML/JSON or as text from
// the command line ("64", "256,128", "null"), and says what is wrong in one line.
// Object schemas of such fields are parsed by parseFields, which accepts each key
// in its flag spelling too (batch-size for batchSize).
import { z } from 'zod';
import { ConfigError } from '../errors.js';

export interface FieldInfo {
  /** One line: what the field is. */
  description: string;
  /** What the value counts or measures (examples, steps). */
  unit?: string;
  /** The allowed values, when they are a list. */
  values?: readonly string[];
  /** How the value is written in help: N, μ, NAME, FILE. */
  placeholder: string;
  /** The heading the field is listed under in help. */
  group?: string;
  /**
   * A run field that only extends the run (its length) or shapes its output: `--resume` may change it.
   * Every other run field is the recorded run's, and a resume that would change it is refused.
   */
  resumable?: true;
}

/** Help of every field made by field(). */
export const fieldInfo = z.registry<FieldInfo>();

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v));
const numberFromText = (v: unknown): unknown =>
  typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;

/** A whole number ≥ min. */
export const integer = (min: number) => {
  const notWhole = (iss: { input: unknown }): string => `${show(iss.input)} is not a whole number`;
  return z.preprocess(
    numberFromText,
    z
      .number({ error: notWhole })
      .int({ error: notWhole })
      .min(min, { error: (iss) => `must be at least ${min}, got ${show(iss.input)}` }),
  );
};

/** A finite number, ≥ min, > above, < below and ≤ max where given. */
export const real = (o: { min?: number; above?: number; below?: number; max?: number } = {}) => {
  const range = [
    o.min !== undefined && `≥ ${o.min}`,
    o.above !== undefined && `> ${o.above}`,
    o.below !== undefined && `< ${o.below}`,
    o.max !== undefined && `≤ ${o.max}`,
  ]
    .filter(Boolean)
    .join(' and ');
  const outside = (iss: { input: unknown }): string => `must be a number ${range}, got ${show(iss.input)}`;
  let n = z.number({ error: (iss) => `${show(iss.input)} is not a number` });
  if (o.min !== undefined) n = n.min(o.min, { error: outside });
  if (o.above !== undefined) n = n.gt(o.above, { error: outside });
  if (o.below !== undefined) n = n.lt(o.below, { error: outside });
  if (o.max !== undefined) n = n.max(o.max, { error: outside });
  return z.preprocess(numberFromText, n);
};

/** One of a list of names; aliases are other spellings of a name ('diffusion' for 'atc'). */
export const choice = <const T extends readonly [string, ...string[]]>(
  values: T,
  noun: string,
  aliases: Record<string, T[number]> = {},
) =>
  z.preprocess(
    (v) => (typeof v === 'string' && Object.hasOwn(aliases, v) ? aliases[v] : v),
    z.enum(values, {
      error: (iss) => `unknown ${noun} ${show(iss.input)} — one of ${[...values, ...Object.keys(aliases)].join(', ')}`,
    }),
  );

/** Text (a name, a path); a number in YAML is read as its text. */
export const text = () =>
  z.preprocess(
    (v) => (typeof v === 'number' ? String(v) : v),
    z.string({ error: (iss) => `must be text, got ${show(iss.input)}` }),
  );

/** true or false. */
export const flag = () =>
  z.preprocess(
    (v) => (v === 'true' ? true : v === 'false' ? false : v),
    z.boolean({ error: (iss) => `must be true or false, got ${show(iss.input)}` }),
  );

/** Whole numbers ≥ 1, as a list or as comma-separated text ("256,128"). */
export const widths = () => {
  const bad = (iss: { input: unknown }): string => `must be widths like 256 or 256,128, got ${show(iss.input)}`;
  return z.preprocess(
    (v) =>
      typeof v === 'string' ? v.split(',').map((s) => numberFromText(s.trim())) : typeof v === 'number' ? [v] : v,
    z.array(z.number({ error: bad }).int({ error: bad }).min(1, { error: bad }), { error: bad }).min(1, { error: bad }),
  );
};

/** A list of values of one kind, as a list or as comma-separated text ("trace,eigs"). */
export const list = <S extends z.ZodType>(kind: S, noun: string) =>
  z.preprocess(
    (v) => {
      if (typeof v !== 'string') return v;
      const items = v.split(',').map((s) => s.trim());
      if (items.length === 1 && items[0] === '') return [];
      // An empty item ('1,,2', '1,') is refused as a malformed list rather than silently dropped.
      return items.includes('') ? v : items;
    },
    z
      .array(kind, { error: (iss) => `must be a comma-separated list with no empty item, got ${show(iss.input)}` })
      .min(1, { error: `name at least one ${noun}` }),
  );

/** A value that may be absent: null, or the text "null" on the command line. */
export const optional = <S extends z.ZodType>(kind: S) =>
  z.preprocess((v) => (v === 'null' ? null : v), kind.nullable());

/** A field: its kind, its default, its help. */
export function field<S extends z.ZodType>(kind: S, fallback: z.output<S>, info: FieldInfo) {
  const f = kind.default(fallback as never);
  fieldInfo.add(f, info);
  return f;
}

/** A field without a default: leaving it out is an error. */
export function required<S extends z.ZodType>(kind: S, info: FieldInfo): S {
  fieldInfo.add(kind, info);
  return kind;
}

/** The help of a field made by field() or required(). */
export function infoOf(schema: z.ZodType): FieldInfo {
  const info = fieldInfo.get(schema);
  if (!info) throw new Error('infoOf: a schema made without field() or required()');
  return info;
}

/** A field's help: description, allowed values, unit, and its default (unless omitted) or that it is required. */
export function describeField(schema: z.ZodType, o: { showDefault?: boolean } = {}): string {
  const info = infoOf(schema);
  const parts = [info.description];
  if (info.values) parts.push(`: ${info.values.join(' | ')}`);
  if (info.unit) parts.push(` [${info.unit}]`);
  const fallback = schema.safeParse(undefined);
  if (!fallback.success) parts.push(' (required)');
  else if (o.showDefault !== false && fallback.data !== null) parts.push(` (default ${formatValue(fallback.data)})`);
  return parts.join('');
}

const formatValue = (v: unknown): string =>
  Array.isArray(v)
    ? v.join(',')
    : v !== null && typeof v === 'object' && 'kind' in v
      ? String(v.kind)
      : typeof v === 'string'
        ? v
        : JSON.stringify(v);

/** kebab-case of a camelCase name: batchSize → batch-size. */
export const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
/** camelCase of a kebab-case name: batch-size → batchSize. */
export const camel = (name: string): string => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Edit distance (insertions, deletions, substitutions, adjacent swaps). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate nearest to a misspelt name (case, '-' and '_' aside first), or null when none is close:
 * within 2 edits, or a third of the name's length for a long one — a far guess misleads more than none.
 */
export function nearest(word: string, candidates: readonly string[]): string | null {
  const plain = (s: string): string => s.toLowerCase().replace(/[-_]/g, '');
  if (candidates.length === 0) return null;
  const best = candidates.reduce((best, c) => {
    const [dc, db] = [
      distance(plain(word), plain(c)) + distance(word, c) / 100,
      distance(plain(word), plain(best)) + distance(word, best) / 100,
    ];
    return dc < db ? c : best;
  });
  const d = distance(plain(word), plain(best));
  return d <= Math.max(2, Math.floor(plain(word).length / 3)) && d < plain(word).length ? best : null;
}

/**
 * Keys in either spelling (batch-size or batchSize) to the schema's own (batchSize).
 * @throws ConfigError(key) for an unknown key, naming the nearest valid one, or a key given in both spellings.
 */
export function normalizeKeys(input: Record<string, unknown>, known: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const name = camel(key);
    if (!known.includes(name)) {
      // The guess in the key's own spelling; the allowed keys always in the flags' (both are accepted).
      const guess = nearest(key, key.includes('-') ? known.map(kebab) : known);
      throw new ConfigError(
        key,
        `unknown key${guess === null ? '' : ` — did you mean '${guess}'?`} (allowed: ${known.map(kebab).join(', ')})`,
      );
    }
    if (Object.hasOwn(out, name)) throw new ConfigError(key, `given twice (as ${kebab(name)} and ${name}) — keep one`);
    out[name] = value;
  }
  return out;
}

/**
 * An object schema's value from a partial input, over the fields' defaults.
 * @throws ConfigError(field) with the first thing wrong.
 */
export function parseFields<S extends z.ZodObject>(schema: S, input: Record<string, unknown>): z.output<S> {
  const r = schema.safeParse(normalizeKeys(input, Object.keys(schema.shape)), { reportInput: true });
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new ConfigError(String(issue.path[0] ?? '(config)'), issue.input === undefined ? 'is required' : issue.message);
}
