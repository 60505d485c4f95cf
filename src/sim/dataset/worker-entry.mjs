// Worker-thread bootstrap: registers the TypeScript loader (tsx) in this thread, then runs the episode worker.
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
