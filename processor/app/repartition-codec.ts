/**
 * The internal format of repartition records: the event as JSON, with bigints (exact Avro longs
 * beyond 2^53) kept exact. Only sluice reads these topics, so no schema registry is involved.
 */
const bigintTag = '$sluice.bigint';

export function encodeRepartitionValue(event: unknown): Buffer {
  return Buffer.from(
    JSON.stringify(event, (_key, value) =>
      typeof value === 'bigint' ? { [bigintTag]: value.toString() } : value,
    ),
  );
}

export function decodeRepartitionValue(value: Buffer | null): unknown {
  if (value === null) throw new Error('a repartition record without a value');
  return JSON.parse(value.toString('utf8'), (_key, field) =>
    field !== null &&
    typeof field === 'object' &&
    typeof field[bigintTag] === 'string' &&
    Object.keys(field).length === 1
      ? BigInt(field[bigintTag])
      : field,
  );
}
