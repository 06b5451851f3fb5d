package dev.sluice.peer;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.GlobalKTable;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.Suppressed.BufferConfig;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The DSL topologies of sluice's operator-graph apps (apps/api-usage.ts, apps/plan-usage.ts).
 * Each repartitions once, as sluice does. After the repartition a LateTagger keeps the same
 * stream time as the window aggregate behind it (the largest timestamp the task has seen) and
 * sends the records that aggregate would drop as late to a topic of their own: the bench then
 * knows which records were late, as it knows sluice's from its dead-letter topic, and checks both
 * outputs against one independent computation.
 */
final class GraphTopologies {
  private GraphTopologies() {}

  static final Schema API_USAGE = Topologies.schema("/ApiUsage.avsc");
  static final Schema THROTTLE_ALERT = Topologies.schema("/ThrottleAlert.avsc");
  static final Schema TENANT_PLAN = Topologies.schema("/TenantPlan.avsc");
  static final Schema PLAN_USAGE = Topologies.schema("/PlanUsage.avsc");

  static final long MINUTE = 60_000;
  static final long GRACE = 10_000;
  static final long BURST_WINDOW = 10_000;
  static final long BURST_THRESHOLD = 3;

  /** A record and whether the window aggregate after it would drop it as late. */
  record Tagged<V>(V value, boolean late) {}

  /**
   * Tumbling windows of `size` and `grace`: a record is late when its window's end plus grace is at
   * or before the task's stream time, which counts the record itself (as Kafka Streams' window
   * aggregation decides). One instance per task, as the aggregate's stream time is.
   */
  static final class LateTagger<K, V> implements FixedKeyProcessor<K, V, Tagged<V>> {
    private final long size;
    private final long grace;
    private long streamTime = Long.MIN_VALUE;
    private FixedKeyProcessorContext<K, Tagged<V>> context;

    LateTagger(long size, long grace) {
      this.size = size;
      this.grace = grace;
    }

    @Override
    public void init(FixedKeyProcessorContext<K, Tagged<V>> context) {
      this.context = context;
    }

    @Override
    public void process(FixedKeyRecord<K, V> record) {
      long time = record.timestamp();
      streamTime = Math.max(streamTime, time);
      long windowEnd = time - Math.floorMod(time, size) + size;
      context.forward(record.withValue(new Tagged<>(record.value(), windowEnd + grace <= streamTime)));
    }
  }

  /** Late records to `lateTopic`, the others on to the aggregation. */
  static <V> KStream<String, V> dropLate(KStream<String, V> repartitioned, long size, String lateTopic, Serde<V> serde) {
    Map<String, KStream<String, Tagged<V>>> branches = repartitioned
        .processValues(() -> new LateTagger<String, V>(size, GRACE))
        .split(Named.as("tagged-"))
        .branch((key, tagged) -> tagged.late(), Branched.as("late"))
        .defaultBranch(Branched.as("on-time"));
    KStream<String, Tagged<V>> late = branches.get("tagged-late");
    KStream<String, Tagged<V>> onTime = branches.get("tagged-on-time");
    late.mapValues(Tagged::value).to(lateTopic, Produced.with(Serdes.String(), serde));
    return onTime.mapValues(Tagged::value);
  }

