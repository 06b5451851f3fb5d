/**
 * The internal format of repartition records: the event as JSON, with bigints (exact Avro longs
 * beyond 2^53) kept exact. Only sluice reads these topics, so no schema registry is involved.
 */
const bigintTag = '$sluice.bigint';

/*
 * Both directions try plain JSON first: a replacer or reviver is called for every field of every
 * record and was the largest single cost of a repartitioned app (19 % of api-usage's CPU in a
 * profile); only records that hold a bigint need them.
 */
const withBigints = (_key: string, value: unknown) =>
  typeof value === 'bigint' ? { [bigintTag]: value.toString() } : value;

export function encodeRepartitionValue(event: unknown): Buffer {
  let text: string;
  try {
    // throws on a bigint (sluice defines no BigInt toJSON)
    text = JSON.stringify(event);
  } catch {
    text = JSON.stringify(event, withBigints);
  }
  return Buffer.from(text);
}

export function decodeRepartitionValue(value: Buffer | null): unknown {
  if (value === null) throw new Error('a repartition record without a value');
  const text = value.toString('utf8');
  if (!text.includes(bigintTag)) return JSON.parse(text);
  return JSON.parse(text, (_key, field) =>
    field !== null &&
    typeof field === 'object' &&
    typeof field[bigintTag] === 'string' &&
    Object.keys(field).length === 1
      ? BigInt(field[bigintTag])
      : field,
  );
}
