// Ctrl-C as a request to stop cleanly: the first SIGINT aborts the returned signal (the second kills, as usual).
import { type CliIO } from "./command.ts";

/** Listens for SIGINT until `release()`; on the first one prints `what` ("saving a checkpoint ...") and aborts `signal`. */
export function interruptSignal(io: CliIO, what: string): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const onSigint = (): void => {
    io.err(`\ninterrupt: ${what}, then stopping (Ctrl-C again to kill)\n`);
    controller.abort();
    process.off("SIGINT", onSigint);
  };
  process.on("SIGINT", onSigint);
  return { signal: controller.signal, release: () => process.off("SIGINT", onSigint) };
}
