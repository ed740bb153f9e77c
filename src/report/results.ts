// What a reproduction produces, as plain data: for each suite its settings, numbers,
// tables, figures (Vega-Lite specs with their data inline) and a verdict. results.json
// is this object; the report renders it.

/** holds: every setting agrees; fails: the measurements contradict the claim; mixed: some settings do,
 * some do not; inconclusive: the 95% intervals cannot tell. */
export type Status = 'holds' | 'fails' | 'mixed' | 'inconclusive';

export interface Verdict {
  status: Status;
  /** One sentence a reader can take away, with the deciding numbers. */
  statement: string;
}

export interface Table {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  note?: string;
}

/** A Vega-Lite specification (plain JSON, data inline). */
export type VegaLiteSpec = Record<string, unknown>;

export interface Figure {
  /** File name stem under figures/. */
  id: string;
  title: string;
  caption: string;
  spec: VegaLiteSpec;
}

export type SuiteId = 'escape' | 'excess' | 'tradeoff' | 'toy';

export interface SuiteResult {
  id: SuiteId;
  title: string;
  /** The paper's claim, as tested. */
  claim: string;
  /** How it is tested, in a few sentences (the method, what the statistic means). */
  method: string;
  verdict: Verdict;
  /** A sentence of interpretation of what was measured. */
  interpretation: string;
  settings: Record<string, unknown>;
  tables: Table[];
  figures: Figure[];
  /** Every number the tables and figures were drawn from. */
  data: Record<string, unknown>;
  seconds: number;
}

export interface Results {
  title: string;
  command: string;
  scale: string;
  /** What the scale measures and how much its 95% intervals can resolve, said at the top of the report. */
  scaleNote?: string;
  started: string;
  finished: string;
  seconds: number;
  environment: Record<string, unknown>;
  load: { before: number[]; after: number[] };
  work: { computed: number; reused: number; seconds: number };
  suites: SuiteResult[];
}
