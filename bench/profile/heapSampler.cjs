"use strict";
/**
 * Loaded into a bench server by `--heap-sample <dir>` (through a one-line preload the bench writes
 * into <dir>): V8's sampling heap profiler, keeping objects the collector has already freed, so a
 * snapshot counts what was allocated, not what is still alive (`--heap-prof` keeps only the
 * latter, which says nothing about garbage). Every 10 s it writes the samples so far to
 * `<dir>/heap-<pid>-<seconds since start>.json`; `bench/profile/allocations.ts` tells two of them
 * apart, so a window of the run is read on its own.
 */
const inspector = require("node:inspector");
const { writeFileSync } = require("node:fs");
const { join } = require("node:path");

const everyMs = 10_000;
/** One sample per 8 KiB allocated on average: fine enough for per-call figures, cheap enough to run under load. */
const samplingInterval = 8_192;

exports.start = function start(dir) {
  const session = new inspector.Session();
  session.connect();
  const began = performance.now();
  const options = { samplingInterval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true };
  session.post("HeapProfiler.enable", () => session.post("HeapProfiler.startSampling", options));
  setInterval(() => {
    session.post("HeapProfiler.getSamplingProfile", (error, result) => {
      if (error) return;
      const seconds = Math.round((performance.now() - began) / 1000);
      writeFileSync(join(dir, `heap-${process.pid}-${String(seconds).padStart(5, "0")}.json`), JSON.stringify(result.profile));
    });
  }, everyMs).unref();
};
