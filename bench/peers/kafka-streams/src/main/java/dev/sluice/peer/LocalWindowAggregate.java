package dev.sluice.peer;

import java.time.Instant;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.WindowStore;

/**
 * api-analytics with the Processor API: the windows of Topologies.apiAnalytics, but grouped by
 * (tenant, api) inside the partition that owns the tenant (the record key), as sluice does, so
 * there is no repartition topic. A cached, logged window store like the DSL's; stream time per
 * task is the largest event time seen; a window closes when stream time reaches end + grace, and
 * a record for a closed window is dropped (sluice sends it to its dead-letter topic).
 */
final class LocalWindowAggregate implements Processor<String, byte[], String, byte[]> {
  static final long SIZE = 60_000;
  static final long GRACE = 10_000;
  static final String STORE = "aggregates";

  private final GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(Topologies.REQUEST);
  private final GenericDatumWriter<GenericRecord> writer = new GenericDatumWriter<>(Topologies.API_STATS);
  private final int schemaId;
  private final Runnable onRecord;
  private ProcessorContext<String, byte[]> context;
  private WindowStore<String, Topologies.Agg> store;
  private long streamTime = Long.MIN_VALUE;
  /** Every window that starts before this has been emitted (event times are after the epoch). */
  private long emittedBefore = 0;

  LocalWindowAggregate(int schemaId, Runnable onRecord) {
    this.schemaId = schemaId;
    this.onRecord = onRecord;
  }

  @Override
  public void init(ProcessorContext<String, byte[]> context) {
    this.context = context;
    this.store = context.getStateStore(STORE);
  }

  @Override
  public void process(Record<String, byte[]> record) {
    onRecord.run();
    GenericRecord request = Topologies.decode(record.value(), reader);
    long time = (Long) request.get("requestTimestamp");
    streamTime = Math.max(streamTime, time);
    long start = Math.floorDiv(time, SIZE) * SIZE;
    if (start + SIZE + GRACE > streamTime) {
      Topologies.Fields fields = new Topologies.Fields(request.get("userTenantDomain").toString(),
          request.get("apiName").toString(), (Boolean) request.get("throttledOut"),
          (Long) request.get("responseTime"), (Long) request.get("backendTime"));
      String key = fields.tenant() + "\u0000" + fields.api();
      Topologies.Agg current = store.fetch(key, start);
      store.put(key, (current == null ? Topologies.Agg.empty() : current).add(fields), start);
    }
    emitClosed(record.timestamp());
  }

  /** Emits the windows that stream time closed since the last call (a range scan of the store). */
  private void emitClosed(long timestamp) {
    long closedUpTo = streamTime - SIZE - GRACE; // a window starting at or before this is closed
    long nextStart = Math.floorDiv(emittedBefore + SIZE - 1, SIZE) * SIZE;
    if (nextStart > closedUpTo) return; // no window boundary crossed: most records stop here
    try (KeyValueIterator<Windowed<String>, Topologies.Agg> closed =
        store.fetchAll(Instant.ofEpochMilli(emittedBefore), Instant.ofEpochMilli(closedUpTo))) {
      while (closed.hasNext()) {
        KeyValue<Windowed<String>, Topologies.Agg> entry = closed.next();
        long start = entry.key.window().start();
        GenericRecord stats = Topologies.apiStats(entry.key.key(), start, start + SIZE, entry.value);
        String tenant = stats.get("userTenantDomain").toString();
        context.forward(new Record<>(tenant, Topologies.encode(stats, writer, schemaId), timestamp));
      }
    }
    emittedBefore = closedUpTo + 1;
  }
}
