// How long the long commands take on this project's 2-core machine, as measured by
// scripts/readme-figures.mjs (which rewrites this file and the README from real runs;
// `--full` is not rerun there: its figure is from the README's full reproduction).
export const measured = {
  /** `flatdist reproduce --quick`, minutes of wall time from an empty folder. */
  quickMinutes: 1,
  /** `flatdist reproduce --full`, minutes of wall time at most. */
  fullMinutes: 90,
};
