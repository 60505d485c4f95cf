// Browser-style Worker, Blob and navigator on top of node:worker_threads, so jax-js's wasm pool runs threads in Node.
import { availableParallelism } from "node:os";
import { Worker as NodeWorker } from "node:worker_threads";

// jax-js builds each pool worker from a Blob of source text and a blob: URL. Node's Blob cannot hand the
// text back synchronously, so the shim's Blob remembers it and createObjectURL maps a fake URL to it.
const PRELUDE = `const { parentPort } = require("node:worker_threads");
globalThis.self = globalThis;
globalThis.postMessage = (m, t) => parentPort.postMessage(m, t);
parentPort.on("message", (data) => { if (typeof self.onmessage === "function") self.onmessage({ data }); });
`;

// jax-js creates its wasm backend (and decides on shared memory and the pool) when its module is
// evaluated, so this module installs the shim as a side effect and must be imported before jax-js.
installWorkerShim(availableParallelism());

/** Installs the shim; `threads` sizes jax-js's pool (it reads navigator.hardwareConcurrency). */
function installWorkerShim(threads: number): void {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.navigator === "undefined") {
    Object.defineProperty(g, "navigator", { value: { hardwareConcurrency: threads }, configurable: true });
  } else {
    try {
      Object.defineProperty(g.navigator as object, "hardwareConcurrency", { value: threads, configurable: true });
    } catch {
      // A read-only navigator keeps its own count; the pool then uses that.
    }
  }
  if (typeof g.Worker !== "undefined") return;

  const sources = new Map<string, string>();
  const BaseBlob = g.Blob as typeof Blob;
  class SourceBlob extends BaseBlob {
    readonly source: string;
    constructor(parts: unknown[] = [], options?: { type?: string }) {
      super(parts as never, options);
      this.source = parts.map((p) => (typeof p === "string" ? p : "")).join("");
    }
  }
  g.Blob = SourceBlob;
  const createObjectURL = URL.createObjectURL.bind(URL);
  let next = 0;
  URL.createObjectURL = (blob: Blob) => {
    if (!(blob instanceof SourceBlob)) return createObjectURL(blob);
    const url = `blob:internvla-shim/${next++}`;
    sources.set(url, blob.source);
    return url;
  };

  g.Worker = class ShimWorker {
    onmessage: ((e: { data: unknown }) => void) | null = null;
    onerror: ((e: { message: string }) => void) | null = null;
    readonly #worker: NodeWorker;
    constructor(url: string | URL) {
      const source = sources.get(String(url));
      if (source === undefined) throw new Error(`worker-shim: no source recorded for ${String(url)}`);
      this.#worker = new NodeWorker(PRELUDE + source, { eval: true });
      this.#worker.unref();
      this.#worker.on("message", (data) => this.onmessage?.({ data }));
      this.#worker.on("error", (e) => this.onerror?.({ message: String(e) }));
    }
    postMessage(message: unknown, transfer?: unknown[]): void {
      this.#worker.postMessage(message, transfer as never);
    }
    terminate(): void {
      void this.#worker.terminate();
    }
  };
}
