import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["./test/support/globalSetup.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Real servers, real Postgres and Redis, PGlite instances: two cores, so keep it to two files at once.
    maxWorkers: 2,
    reporters: ["default", "./test/support/summaryReporter.ts"],
  },
});
