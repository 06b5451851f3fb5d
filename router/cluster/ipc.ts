/**
 * The messages between the router's primary process and its workers (node:cluster IPC), and the
 * worker's side of asking the primary something and waiting for its answer. The primary owns what
 * must be one for all workers: the rate-limit buckets and the aggregated metrics.
 */

/** Worker → primary. */
export type WorkerMessage =
  | { sluice: 'ready'; address: string }
  | { sluice: 'rate-limit'; id: number; perTenant: [string, number][] }
  | { sluice: 'metrics'; id: number };

/** Primary → worker: the answer to a request, or the order to drain and stop. */
export type PrimaryMessage =
  | { sluice: 'answer'; id: number; refused?: { message: string; retryAfterSeconds?: number }; text?: string }
  | { sluice: 'stop' };

export function isSluiceMessage<T extends { sluice: string }>(message: unknown): message is T {
  return typeof message === 'object' && message !== null && 'sluice' in message;
}

type Answer = Extract<PrimaryMessage, { sluice: 'answer' }>;
type Question = Extract<WorkerMessage, { id: number }>;
type Unnumbered<Q> = Q extends unknown ? Omit<Q, 'id'> : never;

export interface PrimaryLink {
  ask(question: Unnumbered<Question>): Promise<Answer>;
  /** Called once when the primary orders this worker to stop. */
  onStop(handler: () => void): void;
  send(message: WorkerMessage): void;
}

/** The worker's link to its primary over the cluster IPC channel (`process.send`). */
export function linkToPrimary(): PrimaryLink {
  const send = process.send?.bind(process);
  if (!send) throw new Error('linkToPrimary: this process is not a cluster worker');
  const waiting = new Map<number, (answer: Answer) => void>();
  const stopHandlers: (() => void)[] = [];
  // a stop order may come while the worker is still starting, before anyone listens for it
  let stopOrdered = false;
  let nextId = 0;
  process.on('message', (message: unknown) => {
    if (!isSluiceMessage<PrimaryMessage>(message)) return; // prom-client's own requests
    if (message.sluice === 'stop') {
      stopOrdered = true;
      for (const handler of stopHandlers.splice(0)) handler();
    } else {
      waiting.get(message.id)?.(message);
      waiting.delete(message.id);
    }
  });
  return {
    ask(question) {
      const id = nextId++;
      // the primary answers every question; if it dies, the worker exits (cluster's disconnect rule)
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        send({ ...question, id } as WorkerMessage);
      });
    },
    onStop(handler) {
      if (stopOrdered) handler();
      else stopHandlers.push(handler);
    },
    send: (message) => void send(message),
  };
}
