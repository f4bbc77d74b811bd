import { describe, expect, it } from "vitest";
import { capturingLogger } from "../support/capturingLogger.js";

describe("logger", () => {
  it("drops what client libraries attach to errors about the data they carried", () => {
    const { logger, lines } = capturingLogger();
    const redisError = Object.assign(new Error("ERR wrong number of arguments"), {
      command: { name: "evalsha", args: ["sha", "1", "key", "HMAC-OF-CODE"] },
    });
    const pgError = Object.assign(new Error("duplicate key"), { detail: "Key (email)=(ada@example.com) already exists." });
    const wrapped = new Error("write failed", { cause: pgError });
    logger.error({ err: redisError }, "redis failed");
    logger.error({ err: wrapped }, "postgres failed");
    const output = lines.join("");
    expect(output).toContain("ERR wrong number of arguments");
    expect(output).toContain("duplicate key");
    expect(output).not.toContain("HMAC-OF-CODE");
    expect(output).not.toContain("ada@example.com");
  });

  it("redacts credentials by name", () => {
    const { logger, lines } = capturingLogger();
    logger.info({ headers: { authorization: "Bearer abc.def.ghi" }, secret: "s3cret" }, "x");
    expect(lines.join("")).not.toMatch(/abc\.def\.ghi|s3cret/);
  });
});
