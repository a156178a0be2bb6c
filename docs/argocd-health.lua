-- Argo CD health check for ctask.io/ContainerTask (docs/argocd.md): the
-- value of resource.customizations.health.ctask.io_ContainerTask in argocd-cm.
-- Argo CD runs it with the live object as `obj` and reads the table it returns.
--
--   status older than the spec (observedGeneration < generation) -> Progressing
--   phase Succeeded                                              -> Healthy
--   phase Failed or Cancelled, or condition Stalled=True         -> Degraded
--   phase Suspended                                              -> Suspended
--   anything else (Pending, Queued, Running, no status yet)      -> Progressing
-- With no phase, the Succeeded condition decides (True: Healthy, False:
-- Degraded). Lua 5.1, as Argo CD's interpreter (gopher-lua) speaks it;
-- tests/deploy/argocd_health_test.lua runs it on sample tasks.
local hs = {}

local function condition(status, kind)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

-- "Failed: OOMKilled: the container ran out of memory", as much as there is.
local function describe(status, fallback)
  local parts = {}
  if status.phase ~= nil and status.phase ~= "" then
    table.insert(parts, status.phase)
  end
  if status.reason ~= nil and status.reason ~= "" then
    table.insert(parts, status.reason)
  end
  if status.message ~= nil and status.message ~= "" then
    table.insert(parts, status.message)
  end
  if #parts == 0 then
    return fallback
  end
  return table.concat(parts, ": ")
end

local status = obj.status
if status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to pick the task up"
  return hs
end

local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local phase = status.phase
local succeeded = condition(status, "Succeeded")
local stalled = condition(status, "Stalled")

if phase == "Succeeded" then
  hs.status = "Healthy"
elseif phase == "Failed" or phase == "Cancelled" then
  hs.status = "Degraded"
elseif phase == "Suspended" then
  hs.status = "Suspended"
elseif stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(status, stalled.message or "Stalled")
  return hs
elseif (phase == nil or phase == "") and succeeded ~= nil and succeeded.status == "True" then
  hs.status = "Healthy"
elseif (phase == nil or phase == "") and succeeded ~= nil and succeeded.status == "False" then
  hs.status = "Degraded"
  hs.message = succeeded.message or succeeded.reason or "Failed"
  return hs
else
  hs.status = "Progressing"
end
hs.message = describe(status, "Waiting for the task to run")
return hs
