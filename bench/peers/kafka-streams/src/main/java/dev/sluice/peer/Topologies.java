package dev.sluice.peer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.EmitStrategy;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.TimestampExtractor;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;

/** The topologies the peer runs, mirroring sluice's apps. */
final class Topologies {
  private Topologies() {}

  static Schema schema(String resource) {
    try (InputStream in = Topologies.class.getResourceAsStream(resource)) {
      return new Schema.Parser().parse(in);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static final Schema REQUEST = schema("/Request.avsc");
  static final Schema API_STATS = schema("/ApiStats.avsc");

  /** Decodes the Avro body of a Confluent wire-format record (5-byte header skipped). */
  static GenericRecord decode(byte[] value, GenericDatumReader<GenericRecord> reader) {
    try {
      BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(value, 5, value.length - 5, null);
      return reader.read(null, decoder);
    } catch (IOException e) {
      throw new IllegalArgumentException("undecodable record", e);
    }
  }

  /** Event time from the Avro body (requestTimestamp), as sluice reads it. */
  static final class EventTime implements TimestampExtractor {
    private final GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(REQUEST);

    @Override
    public long extract(ConsumerRecord<Object, Object> record, long partitionTime) {
      return (Long) decode((byte[]) record.value(), reader).get("requestTimestamp");
    }
  }

  /** The fields the aggregation needs, compact for the repartition topic. */
  record Fields(String tenant, String api, boolean throttled, long responseTime, long backendTime) {}

  static final Serde<Fields> FIELDS = Serdes.serdeFrom(
      (topic, f) -> {
        byte[] tenant = f.tenant().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] api = f.api().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return ByteBuffer.allocate(4 + tenant.length + 4 + api.length + 1 + 16)
            .putInt(tenant.length).put(tenant).putInt(api.length).put(api)
            .put((byte) (f.throttled() ? 1 : 0)).putLong(f.responseTime()).putLong(f.backendTime()).array();
      },
      (topic, bytes) -> {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        byte[] tenant = new byte[buffer.getInt()];
        buffer.get(tenant);
        byte[] api = new byte[buffer.getInt()];
        buffer.get(api);
        return new Fields(new String(tenant, java.nio.charset.StandardCharsets.UTF_8),
            new String(api, java.nio.charset.StandardCharsets.UTF_8), buffer.get() == 1, buffer.getLong(), buffer.getLong());
      });

  /** The per-window aggregate: counts and sums, as sluice's aggregations keep them. */
  record Agg(long requests, long throttled, long minRt, long maxRt, long sumRt, long sumBt) {
    static Agg empty() {
      return new Agg(0, 0, Long.MAX_VALUE, Long.MIN_VALUE, 0, 0);
    }

    Agg add(Fields f) {
      return new Agg(requests + 1, throttled + (f.throttled() ? 1 : 0), Math.min(minRt, f.responseTime()),
          Math.max(maxRt, f.responseTime()), sumRt + f.responseTime(), sumBt + f.backendTime());
    }
  }

  static final Serde<Agg> AGG = Serdes.serdeFrom(
      (topic, a) -> ByteBuffer.allocate(48).putLong(a.requests()).putLong(a.throttled()).putLong(a.minRt())
          .putLong(a.maxRt()).putLong(a.sumRt()).putLong(a.sumBt()).array(),
      (topic, bytes) -> {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        return new Agg(b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong());
      });

  /**
   * api-analytics: per (tenant, api), 1-minute tumbling windows with 10 s grace, emitted once when
   * the window closes. The group key (tenant, api) is not the record key (tenant), so the DSL
   * repartitions through an internal topic; sluice keeps the group local instead.
   */
  static Topology apiAnalytics(String input, String output, int schemaId, Runnable onRecord) {
    StreamsBuilder builder = new StreamsBuilder();
    GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(REQUEST);
    GenericDatumWriter<GenericRecord> writer = new GenericDatumWriter<>(API_STATS);
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()).withTimestampExtractor(new EventTime()))
        .mapValues(value -> {
          GenericRecord r = decode(value, reader);
          return new Fields(r.get("userTenantDomain").toString(), r.get("apiName").toString(),
              (Boolean) r.get("throttledOut"), (Long) r.get("responseTime"), (Long) r.get("backendTime"));
        })
        .groupBy((key, f) -> f.tenant() + "\u0000" + f.api(), Grouped.with(Serdes.String(), FIELDS))
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), Duration.ofSeconds(10)))
        .emitStrategy(EmitStrategy.onWindowClose())
        .aggregate(Agg::empty, (key, f, agg) -> {
              // counted where the work ends (after the repartition), so "done" means aggregated
              onRecord.run();
              return agg.add(f);
            },
            Materialized.<String, Agg, WindowStore<Bytes, byte[]>>as("aggregates").withKeySerde(Serdes.String()).withValueSerde(AGG))
        .toStream()
        .map((windowed, agg) -> {
          GenericRecord stats = apiStats(windowed.key(), windowed.window().start(), windowed.window().end(), agg);
          return KeyValue.pair(stats.get("userTenantDomain").toString(), encode(stats, writer, schemaId));
        })
        .to(output, Produced.with(Serdes.String(), Serdes.ByteArray()));
    return builder.build();
  }

  /** The ApiStats record of one window; the group key is "tenant\u0000api". */
  static GenericRecord apiStats(String groupKey, long windowStart, long windowEnd, Agg agg) {
    String[] parts = groupKey.split("\u0000", 2);
    GenericRecord stats = new GenericData.Record(API_STATS);
    stats.put("userTenantDomain", parts[0]);
    stats.put("apiName", parts[1]);
    stats.put("windowStart", windowStart);
    stats.put("windowEnd", windowEnd);
    stats.put("requests", agg.requests());
    stats.put("throttledRequests", agg.throttled());
    stats.put("minResponseTime", agg.minRt());
    stats.put("avgResponseTime", (double) agg.sumRt() / agg.requests());
    stats.put("maxResponseTime", agg.maxRt());
    stats.put("avgBackendTime", (double) agg.sumBt() / agg.requests());
    return stats;
  }

  static byte[] encode(GenericRecord record, GenericDatumWriter<GenericRecord> writer, int schemaId) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.write(0);
      out.write(ByteBuffer.allocate(4).putInt(schemaId).array());
      BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
      writer.write(record, encoder);
      encoder.flush();
      return out.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * api-analytics without the repartition: LocalWindowAggregate (Processor API) groups inside the
   * tenant's partition, as sluice does. Retention of two windows and their grace keeps a closed
   * window in the store until it is emitted.
   */
  static Topology apiAnalyticsLocal(String input, String output, int schemaId, Runnable onRecord) {
    long retention = 2 * (LocalWindowAggregate.SIZE + LocalWindowAggregate.GRACE);
    return new Topology()
        .addSource("requests", Serdes.String().deserializer(), Serdes.ByteArray().deserializer(), input)
        .addProcessor("aggregate", () -> new LocalWindowAggregate(schemaId, onRecord), "requests")
        .addStateStore(Stores.windowStoreBuilder(
                Stores.persistentWindowStore(LocalWindowAggregate.STORE, Duration.ofMillis(retention),
                    Duration.ofMillis(LocalWindowAggregate.SIZE), false),
                Serdes.String(), AGG)
            .withCachingEnabled(), "aggregate")
        .addSink("stats", output, Serdes.String().serializer(), Serdes.ByteArray().serializer(), "aggregate");
  }

  /** A running count per record key (no repartition): the store for restore and failover runs. */
  static Topology count(String input, String output, Runnable onRecord) {
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()))
        .peek((key, value) -> onRecord.run())
        .groupByKey()
        .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("counts").withKeySerde(Serdes.String()))
        .toStream()
        .to(output, Produced.with(Serdes.String(), Serdes.Long()));
    return builder.build();
  }
}
