-- docs/argocd-health.lua (the Argo CD health check of ContainerTask) run on
-- sample tasks, each with the verdict Argo CD must show. Lua 5.1, the
-- language of Argo CD's interpreter (gopher-lua), so a script using anything
-- newer fails here. Also checks that the copy in docs/argocd.md (the argocd-cm
-- example) is the script's text. Usage:
--   lua5.1 argocd_health_test.lua docs/argocd-health.lua docs/argocd.md
-- Prints "N passed, M failed" and exits non-zero when any check fails.
local script, doc = arg[1], arg[2]
assert(script ~= nil and doc ~= nil, "usage: lua5.1 argocd_health_test.lua docs/argocd-health.lua docs/argocd.md")

local function read(path)
  local f = assert(io.open(path, "r"))
  local text = f:read("*a")
  f:close()
  return text
end

-- The block under the argocd-cm key in docs/argocd.md, indentation removed.
local function documented_copy()
  local lines, inside = {}, false
  for line in (read(doc) .. "\n"):gmatch("(.-)\n") do
    if inside then
      if line:match("^```") then
        break
      end
      table.insert(lines, (line:gsub("^    ", "")))
    elseif line:match("resource%.customizations%.health%.ctask%.io_ContainerTask: |$") then
      inside = true
    end
  end
  return table.concat(lines, "\n") .. "\n"
end

-- The script as Argo CD runs it: a chunk whose global `obj` is the task,
-- nothing else from this file visible to it.
local function health(obj)
  local chunk = assert(loadfile(script))
  local env = setmetatable({ obj = obj }, { __index = _G })
  setfenv(chunk, env)
  return chunk()
end

local function task(generation, status)
  return {
    apiVersion = "ctask.io/v1alpha1",
    kind = "ContainerTask",
    metadata = { name = "hello", namespace = "dev", generation = generation },
    spec = { image = "busybox" },
    status = status,
  }
end

local function cond(kind, status, reason, message)
  return { type = kind, status = status, reason = reason, message = message }
end

local cases = {
  { name = "no status yet", obj = task(1, nil), want = "Progressing" },
  {
    name = "succeeded",
    obj = task(2, {
      phase = "Succeeded", reason = "Completed", observedGeneration = 2, exitCode = 0,
      conditions = { cond("Succeeded", "True", "Completed", "exit code 0") },
    }),
    want = "Healthy", message = "Succeeded: Completed",
  },
  {
    name = "failed",
    obj = task(1, {
      phase = "Failed", reason = "OOMKilled", message = "the container ran out of memory",
      observedGeneration = 1,
      conditions = { cond("Succeeded", "False", "OOMKilled", "the container ran out of memory") },
    }),
    want = "Degraded", message = "Failed: OOMKilled: the container ran out of memory",
  },
  {
    name = "cancelled",
    obj = task(3, { phase = "Cancelled", reason = "Cancelled", observedGeneration = 3 }),
    want = "Degraded",
  },
  {
    name = "running",
    obj = task(1, {
      phase = "Running", observedGeneration = 1,
      conditions = { cond("Succeeded", "Unknown", "Running"), cond("Reconciling", "True", "Running") },
    }),
    want = "Progressing", message = "Running",
  },
  { name = "pending", obj = task(1, { phase = "Pending", observedGeneration = 1 }), want = "Progressing" },
  { name = "queued", obj = task(1, { phase = "Queued", observedGeneration = 1 }), want = "Progressing" },
  {
    name = "suspended",
    obj = task(4, { phase = "Suspended", reason = "Suspended", observedGeneration = 4 }),
    want = "Suspended",
  },
  {
    name = "succeeded, but the spec changed since (stale observedGeneration)",
    obj = task(3, { phase = "Succeeded", observedGeneration = 2 }),
    want = "Progressing", message = "Waiting for the operator to observe generation 3",
  },
  {
    name = "failed, but the spec changed since",
    obj = task(5, { phase = "Failed", observedGeneration = 4 }),
    want = "Progressing",
  },
  {
    name = "a status with no observedGeneration is stale",
    obj = task(1, { phase = "Succeeded" }),
    want = "Progressing",
  },
  {
    name = "stalled (kstatus) before it ran",
    obj = task(1, {
      phase = "Pending", reason = "ImagePullFailed", observedGeneration = 1,
      conditions = { cond("Stalled", "True", "ImagePullFailed", "image not found") },
    }),
    want = "Degraded", message = "Pending: ImagePullFailed",
  },
  {
    name = "no phase: the Succeeded condition decides (True)",
    obj = task(1, { observedGeneration = 1, conditions = { cond("Succeeded", "True", "Completed") } }),
    want = "Healthy",
  },
  {
    name = "no phase: the Succeeded condition decides (False)",
    obj = task(1, { observedGeneration = 1, conditions = { cond("Succeeded", "False", "Error", "exit code 3") } }),
    want = "Degraded", message = "exit code 3",
  },
  {
    name = "a phase this script does not know yet",
    obj = task(1, { phase = "Preempted", observedGeneration = 1 }),
    want = "Progressing",
  },
}

local passed, failed = 0, 0
for _, c in ipairs(cases) do
  local ok, hs = pcall(health, c.obj)
  local problem = nil
  if not ok then
    problem = "the script failed: " .. tostring(hs)
  elseif type(hs) ~= "table" then
    problem = "the script returned " .. type(hs) .. ", not a table"
  elseif hs.status ~= c.want then
    problem = "status " .. tostring(hs.status) .. ", want " .. c.want
  elseif c.message ~= nil and hs.message ~= c.message then
    problem = "message " .. string.format("%q", tostring(hs.message)) .. ", want " .. string.format("%q", c.message)
  elseif type(hs.message) ~= "string" or hs.message == "" then
    problem = "no message"
  end
  if problem == nil then
    passed = passed + 1
    print("ok      " .. c.name .. ": " .. hs.status)
  else
    failed = failed + 1
    print("FAILED  " .. c.name .. ": " .. problem)
  end
end
if documented_copy() == read(script) then
  passed = passed + 1
  print("ok      docs/argocd.md holds the script as it is")
else
  failed = failed + 1
  print("FAILED  the copy in docs/argocd.md differs from " .. script .. ": paste it again")
end

print(passed .. " passed, " .. failed .. " failed")
if failed > 0 or passed == 0 then
  os.exit(1)
end
