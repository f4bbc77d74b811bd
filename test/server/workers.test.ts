import { describe, expect, it } from "vitest";
import { npmStart } from "../support/npmStart.js";

describe("several workers on one port", () => {
  it("serves from every worker and drains them all on SIGTERM", async () => {
    const started = npmStart("workers", { WORKERS: "2" }, 2);
    try {
      const url = await started.serving;
      const serving = started.lines.filter((entry) => typeof entry.url === "string");
      // Workers listen on port 0 through the primary, which hands them one shared port.
      expect(new Set(serving.map((entry) => entry.url)).size).toBe(1);
      expect(new Set(serving.map((entry) => entry.pid)).size).toBe(2);
      for (let i = 0; i < 10; i++) {
        const response = await fetch(`${url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
        expect(response.status).toBe(200);
      }
      started.child.kill("SIGTERM");
      expect(await started.exited).toBe(0);
      expect(started.lines.filter((entry) => entry.msg === "stopped")).toHaveLength(2);
    } finally {
      await started.cleanUp();
    }
  }, 60_000);
});
