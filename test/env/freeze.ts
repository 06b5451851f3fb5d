/**
 * Freezing a process for real (SIGSTOP) and knowing it is frozen: kill() only queues the stop,
 * and a thread inside an uninterruptible system call (a broker's fsync on a busy disk) runs on
 * until the call returns. A test that asserts what happens "while frozen" waits for every
 * thread to be stopped first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { waitFor } from './wait.ts';

/** The scheduler state letter of each thread of `pid` ('T': stopped), from /proc. */
function threadStates(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    try {
      // "tid (comm) S ...": comm may hold spaces and parentheses; the state follows the last ')'
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return [stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)];
    } catch {
      return []; // the thread ended meanwhile
    }
  });
}

/** SIGSTOPs `pid` and resolves once none of its threads can run; SIGCONT it with `thaw`. */
export async function freezeProcess(pid: number): Promise<{ thaw(): void }> {
  process.kill(pid, 'SIGSTOP');
  await waitFor(
    `every thread of process ${pid} to be stopped`,
    () => threadStates(pid).every((state) => state === 'T' || state === 't'),
    { timeoutMs: 30_000, intervalMs: 20, describe: () => threadStates(pid).join('') },
  );
  return { thaw: () => process.kill(pid, 'SIGCONT') };
}
