/** The events of a request body: one JSON object, a JSON array of them, or NDJSON (one per line). */
import { RequestProblem } from './problems.ts';

export type BodyFormat = 'json' | 'ndjson';

export const contentTypes: Record<string, BodyFormat> = {
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'application/x-jsonlines': 'ndjson',
};

export function parseEvents(body: Buffer, format: BodyFormat, maxEvents: number): unknown[] {
  const text = body.toString('utf8');
  if (text.trim() === '') throw new RequestProblem('ROUTER_MALFORMED_BODY', 'the body holds no events');
  let events: unknown[];
  if (format === 'json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new RequestProblem(
        'ROUTER_MALFORMED_BODY',
        `the body is not valid JSON: ${(error as Error).message}`,
      );
    }
    events = Array.isArray(parsed) ? parsed : [parsed];
  } else {
    events = [];
    const lines = text.split('\n');
    for (let line = 0; line < lines.length; line++) {
      const content = lines[line]!.trim();
      if (content === '') continue;
      try {
        events.push(JSON.parse(content));
      } catch (error) {
        throw new RequestProblem(
          'ROUTER_MALFORMED_BODY',
          `line ${line + 1} of the NDJSON body is not valid JSON: ${(error as Error).message}`,
        );
      }
    }
  }
  if (events.length === 0) throw new RequestProblem('ROUTER_MALFORMED_BODY', 'the body holds no events');
  if (events.length > maxEvents) {
    throw new RequestProblem(
      'ROUTER_TOO_MANY_EVENTS',
      `the request holds ${events.length} events; at most ${maxEvents} are accepted per request`,
    );
  }
  return events;
}
