import type { BuildOptions } from "esbuild";

export function buildOptions(outdir: string): BuildOptions;
export function buildWebExample(outdir?: string): Promise<string>;
