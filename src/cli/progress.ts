// A terminal progress bar with rate and ETA; redraws in place on a TTY, prints sparse lines otherwise.
import { type CliIO } from "./command.ts";

export interface ProgressBar {
  /** Sets the number of finished items and an optional status text (e.g. "loss 0.12"). */
  update(done: number, status?: string): void;
  /** Draws the final state and moves to a new line. */
  finish(status?: string): void;
}

function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** A bar for `total` items labelled `label`; `unit` names the items ("ep", "step", "frame"). */
export function progressBar(io: CliIO, label: string, total: number, unit = "it"): ProgressBar {
  const start = performance.now();
  let lastDraw = 0;
  let lastLinePct = -1;
  const line = (done: number, status: string) => {
    const elapsed = (performance.now() - start) / 1000;
    const rate = done / Math.max(elapsed, 1e-9);
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    const eta = rate > 0 ? (total - done) / rate : NaN;
    return `${label} [${bar}] ${done}/${total} ${unit} ${(frac * 100).toFixed(0)}% ${rate.toFixed(rate < 10 ? 2 : 0)} ${unit}/s elapsed ${fmtDuration(elapsed)} eta ${fmtDuration(eta)}${status ? " " + status : ""}`;
  };
  return {
    update(done, status = "") {
      const now = performance.now();
      if (io.interactive) {
        if (now - lastDraw < 100 && done < total) return;
        lastDraw = now;
        io.err(`\r\x1b[2K${line(done, status)}`);
      } else {
        const pct = total > 0 ? Math.floor((done / total) * 10) : 0;
        if (pct === lastLinePct && done < total) return;
        lastLinePct = pct;
        io.err(`${line(done, status)}\n`);
      }
    },
    finish(status = "") {
      io.err(io.interactive ? `\r\x1b[2K${line(total, status)}\n` : `${line(total, status)}\n`);
    },
  };
}

/** A bar made on the first report, for work whose total is known only once it starts (an onProgress callback). */
export function lazyProgressBar(io: CliIO, label: string, unit = "it"): { onProgress(done: number, total: number): void; finish(status?: string): void } {
  let bar: ProgressBar | undefined;
  return {
    onProgress(done, total) {
      bar ??= progressBar(io, label, total, unit);
      bar.update(done);
    },
    finish: (status) => bar?.finish(status),
  };
}
