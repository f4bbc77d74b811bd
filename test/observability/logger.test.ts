import { describe, expect, it } from "vitest";
import { flatLineLogger } from "../../src/observability/logger.js";
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

  it("redacts the same names one level down in any object a line carries", () => {
    const { logger, records } = capturingLogger();
    logger.info({ provider: { token: "t0ken", password: "pw", headers: { authorization: "Bearer a.b.c" } }, secret: "s" }, "x");
    expect(records[0]).toMatchObject({ provider: { token: "[redacted]", password: "[redacted]", headers: { authorization: "[redacted]" } }, secret: "[redacted]" });
  });

  it("gives flat lines the named paths, with the parent's level and stream", () => {
    const { logger, records } = capturingLogger("warn");
    const flat = flatLineLogger(logger);
    flat.info({ procedure: "p" }, "not at warn");
    flat.warn({ procedure: "p", token: "t0ken", authorization: "Bearer a.b.c", durationMs: 1.5 }, "rpc refused");
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ procedure: "p", token: "[redacted]", authorization: "[redacted]", durationMs: 1.5, msg: "rpc refused", service: "onetime" });
  });
});
