// The InternVLA-A1 model: configs, parameters in official names, the policy entry points, tokenizers.
export { PRESETS, internVision, parseConfig, presetConfig, qwenVision, tokenLayout, validateConfig, type CosmosConfig, type InternVisionConfig, type ModelConfig, type TextConfig, type TowerConfig, type VisionConfig } from "./config.ts";
export { internVisionTower } from "./internvit.ts";
export { countParams, initModel, paramTable, type ParamEntry } from "./params.ts";
export { checkCheckpoint, loadCheckpoint, loadWeights, saveWeights, streamWeights, type CheckpointReport } from "./weights.ts";
export { MASK_VALUE, att2dMask, checkTokenLayout, inferLayout, ropeIndexRow, trainPositionsAndMask, type HostMasks } from "./layout.ts";
export { eulerSchedule, interpolate, sampleNoiseAndTime, sampleTime, timeEmbedding } from "./flow.ts";
export { cosmosDecode, cosmosEncode, encodeFrames } from "./cosmos.ts";
export { embedMiddle, embedPrefix, embedSuffix, foresightHead } from "./embed.ts";
export {
  actionStep, cacheFromLatents, computeLoss, disposeCache, embedPrefixAndCache, eulerFromCache, frameLatents, inferInputs, lossFromLatents, sampleActions, trainInputs,
  type InferObservation, type LossOutputs, type TrainBatch,
} from "./policy.ts";
export { buildPrefix, builtinTokenizer, hfTokenizer, trainVocabulary, type TextTokenizer } from "./tokenizer.ts";
export { PARITY_INPUTS, PARITY_OUTPUTS, runParity } from "./parity.ts";
export type { Batch, CosmosParams, InferLayoutTensors, ModelParams, Observation, PolicyParams, PrefixCache, TrainLayout } from "./types.ts";
