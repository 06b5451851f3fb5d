import avro from 'avsc';
import { readEvents } from '../router/body.ts';
import { takeRequests } from '../schemas/request-generator.ts';
import { seedRequestStream } from '../schemas/streams.ts';
import { validateEvent } from '../schemas/validation.ts';
import { median } from './lib/stats.ts';

const stream = seedRequestStream();
const nativeType = avro.Type.forSchema(stream.schema as avro.Schema);
const eventsPerRequest = 100;
const events = takeRequests(
  { seed: 1, tenants: 100, apis: 20, startTime: Date.UTC(2026, 0, 1), stepMs: 10 },
  100_000,
);
const bodies: Buffer[] = [];
for (let start = 0; start < events.length; start += eventsPerRequest)
  bodies.push(Buffer.from(JSON.stringify(events.slice(start, start + eventsPerRequest))));
const limits = { maxBodyBytes: 4 * 1024 * 1024, maxEvents: 10_000 };
const headers = { contentType: 'application/json', contentEncoding: undefined };

/** The old path: replacement decoding, doubles, avsc's isValid and long. */
function before(body: Buffer): Buffer[] {
  const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>[];
  return parsed.map((event) => {
    const errors: string[] = [];
    for (const key of Object.keys(event)) if (!stream.fieldNames.has(key)) errors.push(key);
    nativeType.isValid(event, { errorHook: (path) => errors.push(path.join('.')) });
    if (errors.length > 0) throw new Error(`invalid seed event: ${errors.join(', ')}`);
    return nativeType.toBuffer(event);
  });
}

async function after(body: Buffer): Promise<Buffer[]> {
  const parsed = await readEvents(body, headers, limits);
  return parsed.map((event) => {
    const errors = validateEvent(stream, event);
    if (errors.length > 0) throw new Error(`invalid seed event: ${JSON.stringify(errors)}`);
    return stream.type.toBuffer(event);
  });
}

async function timePerEvent(path: (body: Buffer) => Buffer[] | Promise<Buffer[]>): Promise<number> {
  const started = process.hrtime.bigint();
  let encoded = 0;
  for (const body of bodies) encoded += (await path(body)).length;
  if (encoded !== events.length) throw new Error(`encoded ${encoded} of ${events.length} events`);
  return Number(process.hrtime.bigint() - started) / events.length;
}

// refuse a fast wrong answer: both paths must write identical bytes
for (const body of bodies.slice(0, 50)) {
  const [old, exact] = [before(body), await after(body)];
  old.forEach((bytes, index) => {
    if (!bytes.equals(exact[index]!)) throw new Error('the exact path encodes a seed event differently');
  });
}

await timePerEvent(before); // warm-up, both paths
await timePerEvent(after);
const runs: { before: number; after: number }[] = [];
for (let run = 0; run < 5; run++)
  runs.push({ before: await timePerEvent(before), after: await timePerEvent(after) });
const ratios = runs.map((run) => run.after / run.before);
console.log(
  JSON.stringify(
    {
      events: events.length,
      eventsPerRequest,
      nsPerEventBefore: runs.map((run) => Math.round(run.before)),
      nsPerEventAfter: runs.map((run) => Math.round(run.after)),
      ratioAfterToBefore: ratios.map((ratio) => Number(ratio.toFixed(2))),
      medianRatio: Number(median(ratios).toFixed(2)),
    },
    null,
    2,
  ),
);
