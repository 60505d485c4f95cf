#!/usr/bin/env node
// Runs a TypeScript entry file (benchmarks, scripts) through tsx's loader: node bin/run-ts.mjs FILE [args].
import { register } from "tsx/esm/api";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: node bin/run-ts.mjs FILE.ts [args]\n");
  process.exit(2);
}
process.argv = [process.argv[0], resolve(file), ...rest];
register();
await import(pathToFileURL(resolve(file)).href);
