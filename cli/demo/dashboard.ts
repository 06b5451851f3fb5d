/**
 * The demo's live view: the latest closed windows per tenant (from the output topic) and the
 * slots (from the lease table), redrawn every second on a terminal, printed as lines otherwise.
 */
import type { LeaseRow, MemberRow } from '../../processor/coordination/lease-repository.ts';

export interface WindowResult {
  userTenantDomain: string;
  apiName: string;
  windowStart: number;
  requests: number;
  throttledRequests: number;
  avgResponseTime: number;
}

export interface DashboardState {
  accepted: number;
  rejected: number;
  windows: number;
  latest: Map<string, WindowResult[]>;
  leases: LeaseRow[];
  members: MemberRow[];
  routers: string[];
  statusPages: string[];
}

export function renderDashboard(state: DashboardState, interactive: boolean): string {
  const lines: string[] = [];
  lines.push(
    `sluice demo · ${state.routers.length} routers (${state.routers.join(', ')}) · Ctrl-C stops everything`,
  );
  lines.push(
    `events accepted ${state.accepted}, rejected ${state.rejected} · windows emitted ${state.windows}`,
  );
  lines.push('', 'slot  epoch  active                              standbys (changelog lag)');
  for (const lease of state.leases) {
    const standbys = state.members
      .filter((member) => member.slot === lease.slot && member.role === 'standby')
      .map((member) => `${member.instanceId} (${member.changelogLag ?? '?'})`)
      .join(', ');
    lines.push(
      `${String(lease.slot).padEnd(6)}${String(lease.epoch).padEnd(7)}${(lease.holder ?? '(none)').padEnd(36)}${standbys}`,
    );
  }
  lines.push('', 'tenant                      api       window (UTC)  requests  throttled  avg ms');
  const tenants = [...state.latest.entries()]
    .sort((a, b) => b[1].reduce((s, w) => s + w.requests, 0) - a[1].reduce((s, w) => s + w.requests, 0))
    .slice(0, interactive ? 12 : 5);
  for (const [tenant, windows] of tenants) {
    for (const window of windows.slice(0, 2)) {
      lines.push(
        `${tenant.padEnd(28)}${window.apiName.padEnd(10)}${new Date(window.windowStart).toISOString().slice(11, 19).padEnd(14)}` +
          `${String(window.requests).padEnd(10)}${String(window.throttledRequests).padEnd(11)}${window.avgResponseTime.toFixed(1)}`,
      );
    }
  }
  if (state.statusPages.length > 0) lines.push('', `status pages: ${state.statusPages.join('  ')}`);
  return lines.join('\n');
}
