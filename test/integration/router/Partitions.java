// Prints the partition Kafka's Java client picks for each key (the default partitioner):
// java -cp kafka-clients.jar Partitions.java <partitions> <key>...
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.utils.Utils;

public class Partitions {
  public static void main(String[] args) {
    int partitions = Integer.parseInt(args[0]);
    for (int i = 1; i < args.length; i++) {
      byte[] key = args[i].getBytes(StandardCharsets.UTF_8);
      System.out.println(args[i] + " " + Utils.toPositive(Utils.murmur2(key)) % partitions);
    }
  }
}
