/**
 * Where `sluice produce` gets events: a file (JSON array or NDJSON) or standard input, or the
 * built-in generator of seed Request events, which can mix in late and invalid events. Invalid
 * generated events are marked, so their rejection counts as expected.
 */
import { readFileSync } from 'node:fs';
import { type GeneratorOptions, generateRequests, random } from '../../schemas/request-generator.ts';

export interface SourcedEvent {
  event: Record<string, unknown>;
  /** Generated to be rejected (its rejection is expected). */
  invalid: boolean;
}

export function readEventsFile(path: string): SourcedEvent[] {
  const text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const parsed: unknown[] = trimmed.startsWith('[')
    ? JSON.parse(trimmed)
    : trimmed
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line, index) => {
          try {
            return JSON.parse(line);
          } catch (error) {
            throw new Error(
              `line ${index + 1} of ${path === '-' ? 'standard input' : path} is not JSON: ${(error as Error).message}`,
            );
          }
        });
  return parsed.map((event) => ({ event: event as Record<string, unknown>, invalid: false }));
}

const breakers: ((event: Record<string, unknown>) => Record<string, unknown>)[] = [
  (event) => ({ ...event, responseTime: 'slow' }),
  (event) => ({ ...event, userTenantDomain: '' }),
  (event) => {
    const { apiName: _dropped, ...rest } = event;
    return rest;
  },
];

export function* generatedEvents(
  options: GeneratorOptions & { invalidShare: number },
): Generator<SourcedEvent> {
  const pick = random(options.seed ^ 0x5eed);
  for (const event of generateRequests(options)) {
    if (options.invalidShare > 0 && pick() < options.invalidShare) {
      const breaker = breakers[Math.floor(pick() * breakers.length)]!;
      yield { event: breaker(event as unknown as Record<string, unknown>), invalid: true };
    } else {
      yield { event: event as unknown as Record<string, unknown>, invalid: false };
    }
  }
}