  static String readString(ByteBuffer buffer) {
    byte[] bytes = new byte[buffer.getInt()];
    buffer.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  // ---- api-usage ----------------------------------------------------------------------------

  /** Per API and window: counts, latency, and the distinct tenants (a set, as sluice keeps one). */
  record Usage(long requests, long throttled, long sumRt, long maxRt, TreeSet<String> tenants) {
    static Usage empty() {
      return new Usage(0, 0, 0, Long.MIN_VALUE, new TreeSet<>());
    }

    Usage add(Topologies.Fields f) {
      tenants.add(f.tenant());
      return new Usage(requests + 1, throttled + (f.throttled() ? 1 : 0), sumRt + f.responseTime(),
          Math.max(maxRt, f.responseTime()), tenants);
    }
  }

  static final Serde<Usage> USAGE = Serdes.serdeFrom(
      (topic, u) -> {
        List<byte[]> names = new ArrayList<>();
        int length = 4 * 8 + 4;
        for (String tenant : u.tenants()) {
          byte[] name = utf8(tenant);
          names.add(name);
          length += 4 + name.length;
        }
        ByteBuffer buffer = ByteBuffer.allocate(length).putLong(u.requests()).putLong(u.throttled())
            .putLong(u.sumRt()).putLong(u.maxRt()).putInt(names.size());
        for (byte[] name : names) buffer.putInt(name.length).put(name);
        return buffer.array();
      },
      (topic, bytes) -> {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        long requests = buffer.getLong(), throttled = buffer.getLong(), sumRt = buffer.getLong(), maxRt = buffer.getLong();
        TreeSet<String> tenants = new TreeSet<>();
        for (int n = buffer.getInt(); n > 0; n--) tenants.add(readString(buffer));
        return new Usage(requests, throttled, sumRt, maxRt, tenants);
      });

  /** Throttled requests per API of one tenant in one burst window. */
  static final Serde<TreeMap<String, Long>> COUNTS = Serdes.serdeFrom(
      (topic, counts) -> {
        int length = 4;
        for (String api : counts.keySet()) length += 4 + utf8(api).length + 8;
        ByteBuffer buffer = ByteBuffer.allocate(length).putInt(counts.size());
        counts.forEach((api, n) -> {
          byte[] name = utf8(api);
          buffer.putInt(name.length).put(name).putLong(n);
        });
        return buffer.array();
      },
      (topic, bytes) -> {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        TreeMap<String, Long> counts = new TreeMap<>();
        for (int n = buffer.getInt(); n > 0; n--) counts.put(readString(buffer), buffer.getLong());
        return counts;
      });

  /**
   * api-usage: every request regrouped by API (a repartition) and counted per 1-minute window with
   * 10 s grace; throttled requests branched off and counted per tenant and API in 10 s windows, a
   * window with at least 3 an alert. The burst windows are kept per tenant (the record key) with a
   * count per API, so, as in sluice, only the per-API usage crosses a repartition. Both emit each
   * window once, when it closes: `suppress(untilWindowCloses)`, which decides at the stream time
   * of every update it gets. (`emitStrategy(onWindowClose)` checks at most once a second of wall
   * time, so a pre-filled input's last windows would never be emitted, and checking at every record
   * copies the record cache's key range each time: it ran at a few hundred records/s.)
   */
  static Topology apiUsage(Map<String, String> flags, Runnable onRecord) {
    int usageSchemaId = Integer.parseInt(flags.get("schema-id"));
    int alertSchemaId = Integer.parseInt(flags.get("alert-schema-id"));
    StreamsBuilder builder = new StreamsBuilder();
    GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(Topologies.REQUEST);
    GenericDatumWriter<GenericRecord> usageWriter = new GenericDatumWriter<>(API_USAGE);
    GenericDatumWriter<GenericRecord> alertWriter = new GenericDatumWriter<>(THROTTLE_ALERT);
    KStream<String, Topologies.Fields> requests = builder
        .stream(flags.get("input"), Consumed.with(Serdes.String(), Serdes.ByteArray()).withTimestampExtractor(new Topologies.EventTime()))
        .mapValues(value -> {
          GenericRecord r = Topologies.decode(value, reader);
          return new Topologies.Fields(r.get("userTenantDomain").toString(), r.get("apiName").toString(),
              (Boolean) r.get("throttledOut"), (Long) r.get("responseTime"), (Long) r.get("backendTime"));
        });

    requests.filter((tenant, f) -> f.throttled())
        .groupByKey(Grouped.with(Serdes.String(), Topologies.FIELDS))
        .windowedBy(TimeWindows.ofSizeWithNoGrace(Duration.ofMillis(BURST_WINDOW)))
        .aggregate(TreeMap<String, Long>::new, (tenant, f, counts) -> {
              counts.merge(f.api(), 1L, Long::sum);
              return counts;
            },
            Materialized.<String, TreeMap<String, Long>, WindowStore<Bytes, byte[]>>as("throttle-bursts")
                .withKeySerde(Serdes.String()).withValueSerde(COUNTS))
        .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))
        .toStream()
        .flatMap((window, counts) -> {
          List<KeyValue<String, byte[]>> alerts = new ArrayList<>();
          counts.forEach((api, n) -> {
            if (n < BURST_THRESHOLD) return;
            GenericRecord alert = new GenericData.Record(THROTTLE_ALERT);
            alert.put("userTenantDomain", window.key());
            alert.put("apiName", api);
            alert.put("windowStart", window.window().start());
            alert.put("windowEnd", window.window().end());
            alert.put("throttledRequests", n);
            alerts.add(KeyValue.pair(window.key(), Topologies.encode(alert, alertWriter, alertSchemaId)));
          });
          return alerts;
        })
        .to(flags.get("alerts"), Produced.with(Serdes.String(), Serdes.ByteArray()));

