/*
 * Lua scripts behind RedisSendLimits (see domain/secrets/sendLimits.ts). As in pendingSecretScripts.ts, a
 * script runs atomically and is one round trip, time comes from the server (TIME, PTTL, PEXPIRE),
 * and every key a script writes gets an expiry.
 *
 * The scripts take several keys, all of one scope and so all tagged `{scope}` (storage/sendLimitKeyspace.ts):
 * one slot, which is what lets them run on Redis Cluster without CROSSSLOT. A script touches only
 * the keys it is given.
 *
 * admit reads everything before it writes anything, so a refusal, or an error such as WRONGTYPE
 * on a foreign value, leaves no partial charge behind.
 */

/**
 * KEYS: send window, guess budget, and the idempotency key when the request has one.
 * ARGV: sendLimit, sendWindowMs, firstResendDelayMs, maxResendDelayMs, guessLimit, guessWindowMs,
 * guessReserve, then fingerprint and idempotencyTtlMs when there is an idempotency key.
 * Returns {"admitted", sendNumber, nextSendInMs, reservedGuesses}, {"replay", answer},
 * {"in_progress"}, {"conflict"}, or {status, retryAfterMs} for send_limit, too_soon, guess_budget.
 */
export const admitScript = `
local sendKey, guessKey, idemKey = KEYS[1], KEYS[2], KEYS[3]
local sendLimit, sendWindow = tonumber(ARGV[1]), tonumber(ARGV[2])
local firstDelay, maxDelay = tonumber(ARGV[3]), tonumber(ARGV[4])
local guessLimit, guessWindow, reserve = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])

-- The wait the n-th send must leave after the previous one (as resendDelayMs in sendLimits.ts).
local function resendDelay(n)
  if n < 2 then return 0 end
  return math.min(maxDelay, firstDelay * 2 ^ math.min(n - 2, 60))
end

-- Milliseconds left on a key that exists; one without an expiry (foreign, or damaged) gets one,
-- since a window that never ends would refuse forever.
local function windowLeft(key, windowMs)
  local left = redis.call('PTTL', key)
  if left < 0 then
    redis.call('PEXPIRE', key, windowMs)
    return windowMs
  end
  return left
end

if idemKey then
  local idem = redis.call('HMGET', idemKey, 'fingerprint', 'answer')
  if idem[1] then
    if idem[1] ~= ARGV[8] then return {'conflict'} end
    if idem[2] then return {'replay', idem[2]} end
    return {'in_progress'}
  end
end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local send = redis.call('HMGET', sendKey, 'count', 'last')
local count = tonumber(send[1]) or 0
local sendLeft = sendWindow
if count > 0 then
  sendLeft = windowLeft(sendKey, sendWindow)
  if count >= sendLimit then return {'send_limit', math.max(sendLeft, 1)} end
  local delay = resendDelay(count + 1)
  local due = (tonumber(send[2]) or 0) + delay
  if now < due then
    -- A new window has no wait, so the wait ends with the window at the latest; the cap by delay
    -- covers a server clock that stepped back since the last send.
    return {'too_soon', math.max(math.min(due - now, delay, sendLeft), 1)}
  end
end

local used = tonumber(redis.call('GET', guessKey) or '0')
local remaining = guessLimit - used
if remaining <= 0 then
  return {'guess_budget', math.max(windowLeft(guessKey, guessWindow), 1)}
end
local reserved = math.min(reserve, remaining)

-- Everything passed: charge it all.
count = redis.call('HINCRBY', sendKey, 'count', 1)
-- The send before this one is kept beside it, so a refund of this send can put it back.
if send[2] then
  redis.call('HSET', sendKey, 'prev', send[2], 'last', now)
else
  redis.call('HSET', sendKey, 'last', now)
end
if count == 1 then redis.call('PEXPIRE', sendKey, sendWindow) end
redis.call('INCRBY', guessKey, reserved)
if redis.call('PTTL', guessKey) < 0 then redis.call('PEXPIRE', guessKey, guessWindow) end
if idemKey then
  redis.call('HSET', idemKey, 'fingerprint', ARGV[8])
  redis.call('PEXPIRE', idemKey, ARGV[9])
end

local nextSend = sendLeft
if count < sendLimit then nextSend = math.min(resendDelay(count + 1), sendLeft) end
return {'admitted', count, nextSend, reserved}
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

/**
 * KEYS: the send window, the guess budget. ARGV: guesses, sendNumber. Gives back up to `guesses`
 * (never more than charged), and the send if the count still equals sendNumber: the count goes
 * down and `last` goes back to `prev`; a refunded first send ends the window. Returns 1 if the
 * send was refunded, else 0.
 */
export const refundScript = `
local sendKey, guessKey = KEYS[1], KEYS[2]
local used = tonumber(redis.call('GET', guessKey) or '0')
local refunded = math.min(used, tonumber(ARGV[1]))
if refunded > 0 then
  -- DECRBY keeps the key's expiry, so a refund never stretches the window.
  redis.call('DECRBY', guessKey, refunded)
end
local send = redis.call('HMGET', sendKey, 'count', 'prev')
local count = tonumber(send[1])
if count == nil or count ~= tonumber(ARGV[2]) then
  -- A later send was admitted (its charge and wait stand), the window is gone, or the caller
  -- keeps the send charged (ARGV[2] is 0).
  return 0
end
if count <= 1 then
  redis.call('DEL', sendKey)
elseif send[2] then
  redis.call('HSET', sendKey, 'count', count - 1, 'last', send[2])
else
  -- No earlier time kept (written before prev existed): keep the later one, the safe side.
  redis.call('HSET', sendKey, 'count', count - 1)
end
return 1
`;
