package dev.sluice.peer;

import java.nio.file.Files;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.StateRestoreListener;

/**
 * The Kafka Streams peer of sluice's benchmarks. Modes:
 *   aggregate  the api-analytics windowed aggregation (Topologies.apiAnalytics, DSL, repartition)
 *   aggregate-local  the same without the repartition (Topologies.apiAnalyticsLocal, Processor API)
 *   count      a running count per key (Topologies.count), for restore and failover
 *   api-usage  apps/api-usage.ts: per-API usage through a repartition, throttle alerts (GraphTopologies)
 *   plan-usage apps/plan-usage.ts: a left join with a GlobalKTable of plans, then per tier (GraphTopologies)
 *   restore    the count topology over an existing changelog with empty local state: prints
 *              {"event":"restored",...} once every store is restored, and goes on counting
 * Every mode prints {"event":"restore","partition":P,"startedAt":T0,"endedAt":T1,"records":N}
 * (epoch ms) for each store partition it restores, so the bench reduces both engines' restores
 * with one definition (first partition's start to the last partition's end).
 * Flags: --bootstrap --application-id --input --output --state-dir --guarantee
 *        (exactly_once_v2|at_least_once) --commit-interval-ms --threads --standby-replicas
 *        --schema-id --stop-after-idle-ms --session-timeout-ms --heartbeat-interval-ms
 *        --group-instance-id
 *        --transaction-timeout-ms; api-usage and plan-usage also --late (their late records' topic),
 *        --alerts and --alert-schema-id (api-usage), --plans (plan-usage). Stdout carries JSON lines only.
 */
public final class Main {
  private Main() {}

  static Map<String, String> parse(String[] args) {
    Map<String, String> flags = new HashMap<>();
    for (int i = 1; i < args.length; i += 2) flags.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    return flags;
  }

  static void emit(String json) {
    System.out.println(json);
    System.out.flush();
  }

