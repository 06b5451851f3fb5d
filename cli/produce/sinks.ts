/**
 * Where `sluice produce` sends events: through routers (round robin, with retries on 429/503
 * honouring Retry-After) or straight to Kafka in the Confluent wire format (validated locally
 * first). Each call sends one batch and reports what was accepted and what was rejected, why.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaProducer } from '../../common/kafka/index.ts';
import { partitionForKey } from '../../common/kafka/index.ts';
import type { Stream } from '../../schemas/streams.ts';
import { validateEvent } from '../../schemas/validation.ts';

export interface SendOutcome {
  accepted: number;
  /** Rejected events by reason (HTTP status and problem title, or "schema"). */
  rejected: Map<string, number>;
}

export interface Sink {
  send(events: Record<string, unknown>[]): Promise<SendOutcome>;
  close(): Promise<void>;
}

export function routerSink(options: {
  urls: string[];
  stream: string;
  apiKey?: string;
  maxAttempts?: number;
}): Sink {
  let next = 0;
  const maxAttempts = options.maxAttempts ?? 5;
  return {
    async send(events) {
      const body = JSON.stringify(events);
      for (let attempt = 1; ; attempt++) {
        const url = options.urls[next++ % options.urls.length]!;
        let response: Response | undefined;
        try {
          response = await fetch(`${url}/v1/streams/${options.stream}/events`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
            },
            body,
          });
        } catch (error) {
          if (attempt >= maxAttempts)
            return {
              accepted: 0,
              rejected: new Map([[`unreachable: ${(error as Error).message}`, events.length]]),
            };
          await sleep(200 * attempt);
          continue;
        }
        if (response.status === 202) {
          await response.arrayBuffer();
          return { accepted: events.length, rejected: new Map() };
        }
        const problem = (await response.json().catch(() => ({}))) as { title?: string };
        const retriable = response.status === 429 || response.status === 503;
        if (retriable && attempt < maxAttempts) {
          await sleep(1000 * Number(response.headers.get('retry-after') ?? 1));
          continue;
        }
        return {
          accepted: 0,
          rejected: new Map([[`${response.status} ${problem.title ?? ''}`.trim(), events.length]]),
        };
      }
    },
    close: async () => undefined,
  };
}

export function kafkaSink(options: {
  producer: KafkaProducer;
  stream: Stream;
  encode: (value: unknown) => Buffer;
  partitions: number;
}): Sink {
  const { stream } = options;
  return {
    async send(events) {
      const rejected = new Map<string, number>();
      const records = [];
      for (const event of events) {
        if (validateEvent(stream, event).length > 0) {
          rejected.set('schema', (rejected.get('schema') ?? 0) + 1);
          continue;
        }
        const key = event[stream.partitionKey] as string;
        records.push({
          topic: stream.topic,
          key,
          value: options.encode(event),
          partition: partitionForKey(key, options.partitions),
        });
      }
      if (records.length > 0) await options.producer.send(records);
      return { accepted: records.length, rejected };
    },
    close: () => options.producer.disconnect(),
  };
}
