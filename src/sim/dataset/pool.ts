// Episode worker processes for dataset generation, with a watchdog that replaces a process stuck in native code.
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SimError } from "../mujoco.ts";
import { type EpisodeJob, type EpisodeResult, type WorkerReply } from "./protocol.ts";

/**
 * Why processes and not threads: SVT-AV1 3.1.2 (the AV1 encoder in node-av's FFmpeg) now and then deadlocks
 * inside the encoder, and a thread blocked in native code can be neither stopped nor joined (the whole process
 * hangs, even on exit), while a process can be killed. Separate processes also keep SVT's global tables apart
 * (SVT-AV1 merge request 2603: concurrent encoders in one process can hang).
 */
const ENTRY = fileURLToPath(new URL("./worker-entry.mjs", import.meta.url));
/** Times one candidate may be found stuck (and rerun on a fresh process) before generation gives up. */
const MAX_STALLS = 3;
/** A first try counts as stuck once it runs EARLY_FACTOR x the slowest finished job (at least EARLY_FLOOR_S s). */
const EARLY_FACTOR = 10;
const EARLY_FLOOR_S = 20;
const EARLY_AFTER_JOBS = 3;

/**
 * How long a job may run before its worker is replaced: a first try, once a few jobs have finished, gets
 * EARLY_FACTOR x the slowest of them (at least EARLY_FLOOR_S, at most the limit), so an encoder deadlock costs
 * seconds rather than the whole limit; reruns get the full `stallSeconds` (a slow machine is not a hang).
 */
export function stallLimitMs(stallSeconds: number, tries: number, finishedJobs: number, slowestMs: number): number {
  const full = stallSeconds * 1000;
  if (tries > 0 || finishedJobs < EARLY_AFTER_JOBS) return full;
  return Math.min(full, Math.max(EARLY_FLOOR_S * 1000, EARLY_FACTOR * slowestMs));
}

export interface PoolEvents {
  /** A worker finished `candidate`. */
  onResult(candidate: number, result: EpisodeResult): void;
  /** A worker failed for good: the run must stop. */
  onError(error: Error): void;
}

interface Slot {
  /** Undefined while a replacement process starts. */
  child: ChildProcess | undefined;
  job: EpisodeJob | undefined;
  since: number;
}

function startChild(): Promise<ChildProcess> {
  const child = fork(ENTRY, [], { serialization: "advanced", execArgv: [], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null): void => reject(new SimError(`generate: an episode worker exited while starting (code ${code}, signal ${signal})`));
    child.once("exit", onExit);
    child.once("error", reject);
    child.on("message", function onReady(m: WorkerReply) {
      if (m.type !== "ready") return;
      child.off("message", onReady);
      child.off("exit", onExit);
      child.off("error", reject);
      resolve(child);
    });
  });
}

/** `count` episode worker processes; a stuck job (see stallLimitMs) is rerun on a fresh one. A resource: close(). */
export class EpisodePool {
  private readonly stalls = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private finished = 0;
  private slowestMs = 0;

  private constructor(private readonly slots: Slot[], private readonly stallSeconds: number, private readonly events: PoolEvents) {
    for (const slot of slots) this.listen(slot, slot.child!);
    this.timer = setInterval(() => this.watch(), Math.min(1000, stallSeconds * 500));
  }

  static async start(count: number, stallSeconds: number, events: PoolEvents): Promise<EpisodePool> {
    const children = await Promise.allSettled(Array.from({ length: count }, () => startChild()));
    const failed = children.find((c) => c.status === "rejected");
    if (failed) {
      for (const c of children) if (c.status === "fulfilled") c.value.kill("SIGKILL");
      throw (failed as PromiseRejectedResult).reason;
    }
    const slots = children.map((c) => ({ child: (c as PromiseFulfilledResult<ChildProcess>).value, job: undefined, since: 0 }));
    return new EpisodePool(slots, stallSeconds, events);
  }

  get size(): number {
    return this.slots.length;
  }

  get idle(): number {
    return this.slots.filter((s) => !s.job).length;
  }

  /** Starts a job on an idle worker. */
  run(job: EpisodeJob): void {
    const slot = this.slots.find((s) => !s.job);
    if (!slot) throw new SimError("internal: EpisodePool.run with no idle worker");
    slot.job = job;
    slot.since = performance.now();
    slot.child!.send(job);
  }

  private listen(slot: Slot, child: ChildProcess): void {
    child.on("message", (reply: WorkerReply) => {
      if (slot.child !== child || reply.type === "ready") return;
      const seed = slot.job?.seed;
      slot.job = undefined;
      this.finished++;
      this.slowestMs = Math.max(this.slowestMs, performance.now() - slot.since);
      if (reply.type === "error") this.events.onError(new SimError(`generate: episode seed ${seed} crashed: ${reply.message}`));
      else this.events.onResult(reply.candidate, reply.result);
    });
    child.on("exit", (code, signal) => {
      if (slot.child !== child || this.closed) return;
      this.events.onError(new SimError(`generate: an episode worker exited (code ${code}, signal ${signal})${slot.job ? ` while running seed ${slot.job.seed}` : ""}`));
    });
  }

  /** Kills a worker whose job has run past the stall limit and reruns the job on a fresh process. */
  private watch(): void {
    for (const slot of this.slots) {
      const { job, child } = slot;
      if (!job || !child) continue;
      const tries = this.stalls.get(job.candidate) ?? 0;
      if (performance.now() - slot.since < stallLimitMs(this.stallSeconds, tries, this.finished, this.slowestMs)) continue;
      const stalls = tries + 1;
      this.stalls.set(job.candidate, stalls);
      slot.child = undefined;
      child.kill("SIGKILL");
      if (stalls >= MAX_STALLS) {
        slot.job = undefined;
        this.events.onError(new SimError(
          `generate: episode seed ${job.seed} got stuck ${stalls} times (no result within ${this.stallSeconds} s on its reruns)`,
          "the video encoder (SVT-AV1) may be deadlocking; rerun with --resume to continue from the last finished episode, or use --codec h264",
        ));
        return;
      }
      startChild().then((fresh) => {
        if (this.closed) {
          fresh.kill("SIGKILL");
          return;
        }
        slot.child = fresh;
        this.listen(slot, fresh);
        slot.since = performance.now();
        fresh.send(job);
      }, (e: unknown) => this.events.onError(e instanceof Error ? e : new Error(String(e))));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.all(this.slots.map(({ child }) => (child && child.exitCode === null && child.signalCode === null
      ? new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      })
      : undefined)));
  }
}
