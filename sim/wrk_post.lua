-- wrk script: POST a small chat completion to the mock server.
--   quorum-mock --scenario bench.yaml &        # prints the port
--   wrk -t2 -c100 -d5s -s sim/wrk_post.lua \
--       http://127.0.0.1:PORT/v1/chat/completions
-- MODEL picks the model (default "bench"); STREAM=1 asks for SSE.
local model = os.getenv("MODEL") or "bench"
local stream = os.getenv("STREAM") == "1"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format(
  '{"model":"%s","stream":%s,"messages":[' ..
  '{"role":"system","content":"Be brief."},' ..
  '{"role":"user","content":"What is the capital of Australia?"}]}',
  model, stream and "true" or "false")

local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  io.write(string.format("requests: %d, errors: connect %d read %d write %d status %d timeout %d\n",
    summary.requests, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout))
end