    KStream<String, Topologies.Fields> byApi = requests
        .selectKey((tenant, f) -> f.api())
        .repartition(Repartitioned.with(Serdes.String(), Topologies.FIELDS).withName("by-api"));
    dropLate(byApi, MINUTE, flags.get("late"), Topologies.FIELDS)
        .groupByKey(Grouped.with(Serdes.String(), Topologies.FIELDS))
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(MINUTE), Duration.ofMillis(GRACE)))
        .aggregate(Usage::empty, (api, f, usage) -> {
              // counted where the work ends (after the repartition)
              onRecord.run();
              return usage.add(f);
            },
            Materialized.<String, Usage, WindowStore<Bytes, byte[]>>as("by-api")
                .withKeySerde(Serdes.String()).withValueSerde(USAGE))
        .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))
        .toStream()
        .map((window, usage) -> {
          GenericRecord out = new GenericData.Record(API_USAGE);
          out.put("apiName", window.key());
          out.put("windowStart", window.window().start());
          out.put("windowEnd", window.window().end());
          out.put("requests", usage.requests());
          out.put("throttledRequests", usage.throttled());
          out.put("tenants", (long) usage.tenants().size());
          out.put("avgResponseTime", (double) usage.sumRt() / usage.requests());
          out.put("maxResponseTime", usage.maxRt());
          return KeyValue.pair(window.key(), Topologies.encode(out, usageWriter, usageSchemaId));
        })
        .to(flags.get("output"), Produced.with(Serdes.String(), Serdes.ByteArray()));
    return builder.build();
  }

  // ---- plan-usage ---------------------------------------------------------------------------

  /** The joined request: its tenant's plan tier (or "none") and whether it was throttled. */
  record PlanRequest(String plan, boolean throttled) {}

  static final Serde<PlanRequest> PLAN_REQUEST = Serdes.serdeFrom(
      (topic, p) -> {
        byte[] plan = utf8(p.plan());
        return ByteBuffer.allocate(4 + plan.length + 1).putInt(plan.length).put(plan)
            .put((byte) (p.throttled() ? 1 : 0)).array();
      },
      (topic, bytes) -> {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        return new PlanRequest(readString(buffer), buffer.get() == 1);
      });

  record PlanAgg(long requests, long throttled) {}

  static final Serde<PlanAgg> PLAN_AGG = Serdes.serdeFrom(
      (topic, a) -> ByteBuffer.allocate(16).putLong(a.requests()).putLong(a.throttled()).array(),
      (topic, bytes) -> {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        return new PlanAgg(buffer.getLong(), buffer.getLong());
      });

  /**
   * plan-usage: requests left-joined with their tenant's plan from the tenant-plans compacted topic
   * (a GlobalKTable, read fully before processing, as sluice's global table), regrouped by tier (a
   * repartition), 1-minute windows with 10 s grace: requests, throttled, and the throttled share.
   */
  static Topology planUsage(Map<String, String> flags, Runnable onRecord) {
    int schemaId = Integer.parseInt(flags.get("schema-id"));
    StreamsBuilder builder = new StreamsBuilder();
    GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(Topologies.REQUEST);
    GenericDatumReader<GenericRecord> planReader = new GenericDatumReader<>(TENANT_PLAN);
    GenericDatumWriter<GenericRecord> writer = new GenericDatumWriter<>(PLAN_USAGE);
    GlobalKTable<String, byte[]> plans = builder.globalTable(flags.get("plans"),
        Consumed.with(Serdes.String(), Serdes.ByteArray()),
        Materialized.<String, byte[], KeyValueStore<Bytes, byte[]>>as("plans"));
    KStream<String, PlanRequest> joined = builder
        .stream(flags.get("input"), Consumed.with(Serdes.String(), Serdes.ByteArray()).withTimestampExtractor(new Topologies.EventTime()))
        .mapValues(value -> Topologies.decode(value, reader))
        .leftJoin(plans, (tenant, request) -> request.get("userTenantDomain").toString(),
            (request, plan) -> new PlanRequest(
                plan == null ? "none" : Topologies.decode(plan, planReader).get("plan").toString(),
                (Boolean) request.get("throttledOut")));
    KStream<String, PlanRequest> byPlan = joined
        .selectKey((tenant, p) -> p.plan())
        .repartition(Repartitioned.with(Serdes.String(), PLAN_REQUEST).withName("by-plan"));
    dropLate(byPlan, MINUTE, flags.get("late"), PLAN_REQUEST)
        .groupByKey(Grouped.with(Serdes.String(), PLAN_REQUEST))
        .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(MINUTE), Duration.ofMillis(GRACE)))
        .aggregate(() -> new PlanAgg(0, 0), (plan, p, agg) -> {
              onRecord.run();
              return new PlanAgg(agg.requests() + 1, agg.throttled() + (p.throttled() ? 1 : 0));
            },
            Materialized.<String, PlanAgg, WindowStore<Bytes, byte[]>>as("by-plan")
                .withKeySerde(Serdes.String()).withValueSerde(PLAN_AGG))
        .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded()))
        .toStream()
        .map((window, agg) -> {
          GenericRecord out = new GenericData.Record(PLAN_USAGE);
          out.put("plan", window.key());
          out.put("windowStart", window.window().start());
          out.put("windowEnd", window.window().end());
          out.put("requests", agg.requests());
          out.put("throttledRequests", agg.throttled());
          out.put("throttledShare", (double) agg.throttled() / agg.requests());
          return KeyValue.pair(window.key(), Topologies.encode(out, writer, schemaId));
        })
        .to(flags.get("output"), Produced.with(Serdes.String(), Serdes.ByteArray()));
    return builder.build();
  }
}
