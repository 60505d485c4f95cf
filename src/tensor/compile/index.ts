// The jax-js -> ONNX Runtime compiler: compileOrt (a jit that runs in onnxruntime-node) and host arrays.
export { type CompiledFn, compileOrt, type CompiledOrt, type CompileInfo, type CompileOrtOptions, type MapLeaves, type OrtInput } from "./compile-ort.ts";
export { compileJax, compileWith, type Engine, ENGINES, parseEngine } from "./engine.ts";
export { type ExportedModel, exportOnnx, type ExportOptions } from "./export.ts";
export { fromHost, hostTensor, type HostData, type HostDType, type HostTensor, isHostTensor, toHost } from "./host.ts";
export { type LoweredProgram, lowerJaxpr } from "./lower.ts";
export { type GraphStats } from "./onnx-graph.ts";
export { UnsupportedError } from "./rule.ts";
