// `internvla convert SRC DST`: a LeRobot v2.0/v2.1 dataset to v3.0, videos concatenated without re-encoding.
import type { Command } from "../command.ts";
import { lazyProgressBar } from "../progress.ts";
import { ConfigError } from "../../tensor/errors.ts";

export const convertCommand: Command = {
  name: "convert",
  summary: "convert a LeRobot v2.1 (or v2.0) dataset to v3.0",
  usage: "internvla convert SRC DST",
  description: `
Writes a LeRobot v3.0 copy of SRC into DST (absent or empty): data rows merged into
data/chunk-NNN/file-NNN.parquet, each camera's episode videos concatenated into
videos/<camera>/chunk-NNN/file-NNN.mp4 without re-encoding, meta/episodes and meta/tasks parquet, stats.json
and info.json. Per-episode image stats are kept from the source (v2.1) or computed from decoded frames (v2.0).
Timestamps are stored as frame_index / fps, which is where the video frames are. DST is marked partial
(meta/PARTIAL) until the conversion finishes. Quirks of the source are printed as warnings.`,
  flags: [],
  async run(args, io) {
    const [src, dst, ...rest] = args.positionals;
    if (!src || !dst || rest.length > 0) throw new ConfigError("internvla convert: expected SRC and DST folders", "internvla convert SRC DST");
    const { convertToV30 } = await import("../../data/lerobot/convert.ts");
    const bar = lazyProgressBar(io, "convert", "step");
    const result = await convertToV30(src, dst, (w) => io.err(`warning: ${w.message}\n`), bar.onProgress);
    bar.finish();
    io.out(`converted ${result.episodes} episodes, ${result.frames} frames: ${src} -> ${dst} (v3.0)\n`);
    return 0;
  },
};
