/*
 * The destination's part of the send limits' scripts (see domain/secrets/sendLimits.ts): Lua
 * functions over the keys of one scope, all tagged `{scope}` (storage/sendLimitKeyspace.ts), so
 * on Redis Cluster they run in the scope's slot. sendLimitScripts.ts composes them with the
 * traffic's part (trafficScripts.ts); they rely on its prelude (takeKey, takeArg, takeNumber,
 * counted, windowLeft, startWindow).
 */

/**
 * readDestination() takes KEYS send window, guess budget, long guess window, streak, then the
 * idempotency key when there is one; ARGV sendLimit, sendWindowMs, firstResendDelayMs,
 * maxResendDelayMs, guessLimit, guessWindowMs, guessReserve, longLimit (0: none), longWindowMs,
 * streakLimit (0: none), streakWindowMs, hasIdempotency (1 or 0), then fingerprint and
 * idempotencyTtlMs when it is 1.
 *
 * checkDestination(d, now) returns {"replay", answer}, {"in_progress"}, {"conflict"}, or
 * {status, retryAfterMs} for send_limit, too_soon, guess_budget, guess_streak; nil when the send
 * may go. chargeDestination(d, now) then returns {"admitted", sendNumber, nextSendInMs, reservedGuesses}.
 */
export const destinationFunctions = `
local function readDestination()
  local d = {}
  d.send = takeKey()
  d.guess = takeKey()
  d.guessLong = takeKey()
  d.streak = takeKey()
  d.sendLimit = takeNumber()
  d.sendWindow = takeNumber()
  d.firstDelay = takeNumber()
  d.maxDelay = takeNumber()
  d.guessLimit = takeNumber()
  d.guessWindow = takeNumber()
  d.reserve = takeNumber()
  d.longLimit = takeNumber()
  d.longWindow = takeNumber()
  d.streakLimit = takeNumber()
  d.streakWindow = takeNumber()
  if takeNumber() == 1 then
    d.idem = takeKey()
    d.fingerprint = takeArg()
    d.idemTtl = takeNumber()
  end
  return d
end

-- The wait the n-th send must leave after the previous one (as resendDelayMs in sendLimits.ts).
local function resendDelay(d, n)
  if n < 2 then return 0 end
  return math.min(d.maxDelay, d.firstDelay * 2 ^ math.min(n - 2, 60))
end

local function checkDestination(d, now)
  if d.idem then
    local idem = redis.call('HMGET', d.idem, 'fingerprint', 'answer')
    if idem[1] then
      if idem[1] ~= d.fingerprint then return {'conflict'} end
      if idem[2] then return {'replay', idem[2]} end
      return {'in_progress'}
    end
  end

  local send = redis.call('HMGET', d.send, 'count', 'last')
  d.count = tonumber(send[1]) or 0
  d.last = send[2]
  d.sendLeft = d.sendWindow
  if d.count > 0 then
    d.sendLeft = windowLeft(d.send, d.sendWindow)
    if d.count >= d.sendLimit then return {'send_limit', math.max(d.sendLeft, 1)} end
    local delay = resendDelay(d, d.count + 1)
    local due = (tonumber(d.last) or 0) + delay
    if now < due then
      -- A new window has no wait, so the wait ends with the window at the latest; the cap by delay
      -- covers a server clock that stepped back since the last send.
      return {'too_soon', math.max(math.min(due - now, delay, d.sendLeft), 1)}
    end
  end

  local remaining = d.guessLimit - counted(redis.call('GET', d.guess))
  if remaining <= 0 then return {'guess_budget', math.max(windowLeft(d.guess, d.guessWindow), 1)} end
  if d.longLimit > 0 then
    local longRemaining = d.longLimit - counted(redis.call('GET', d.guessLong))
    if longRemaining <= 0 then return {'guess_budget', math.max(windowLeft(d.guessLong, d.longWindow), 1)} end
    remaining = math.min(remaining, longRemaining)
  end
  if d.streakLimit > 0 then
    local failures = counted(redis.call('GET', d.streak))
    if failures >= d.streakLimit then
      return {'guess_streak', math.max(windowLeft(d.streak, d.streakWindow), 1)}
    end
    -- A code near the ceiling gets only the guesses left before it.
    remaining = math.min(remaining, d.streakLimit - failures)
  end
  d.reserved = math.min(d.reserve, remaining)
  return nil
end

local function chargeDestination(d, now)
  local count = redis.call('HINCRBY', d.send, 'count', 1)
  -- The send before this one is kept beside it, so a refund of this send can put it back.
  if d.last then
    redis.call('HSET', d.send, 'prev', d.last, 'last', now)
  else
    redis.call('HSET', d.send, 'last', now)
  end
  if count == 1 then redis.call('PEXPIRE', d.send, d.sendWindow) end
  redis.call('INCRBY', d.guess, d.reserved)
  startWindow(d.guess, d.guessWindow)
  if d.longLimit > 0 then
    redis.call('INCRBY', d.guessLong, d.reserved)
    startWindow(d.guessLong, d.longWindow)
  end
  if d.idem then
    redis.call('HSET', d.idem, 'fingerprint', d.fingerprint)
    redis.call('PEXPIRE', d.idem, d.idemTtl)
  end
  local nextSend = d.sendLeft
  if count < d.sendLimit then nextSend = math.min(resendDelay(d, count + 1), d.sendLeft) end
  return {'admitted', count, nextSend, d.reserved}
end
`;

/**
 * readRefund() takes KEYS send window, guess budget, long guess window, then the idempotency key
 * when there is one; ARGV guesses, sendNumber (0: the send stays charged), release (1 or 0), then
 * the fingerprint when it is 1.
 *
 * refundDestination(r) gives back up to `guesses` in each guess window (never more than charged),
 * and the send if the count still equals sendNumber: the count goes down and `last` goes back to
 * `prev`; a refunded first send ends the window. With release, it forgets the idempotency key if
 * it is still pending with this fingerprint (Cluster's admit undoing its first step). Returns 1 if
 * the send was refunded, else 0.
 */
export const refundFunctions = `
local function readRefund()
  local r = {}
  r.send = takeKey()
  r.guess = takeKey()
  r.guessLong = takeKey()
  r.guesses = takeNumber()
  r.sendNumber = takeNumber()
  if takeNumber() == 1 then
    r.idem = takeKey()
    r.fingerprint = takeArg()
  end
  return r
end

local function refundGuesses(key, guesses)
  local refunded = math.min(counted(redis.call('GET', key)), guesses)
  -- DECRBY keeps the key's expiry, so a refund never stretches the window.
  if refunded > 0 then redis.call('DECRBY', key, refunded) end
end

local function refundDestination(r)
  refundGuesses(r.guess, r.guesses)
  refundGuesses(r.guessLong, r.guesses)
  if r.idem then
    local fields = redis.call('HMGET', r.idem, 'fingerprint', 'answer')
    if fields[1] == r.fingerprint and not fields[2] then redis.call('DEL', r.idem) end
  end
  local send = redis.call('HMGET', r.send, 'count', 'prev')
  local count = tonumber(send[1])
  if count == nil or count ~= r.sendNumber then
    -- A later send was admitted (its charge and wait stand), the window is gone, or the caller
    -- keeps the send charged (sendNumber 0).
    return 0
  end
  if count <= 1 then
    redis.call('DEL', r.send)
  elseif send[2] then
    redis.call('HSET', r.send, 'count', count - 1, 'last', send[2])
  else
    -- No earlier time kept (written before prev existed): keep the later one, the safe side.
    redis.call('HSET', r.send, 'count', count - 1)
  end
  return 1
end
`;
