// Worker-thread entry of the data loader: registers tsx so the TypeScript worker module loads, then runs it.
import { register } from "tsx/esm/api";

register();
await import("./loader-worker.ts");
