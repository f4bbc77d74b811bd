/*
 * Lua scripts behind the Redis TTL store. A script runs atomically on the server, which is what
 * makes count-then-compare-then-consume a single step and keeps each operation to one round trip.
 *
 * Every script touches exactly one key, KEYS[1], so it runs on Redis Cluster. A future script
 * that needs several keys must give them a shared hash tag (`{...}` in the key) so they land in
 * the same slot; otherwise Cluster rejects it with CROSSSLOT.
 *
 * Time comes from the server (PEXPIRE, PTTL, TIME), never from the instances, whose clocks may
 * disagree with each other.
 *
 * A secret is a Redis hash with the fields hash, attempts, max and data.
 */

/** ARGV: hash, maxAttempts, data, ttlMs, ifAbsent ("1" or "0"). Returns 1 if written, else 0. */
export const putSecretScript = `
local key = KEYS[1]
if ARGV[5] == '1' and redis.call('EXISTS', key) == 1 then
  return 0
end
-- Replacing starts over: the old attempts must not carry to the new secret.
redis.call('DEL', key)
redis.call('HSET', key, 'hash', ARGV[1], 'attempts', 0, 'max', ARGV[2], 'data', ARGV[3])
redis.call('PEXPIRE', key, ARGV[4])
return 1
`;

/**
 * ARGV: the guessed hash. Returns {"missing"} or {status, attempts, maxAttempts, data} with
 * status "locked", "consumed" or "mismatch".
 */
export const takeSecretScript = `
local key = KEYS[1]
-- HINCRBY would create a missing key, so look first.
if redis.call('EXISTS', key) == 0 then
  return {'missing'}
end
-- Count before comparing, so no guess is ever free. Changing a field keeps the key's expiry.
local attempts = redis.call('HINCRBY', key, 'attempts', 1)
local fields = redis.call('HMGET', key, 'hash', 'max', 'data')
local max = tonumber(fields[2])
if attempts > max then
  return {'locked', attempts, max, fields[3]}
end
-- Constant time: visit every byte of the stored hash and accumulate differences, instead of
-- '==' which stops at the first difference. The loop length depends only on the stored hash.
local stored, guess = fields[1], ARGV[1]
local diff = 0
if #stored ~= #guess then diff = 1 end
for i = 1, #stored do
  diff = bit.bor(diff, bit.bxor(string.byte(stored, i), string.byte(guess, i) or 0))
end
if diff == 0 then
  redis.call('DEL', key)
  return {'consumed', attempts, max, fields[3]}
end
return {'mismatch', attempts, max, fields[3]}
`;

/**
 * No ARGV. Returns {"missing"} or {status, attempts, maxAttempts, data} with status "locked" or
 * "counted": takeSecret's counting without the comparison, on the same hash and fields.
 */
export const countAttemptScript = `
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then
  return {'missing'}
end
local attempts = redis.call('HINCRBY', key, 'attempts', 1)
local fields = redis.call('HMGET', key, 'max', 'data')
local max = tonumber(fields[1])
if attempts > max then
  return {'locked', attempts, max, fields[2]}
end
return {'counted', attempts, max, fields[2]}
`;

/** Returns nil or {attempts, maxAttempts, data, ttlMs}; never the hash. */
export const peekSecretScript = `
local key = KEYS[1]
local fields = redis.call('HMGET', key, 'attempts', 'max', 'data')
if not fields[1] then
  return false
end
return {tonumber(fields[1]), tonumber(fields[2]), fields[3], redis.call('PTTL', key)}
`;

/** ARGV: by, ttlMs. Returns the new count. */
export const incrementScript = `
local key = KEYS[1]
local count = redis.call('INCRBY', key, ARGV[1])
-- Only a counter this call created lacks an expiry; an existing one keeps its original end.
if redis.call('PTTL', key) < 0 then
  redis.call('PEXPIRE', key, ARGV[2])
end
return count
`;

/** ARGV: limit, windowMs. Returns {allowed (1 or 0), count, retryAfterMs}. */
export const hitFixedWindowScript = `
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local count = tonumber(redis.call('GET', key) or '0')
if count >= limit then
  -- Denied hits are not counted, so they cannot push the reset further away.
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    -- A window without an expiry would deny forever; give it one.
    redis.call('PEXPIRE', key, ARGV[2])
    ttl = tonumber(ARGV[2])
  end
  return {0, count, math.max(ttl, 1)}
end
count = redis.call('INCR', key)
if redis.call('PTTL', key) < 0 then
  redis.call('PEXPIRE', key, ARGV[2])
end
return {1, count, 0}
`;

/**
 * ARGV: limit, windowMs, a unique member for this hit. Returns {allowed (1 or 0), count,
 * retryAfterMs}. The window is a sorted set of hit times (score = server time in ms), an exact
 * log that never holds more than `limit` entries because denied hits are not added.
 */
export const hitSlidingWindowScript = `
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then
  -- Room appears when the hit at index count - limit leaves the window (usually the oldest;
  -- later ones too if the limit was lowered since they were recorded).
  local blocking = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
  local retry = math.ceil(tonumber(blocking[2]) + window - now)
  return {0, count, math.max(retry, 1)}
end
redis.call('ZADD', key, now, ARGV[3])
-- The newest hit is the last to leave, so the whole log can go when it does.
redis.call('PEXPIRE', key, window)
return {1, count + 1, 0}
`;
