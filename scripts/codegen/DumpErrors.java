// Prints Kafka's error table as JSON, read from the Errors enum of the kafka-clients jar on the
// class path: code, name, and the Java client's classification of each error's exception
// (retriable: extends RetriableException; invalidMetadata: extends InvalidMetadataException).
// Run by scripts/codegen/extract.ts as `java -cp "<the harness jars>/*" DumpErrors.java`.
import org.apache.kafka.common.errors.InvalidMetadataException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.protocol.Errors;

public class DumpErrors {
  public static void main(String[] args) {
    StringBuilder out = new StringBuilder("[\n");
    Errors[] all = Errors.values();
    for (int i = 0; i < all.length; i++) {
      Errors e = all[i];
      Throwable ex = e.exception();
      boolean retriable = ex instanceof RetriableException;
      boolean invalidMetadata = ex instanceof InvalidMetadataException;
      out.append("  {\"code\": ").append(e.code())
        .append(", \"name\": \"").append(e.name())
        .append("\", \"retriable\": ").append(retriable)
        .append(", \"invalidMetadata\": ").append(invalidMetadata).append("}")
        .append(i + 1 < all.length ? ",\n" : "\n");
    }
    out.append("]\n");
    System.out.print(out);
  }
}