  public static void main(String[] args) throws Exception {
    String mode = args.length > 0 ? args[0] : "";
    Map<String, String> flags = parse(args);
    Properties props = new Properties();
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, flags.getOrDefault("bootstrap", "127.0.0.1:19092"));
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, flags.get("application-id"));
    props.put(StreamsConfig.STATE_DIR_CONFIG, flags.getOrDefault("state-dir", Files.createTempDirectory("ks-peer").toString()));
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, flags.getOrDefault("guarantee", "exactly_once_v2"));
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, flags.getOrDefault("commit-interval-ms", "100"));
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, flags.getOrDefault("threads", "1"));
    props.put(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, flags.getOrDefault("standby-replicas", "0"));
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, "1");
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    // the same transaction timeout as sluice's producers (Streams' EOS default is 10 s, which a
    // stalled thread on a loaded 2-core machine exceeds: the broker then aborts and fences it)
    props.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG),
        Integer.parseInt(flags.getOrDefault("transaction-timeout-ms", "60000")));
    // failover runs: the group's detection of a dead member (Streams' defaults when not given)
    if (flags.containsKey("session-timeout-ms"))
      props.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG),
          Integer.parseInt(flags.get("session-timeout-ms")));
    if (flags.containsKey("heartbeat-interval-ms"))
      props.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG),
          Integer.parseInt(flags.get("heartbeat-interval-ms")));

    // static membership (KIP-345): a member restarted within the session keeps its assignment,
    // with no rebalance and no wait for its dead self to leave the group
    if (flags.containsKey("group-instance-id"))
      props.put(StreamsConfig.consumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG),
          flags.get("group-instance-id"));

    AtomicLong processed = new AtomicLong();
    AtomicLong firstAt = new AtomicLong();
    AtomicLong lastAt = new AtomicLong();
    Runnable onRecord = () -> {
      long now = System.currentTimeMillis();
      firstAt.compareAndSet(0, now);
      lastAt.set(now);
      processed.incrementAndGet();
    };
    Topology topology =
        switch (mode) {
          case "aggregate" -> Topologies.apiAnalytics(flags.get("input"), flags.get("output"),
              Integer.parseInt(flags.getOrDefault("schema-id", "0")), onRecord);
          case "aggregate-local" -> Topologies.apiAnalyticsLocal(flags.get("input"), flags.get("output"),
              Integer.parseInt(flags.getOrDefault("schema-id", "0")), onRecord);
          case "api-usage" -> GraphTopologies.apiUsage(flags, onRecord);
          case "plan-usage" -> GraphTopologies.planUsage(flags, onRecord);
          case "count", "restore" -> Topologies.count(flags.get("input"), flags.get("output"), onRecord);
          default -> throw new IllegalArgumentException(
              "mode must be aggregate, aggregate-local, api-usage, plan-usage, count or restore");
        };

    KafkaStreams streams = new KafkaStreams(topology, props);
    CountDownLatch done = new CountDownLatch(1);
    AtomicLong restored = new AtomicLong();
    AtomicLong restoreStart = new AtomicLong();
    AtomicLong restoreEnd = new AtomicLong();
    Map<TopicPartition, Long> partitionStart = new java.util.concurrent.ConcurrentHashMap<>();
    streams.setGlobalStateRestoreListener(new StateRestoreListener() {
      @Override
      public void onRestoreStart(TopicPartition partition, String store, long start, long end) {
        long now = System.currentTimeMillis();
        restoreStart.compareAndSet(0, now);
        partitionStart.put(partition, now);
      }

      @Override
      public void onBatchRestored(TopicPartition partition, String store, long end, long count) {
        restored.addAndGet(count);
      }

      @Override
      public void onRestoreEnd(TopicPartition partition, String store, long total) {
        long now = System.currentTimeMillis();
        restoreEnd.set(now);
        emit(String.format("{\"event\":\"restore\",\"partition\":%d,\"startedAt\":%d,\"endedAt\":%d,\"records\":%d}",
            partition.partition(), partitionStart.getOrDefault(partition, now), now, total));
      }
    });
    streams.setStateListener((next, previous) -> {
      if (next == KafkaStreams.State.RUNNING) {
        emit("{\"event\":\"running\",\"partitions\":" + assignedPartitions(streams) + "}");
        if (mode.equals("restore")) {
          emit(String.format("{\"event\":\"restored\",\"records\":%d,\"ms\":%d}", restored.get(),
              Math.max(1, restoreEnd.get() - restoreStart.get())));
        }
      }
      // a failover run waits for a stable group: no rebalance in progress on either instance
      if (next == KafkaStreams.State.REBALANCING) emit("{\"event\":\"rebalancing\"}");
      if (next == KafkaStreams.State.ERROR || next == KafkaStreams.State.NOT_RUNNING) done.countDown();
    });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close(Duration.ofSeconds(30));
      done.countDown();
    }));
    streams.start();

    long idleMs = Long.parseLong(flags.getOrDefault("stop-after-idle-ms", "0"));
    if (idleMs > 0) {
      Thread watcher = new Thread(() -> {
        try {
          while (true) {
            Thread.sleep(100);
            long last = lastAt.get();
            if (last > 0 && System.currentTimeMillis() - last > idleMs) {
              emit(String.format("{\"event\":\"done\",\"records\":%d,\"ms\":%d}", processed.get(), last - firstAt.get()));
              done.countDown();
              return;
            }
          }
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
        }
      });
      watcher.setDaemon(true);
      watcher.start();
    }
    done.await();
    streams.close(Duration.ofSeconds(30));
    System.exit(0);
  }

  static String assignedPartitions(KafkaStreams streams) {
    StringBuilder json = new StringBuilder("[");
    streams.metadataForLocalThreads().forEach(thread -> thread.activeTasks().forEach(task ->
        task.topicPartitions().forEach(tp -> {
          if (json.length() > 1) json.append(',');
          json.append(tp.partition());
        })));
    return json.append(']').toString();
  }

}
