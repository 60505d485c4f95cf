#!/usr/bin/env node
// Launches the TypeScript CLI through tsx's loader, so `npx internvla` works right after `npm ci`.
import { register } from "tsx/esm/api";

register();
const { runProcess } = await import("../src/cli/main.ts");
await runProcess();
