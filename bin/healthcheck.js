#!/usr/bin/env node
// Container health check: GET /healthz on this instance's HTTP port (router 8080, processor 9090
// by default; SLUICE_HEALTH_PORT overrides). Exit 0 when it answers 200.
const port =
  process.env.SLUICE_HEALTH_PORT ??
  process.env.SLUICE_ROUTER_PORT ??
  process.env.SLUICE_PROCESSOR_PORT ??
  '8080';
fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) })
  .then((response) => process.exit(response.ok ? 0 : 1))
  .catch(() => process.exit(1));
