import { MemoryAuthTokenSignals } from "../../../src/storage/memory/memoryAuthTokenSignals.js";
import { describeAuthTokenSignalsContract } from "../authTokenSignals.contract.js";

describeAuthTokenSignalsContract("MemoryAuthTokenSignals", async () => {
  const signals = new MemoryAuthTokenSignals();
  return {
    signals,
    // One process has one registry: a "second instance" is the same signals.
    peer: async () => signals,
    close: () => signals.close(),
  };
});
