-- wrk script for bench/bench_form.py: GET a page with the reader's csrftoken cookie.
-- Arguments (after "--"): cookie header. Counts 200 responses and other statuses.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrk.headers["Cookie"] = args[1]
  ok = 0
  other = 0
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local good, bad = 0, 0
  for _, thread in ipairs(threads) do
    good = good + thread:get("ok")
    bad = bad + thread:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"ok": %d, "other": %d, "duration_us": %d, "requests": %d, "errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    good, bad, summary.duration, summary.requests,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
