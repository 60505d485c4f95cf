// Child process of checkpoint.test.ts: saves tiny checkpoints in a loop (step N marks its tensors) until killed.
// Usage: node bin/run-ts.mjs test/train/save-child.ts RUN_DIR
import { initEngine } from "../../src/tensor/index.ts";
import { latestCheckpointDir } from "../../src/train/checkpoint.ts";
import { saveCheckpoint } from "../../src/train/checkpoint.ts";
import { checkpointFixture, markStep } from "./checkpoint-fixture.ts";

const run = process.argv[2];
await initEngine();
const base = await checkpointFixture();
const latest = latestCheckpointDir(run);
let step = latest ? Number(latest.split("/").pop()) + 1 : 1;
for (;;) {
  process.stdout.write(`saving ${step}\n`);
  await saveCheckpoint(run, markStep(base, step), 2);
  process.stdout.write(`saved ${step}\n`);
  step++;
}
