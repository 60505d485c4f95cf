// Exporting a traced function as a standalone ONNX model file (no host prologue, weights baked or as inputs).
import { InternvlaError } from "../errors.ts";
import { batchElementwise } from "./batch.ts";
import { lowerJaxpr } from "./lower.ts";
import { type GraphStats, type TensorInfo } from "./onnx-graph.ts";
import { signatureOf, traceFn } from "./trace.ts";

export interface ExportOptions {
  /** Names of the arguments; graph inputs are named by their path, e.g. "obs.images". */
  readonly argNames?: readonly string[];
  /** Names of the flattened outputs (default out0, out1, ...). */
  readonly outputNames?: readonly string[];
}

export interface ExportedModel {
  readonly model: Uint8Array;
  readonly inputs: readonly (TensorInfo & { readonly name: string })[];
  readonly outputs: readonly string[];
  readonly stats: GraphStats;
}

/**
 * Traces `fn` on `args` (only shapes and dtypes are read) and lowers it to a model any ONNX runtime can load:
 * opset 18 plus com.microsoft.FusedMatMul. Arrays captured by `fn` are baked. Every output must be computed by the
 * graph, and random numbers must come in as inputs (a key argument's prologue runs on the host, not in the file).
 */
export async function exportOnnx(fn: (...args: never[]) => unknown, args: readonly unknown[], opts: ExportOptions = {}): Promise<ExportedModel> {
  const sig = signatureOf(args, new Set(), opts.argNames);
  const traced = await traceFn(fn, args, sig);
  const program = lowerJaxpr(batchElementwise(traced.jaxpr), traced.consts, sig.names, opts.outputNames);
  if (program.host.length > 0) {
    throw new InternvlaError(
      `exportOnnx: the function derives random numbers from a uint32 key (${program.host.length} key equations), which an ONNX file cannot hold`,
      "pass the noise in as an argument instead of the key",
    );
  }
  const notGraph = program.outputs.findIndex((o) => o.kind !== "graph");
  if (notGraph >= 0) {
    throw new InternvlaError(`exportOnnx: output ${notGraph} is an input or a constant passed through, not computed by the graph`, "return only computed values");
  }
  return {
    model: program.model,
    inputs: program.feeds.map((f) => ({ name: f.name, ...f.info })),
    outputs: program.outputs.map((o) => (o.kind === "graph" ? o.name : "")),
    stats: program.stats,
  };
}
