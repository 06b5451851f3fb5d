/** Configured streams for compiling apps in unit tests, without schema files or a registry. */
import type { Stream } from '../../../schemas/streams.ts';

export function fakeStream(
  name: string,
  fields: readonly string[],
  options: { partitionKey: string; eventTime?: string; partitions?: number; table?: boolean },
): Stream {
  return {
    name,
    topic: name.toLowerCase(),
    partitions: options.partitions ?? 3,
    schema: { name, fields: fields.map((field) => ({ name: field, type: 'string' })) },
    type: undefined as never, // never encoded in these tests
    partitionKey: options.partitionKey,
    eventTime: options.eventTime,
    table: options.table ?? false,
    subject: `${name.toLowerCase()}-value`,
    fieldNames: new Set(fields),
  };
}

export const requestFields = [
  'meta_clientType',
  'applicationConsumerKey',
  'applicationName',
  'applicationId',
  'applicationOwner',
  'apiContext',
  'apiName',
  'apiVersion',
  'apiCreator',
  'apiTier',
  'apiHostname',
  'username',
  'userTenantDomain',
  'requestTimestamp',
  'throttledOut',
  'responseTime',
  'backendTime',
];

export function streamsOf(...streams: Stream[]): Map<string, Stream> {
  return new Map(streams.map((stream) => [stream.name, stream]));
}

/** The message a compilation (or build) step throws; fails the test when it does not throw. */
export function refusal(compile: () => unknown): string {
  try {
    compile();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the app compiled');
}
