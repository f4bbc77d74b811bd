import { destinationFunctions, refundFunctions } from "./destinationScripts.js";
import { trafficFunctions } from "./trafficScripts.js";

/*
 * Lua scripts behind RedisSendLimits (see domain/secrets/sendLimits.ts). As in pendingSecretScripts.ts, a
 * script runs atomically and is one round trip, time comes from the server (TIME, PTTL, PEXPIRE),
 * and every key a script writes gets an expiry.
 *
 * The scripts are composed from parts (Lua functions): the destination's (destinationScripts.ts:
 * keys tagged `{scope}`) and the traffic's (trafficScripts.ts: keys tagged by channel, or by channel and
 * country). Why composed: on a single Redis a script may touch keys of any slot, so one admit
 * with traffic stays ONE script, one round trip, atomic as a whole. On Redis Cluster a script's keys
 * must share a slot, so there the same parts run as one script per slot (RedisSendLimits).
 *
 * Arguments are read in order by take* (the prelude below), each part taking its own keys and
 * arguments in turn; sendLimitCalls.ts lays them out in the same order. A script touches only the
 * keys it is given.
 *
 * admit reads everything before it writes anything, so a refusal, or an error such as WRONGTYPE
 * on a foreign value, leaves no partial charge behind.
 */

/** Shared by every composed script: the argument reader and the window helpers the parts use. */
const prelude = `
local keyAt, argAt = 0, 0
local function takeKey() keyAt = keyAt + 1; return KEYS[keyAt] end
local function takeArg() argAt = argAt + 1; return ARGV[argAt] end
local function takeNumber() return tonumber(takeArg()) end

local function serverNow()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- A counter's value (0 when absent); a foreign value fails the script here, in the reads, before
-- anything is written.
local function counted(value)
  if not value then return 0 end
  return tonumber(value) or error('onetime: a send limit key holds a value that is not a count')
end

-- Milliseconds left on a key that exists, or the whole window for one that does not; one without an
-- expiry (foreign, or damaged) gets one, since a window that never ends would refuse forever.
local function windowLeft(key, windowMs)
  local left = redis.call('PTTL', key)
  if left == -1 then
    redis.call('PEXPIRE', key, windowMs)
    return windowMs
  end
  if left < 0 then return windowMs end
  return left
end

-- A window is fixed, starting at its first charge: only a key without an expiry gets one.
local function startWindow(key, windowMs)
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, windowMs) end
end
`;

/**
 * The destination's checks, then the traffic's, then every charge: readDestination's arguments
 * followed by readTraffic's. On a single Redis the traffic holds every rule of the request, so
 * one admit is this one script; on Cluster it holds none, and the area and the channel follow as
 * admitTrafficScript, each in its own slot.
 */
export const admitScript = `${prelude}${destinationFunctions}${trafficFunctions}
local d = readDestination()
local t = readTraffic()
local now = serverNow()
local refused = checkDestination(d, now) or checkTraffic(t)
if refused then return refused end
chargeTraffic(t)
return chargeDestination(d, now)
`;

/** readTraffic's arguments, all of one slot. Returns {"admitted"} or {"traffic", rule, retryAfterMs}. */
export const admitTrafficScript = `${prelude}${trafficFunctions}
local t = readTraffic()
local refused = checkTraffic(t)
if refused then return refused end
chargeTraffic(t)
return {'admitted'}
`;

/** readRefund's arguments followed by readTraffic's (none on Cluster). Returns refundDestination's answer. */
export const refundScript = `${prelude}${refundFunctions}${trafficFunctions}
local r = readRefund()
refundTraffic(readTraffic())
return refundDestination(r)
`;

/** readTraffic's arguments, all of one slot. Returns 1. */
export const refundTrafficScript = `${prelude}${trafficFunctions}
refundTraffic(readTraffic())
return 1
`;

/** readTraffic's arguments (the area's conversion guards). Returns 1. */
export const recordConversionScript = `${prelude}${trafficFunctions}
recordConversion(readTraffic())
return 1
`;

/**
 * KEYS: the scope's streak counter. ARGV: "wrong" or "right", streakWindowMs. A wrong guess
 * counts and restarts the run's window (it lasts streakWindowMs from the last failure); a right
 * one ends the run. Returns the failures in a row.
 */
export const recordGuessScript = `
local key = KEYS[1]
if ARGV[1] == 'right' then
  redis.call('DEL', key)
  return 0
end
local failures = redis.call('INCR', key)
redis.call('PEXPIRE', key, ARGV[2])
return failures
`;

/**
 * KEYS: the idempotency key. ARGV: fingerprint, answer, ttlMs. Returns 1 if stored, 0 if the key
 * holds another fingerprint.
 */
export const completeIdempotencyScript = `
local key = KEYS[1]
local fingerprint = redis.call('HGET', key, 'fingerprint')
if fingerprint and fingerprint ~= ARGV[1] then
  return 0
end
redis.call('HSET', key, 'fingerprint', ARGV[1], 'answer', ARGV[2])
-- Kept when the pending key has one; set when the key had expired and is written afresh.
if redis.call('PTTL', key) < 0 then
  redis.call('PEXPIRE', key, ARGV[3])
end
return 1
`;

/** KEYS: the idempotency key. ARGV: fingerprint. Returns 1 if a pending key was removed, else 0. */
export const releaseIdempotencyScript = `
local key = KEYS[1]
local fields = redis.call('HMGET', key, 'fingerprint', 'answer')
if fields[1] == ARGV[1] and not fields[2] then
  redis.call('DEL', key)
  return 1
end
return 0
`;
