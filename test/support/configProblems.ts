import { ConfigError, loadConfig } from "../../src/config/config.js";

/** Every problem config finds in `env`; fails if the configuration is accepted. */
export function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error("configuration was accepted");
}
