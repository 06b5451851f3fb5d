/** What a processor says about its tasks (/v1/status), and a steady input without late records, for the recovery tests. */
import { type RequestEvent, takeRequests } from '../../../schemas/request-generator.ts';

export interface TaskLine {
  /** `<sub-topology>_<partition>` */
  task: string;
  partition: number;
  state: string;
  reason: string | null;
  inputReset: { from: string; to: string; skipped: string } | null;
}

export async function instanceTasks(address: string): Promise<TaskLine[]> {
  const status = (await (await fetch(`${address}/v1/status`)).json()) as { instance: { tasks: TaskLine[] } };
  return status.instance.tasks;
}

/** Events over a few minutes of event time, 20 tenants × 3 APIs, none late. */
export function steadyEvents(seed: number, count: number): RequestEvent[] {
  return takeRequests(
    {
      seed,
      tenants: 20,
      apis: 3,
      startTime: Date.UTC(2026, 0, 1, 12, 0, 0),
      stepMs: 40,
      jitterMs: 4_000,
      lateShare: 0,
    },
    count,
  );
}
