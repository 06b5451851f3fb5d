/**
 * api-analytics with a bug that escapes the task: a request for API `crash-worker` throws from a
 * timer, outside any task's error handling (an uncaught error in whatever thread runs the task).
 */
import { defineApp, stream } from '../../../../processor/app/define.ts';
import type { Request } from '../../../../schemas/event-types.ts';

export default defineApp({
  id: 'worker-crash',
  source: stream<Request>('Request'),
  pipeline: (requests) =>
    requests
      .peek((request) => {
        if (request.apiName === 'crash-worker')
          setImmediate(() => {
            throw new Error('a bug outside the task loop');
          });
      })
      .to(stream<Request>('Copies')),
});
