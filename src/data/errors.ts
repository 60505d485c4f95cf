// Dataset errors and warnings: "where: what; expected X, got Y" plus a hint, and a sink for tolerated quirks.
import { InternvlaError } from "../tensor/errors.ts";

/** A dataset folder, file or field is missing, malformed, or disagrees with its metadata. */
export class DatasetError extends InternvlaError {}

/** A tolerated quirk: the reader worked around it and says what was off. */
export interface DatasetWarning {
  /** A stable code, e.g. "totals-mismatch", "missing-video", "wallclock-timestamps". */
  readonly code: string;
  /** "file or field: what was off; expected X, found Y; what we did". */
  readonly message: string;
}

/** Receives warnings; the CLI prints them, tests collect them. Defaults to collecting into a list. */
export type WarnFn = (w: DatasetWarning) => void;

/** A WarnFn that stores warnings (deduplicated by message) for later reporting. */
export function collectWarnings(): { warn: WarnFn; list: DatasetWarning[] } {
  const list: DatasetWarning[] = [];
  const seen = new Set<string>();
  return {
    list,
    warn: (w) => {
      if (seen.has(w.message)) return;
      seen.add(w.message);
      list.push(w);
    },
  };
}
