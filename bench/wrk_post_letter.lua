-- wrk script for bench/bench_form.py: every request POSTs one complete, valid letter.
-- Arguments (after "--"): path, cookie header, token prefix, body file, payload file, first
-- payload. The payload file holds one url-encoded, solved proof of work per line; request n
-- of this run takes line <first payload> + n (each is used up by the desk when it checks it).
-- The body file holds the url-encoded form (csrfmiddlewaretoken included) with "CLIENT_TOKEN"
-- where each request's unique client_token goes: <prefix>-<thread id, 4 hex>-<request number, 12 hex>, a valid UUID that
-- no other request of any run shares. Counts 302 (accepted) and other statuses per thread, and
-- the letters sent: those still in flight when wrk stops are stored but never counted.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  path, cookie, prefix = args[1], args[2], args[3]
  local file = assert(io.open(args[4], "rb"))
  template = file:read("*a")
  file:close()
  payloads = {}
  for line in io.lines(args[5]) do
    table.insert(payloads, line)
  end
  first_payload = tonumber(args[6])
  referer = "http://" .. wrk.host .. ":" .. wrk.port .. path
  counter = 0
  accepted = 0
  other = 0
end

function request()
  counter = counter + 1
  local token = string.format("%s-%04x-%012x", prefix, tid, counter)
  local payload = assert(payloads[first_payload + counter], "out of solved proofs of work")
  -- Functions as replacements: a url-encoded payload's "%" would be a capture reference.
  local body = template:gsub("CLIENT_TOKEN", function() return token end)
  body = body:gsub("ALTCHA_PAYLOAD", function() return payload end)
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
    ["Referer"] = referer,
  }, body)
end

function response(status, headers, body)
  if status == 302 then
    accepted = accepted + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local ok, bad, sent = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("accepted")
    bad = bad + thread:get("other")
    sent = sent + thread:get("counter")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"ok": %d, "other": %d, "sent": %d, "duration_us": %d, "requests": %d, "errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    ok, bad, sent, summary.duration, summary.requests,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
