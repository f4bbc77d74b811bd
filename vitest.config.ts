import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Real servers, real Postgres and Redis: two cores, so keep parallelism modest.
    maxWorkers: 2,
  },
});
