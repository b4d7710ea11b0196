-- Argo CD health check for integrations.tether.io Integration, FieldMapping and Channel.
-- Register it under resource.customizations.health.integrations.tether.io_Integration (and _FieldMapping,
-- _Channel) in argocd-cm.
local hs = {status = "Progressing", message = "Waiting for the operator"}
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata.generation or 0
local observed = obj.status.observedGeneration or -1
local ready, stalled
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then ready = c end
  if c.type == "Stalled" then stalled = c end
end
if stalled ~= nil and stalled.status == "True" then
  return {status = "Degraded", message = stalled.message}
end
if ready ~= nil and ready.status == "True" and observed == generation then
  if ready.reason == "Paused" then
    return {status = "Suspended", message = ready.message}
  end
  return {status = "Healthy", message = ready.message}
end
if ready ~= nil and ready.status == "False" then
  return {status = "Degraded", message = ready.message}
end
if ready ~= nil then
  hs.message = ready.message
end
return hs
