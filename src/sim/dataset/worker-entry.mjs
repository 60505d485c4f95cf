// Episode worker process bootstrap: registers the TypeScript loader (tsx), then runs the episode worker.
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
