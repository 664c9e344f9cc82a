// HTTP ingestion through a real `sluice run`: good records land in the table, bad ones in the
// dead-letter table with their codes, /metrics counts what was sent, every status of the API
// answers as documented, and SIGTERM stops after delivering everything.

#include <gtest/gtest.h>

#include <regex>

#include "http_client.h"
#include "sluice_process.h"
#include "test_support.h"

namespace sluice {
namespace {

using testing_support::HttpRequestOnce;
using testing_support::ReadFile;
using testing_support::RunShell;
using testing_support::RunSluice;
using testing_support::SluiceProcess;
using testing_support::TempDir;
using testing_support::WriteFile;

std::string MakeSpec(const std::string& extra_server = "", const std::string& extra_wal = "",
                     const std::string& delay = "100ms") {
  std::string spec = R"yaml(pipeline: http
warehouse: {path: data}
server: {listen: "127.0.0.1:0"REPLACE_SERVER}
wal: {path: walREPLACE_WAL}
tables:
  events:
    columns:
      - {name: id, type: UInt64}
      - {name: kind, type: LowCardinality(String)}
      - {name: at, type: "DateTime64(3, 'UTC')"}
    order_by: [id]
streams:
  events:
    batch: {max_delay: REPLACE_DELAY}
    fields:
      - {name: id, required: true}
      - {name: kind, allowed: [open, close]}
      - {name: at}
)yaml";
  spec.replace(spec.find("REPLACE_SERVER"), 14, extra_server);
  spec.replace(spec.find("REPLACE_WAL"), 11, extra_wal);
  spec.replace(spec.find("REPLACE_DELAY"), 13, delay);
  return spec;
}

/// The value of one series in Prometheus text, or -1.
double Sample(const std::string& metrics, const std::string& series) {
  size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(metrics.substr(at + series.size() + 2));
}

class HttpIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::make_unique<TempDir>("sluice-http");
    spec_ = (folder_->path() / "spec.yaml").string();
    log_ = (folder_->path() / "sluice.log").string();
  }
  std::string Query(const std::string& sql) {
    auto result = RunSluice("query --format tsv --spec " + spec_ + " \"" + sql + "\"",
                            testing_support::Stderr::kApart);
    EXPECT_EQ(result.exit_code, 0) << result.out;
    return result.out;
  }

  std::unique_ptr<TempDir> folder_;
  std::string spec_;
  std::string log_;
};

TEST_F(HttpIngestTest, GoodRecordsLandBadOnesAreDeadLetteredAndCounted) {
  WriteFile(spec_, MakeSpec());
  SluiceProcess sluice(spec_, log_);
  uint16_t port = sluice.WaitForPort();
  ASSERT_NE(port, 0) << ReadFile(log_);

  auto ndjson = HttpRequestOnce(port, "POST", "/v1/ingest/events",
                                "{\"id\":1,\"kind\":\"open\",\"at\":\"2024-06-01T10:00:00Z\"}\n"
                                "{\"id\":-2,\"kind\":\"open\"}\n"
                                "{\"id\":3,\"kind\":\"close\",\"at\":\"2024-13-01\"}\n"
                                "{\"id\":4,\"kind\":\"jump\"}\n"
                                "{\"id\":5,\n"
                                "{\"kind\":\"open\"}\n"
                                "{\"id\":6,\"kind\":\"close\",\"at\":1717236000123}\n");
  EXPECT_EQ(ndjson.status, 200) << ndjson.body;
  EXPECT_NE(ndjson.body.find("\"accepted\":2"), std::string::npos) << ndjson.body;
  for (const char* expected :
       {"{\"index\":1,\"code\":203,\"error\":\"RECORD_OUT_OF_RANGE\",\"field\":\"id\"",
        "{\"index\":2,\"code\":204,\"error\":\"RECORD_INVALID_DATE\",\"field\":\"at\"",
        "{\"index\":3,\"code\":209,\"error\":\"RECORD_VALUE_NOT_ALLOWED\",\"field\":\"kind\"",
        "{\"index\":4,\"code\":200,\"error\":\"RECORD_MALFORMED\"",
        "{\"index\":5,\"code\":201,\"error\":\"RECORD_MISSING_FIELD\",\"field\":\"id\""}) {
    EXPECT_NE(ndjson.body.find(expected), std::string::npos) << expected << "\n" << ndjson.body;
  }
  auto array = HttpRequestOnce(port, "POST", "/v1/ingest/events",
                               "[{\"id\":7,\"kind\":\"open\"}, {\"id\":8,\"kind\":\"close\"}, 7]",
                               "application/json");
  EXPECT_EQ(array.status, 200) << array.body;
  EXPECT_NE(array.body.find("\"accepted\":2"), std::string::npos) << array.body;
  EXPECT_NE(array.body.find("{\"index\":2,\"code\":200"), std::string::npos) << array.body;
  auto single = HttpRequestOnce(port, "POST", "/v1/ingest/events", "{\"id\":9,\"kind\":\"open\"}",
                                "application/json");
  EXPECT_EQ(single.status, 200) << single.body;

  auto metrics = HttpRequestOnce(port, "GET", "/metrics").body;
  const std::string labels =
      "{component_kind=\"source\",component_type=\"http\",component_id=\"events\"}";
  EXPECT_EQ(Sample(metrics, "sluice_component_received_records_total" + labels), 11) << metrics;
  EXPECT_EQ(Sample(metrics, "sluice_component_dead_letter_records_total" + labels), 6) << metrics;

  sluice.Kill(SIGTERM);
  EXPECT_EQ(sluice.Wait(), 0) << ReadFile(log_);
  EXPECT_EQ(Query("SELECT id, kind, at FROM events ORDER BY id"),
            "id\tkind\tat\n1\topen\t2024-06-01 10:00:00.000\n6\tclose\t2024-06-01 "
            "10:00:00.123\n7\topen\t1970-01-01 00:00:00.000\n8\tclose\t1970-01-01 "
            "00:00:00.000\n9\topen\t1970-01-01 00:00:00.000\n");
  EXPECT_EQ(Query("SELECT error_code, count() FROM events_dead_letter GROUP BY error_code ORDER "
                  "BY error_code"),
            "error_code\tcount()\n200\t2\n201\t1\n203\t1\n204\t1\n209\t1\n");
  EXPECT_EQ(Query("SELECT raw, location FROM events_dead_letter WHERE error_code = 209"),
            "raw\tlocation\n{\"id\":4,\"kind\":\"jump\"}\trequest record 3\n");
}

TEST_F(HttpIngestTest, EveryStatusAnswersAsDocumented) {
  // Delivery waits 30 s, so the small log fills.
  WriteFile(spec_, MakeSpec(", max_body_bytes: 1000",
                            ", segment_bytes: 65536, max_disk_bytes: 200000", "30s"));
  SluiceProcess sluice(spec_, log_);
  uint16_t port = sluice.WaitForPort();
  ASSERT_NE(port, 0) << ReadFile(log_);

  EXPECT_EQ(HttpRequestOnce(port, "GET", "/healthz").status, 200);
  EXPECT_EQ(HttpRequestOnce(port, "GET", "/readyz").status, 200);
  EXPECT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/nope", "{\"id\":1}").status, 404);
  EXPECT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/events", "").status, 400);
  EXPECT_EQ(
      HttpRequestOnce(port, "POST", "/v1/ingest/events", "[{\"id\":1}", "application/json").status,
      400);
  EXPECT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/events", "id=1", "text/csv").status, 415);
  EXPECT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/events", std::string(2000, ' ')).status, 413);
  // A gzip body is read after decompression.
  WriteFile((folder_->path() / "body.ndjson").string(), "{\"id\":42,\"kind\":\"open\"}\n");
  auto gzip = RunShell("gzip -c " + (folder_->path() / "body.ndjson").string() +
                       " | curl -s -o /dev/null -w '%{http_code}' -H 'Content-Encoding: gzip' -H "
                       "'Content-Type: application/x-ndjson' --data-binary @- "
                       "http://127.0.0.1:" +
                       std::to_string(port) + "/v1/ingest/events");
  EXPECT_EQ(gzip.out, "200") << gzip.out;

  // The log's disk bound is small and delivery waits: enough requests fill it and the API asks
  // the client to come back later.
  std::string body;
  for (int i = 0; i < 12; ++i)
    body += "{\"id\":" + std::to_string(1000 + i) + ",\"kind\":\"open\"}\n";
  int busy = 0;
  std::string retry_after;
  for (int i = 0; i < 3000 && busy == 0; ++i) {
    auto reply = HttpRequestOnce(port, "POST", "/v1/ingest/events", body);
    if (reply.status == 429) {
      ++busy;
      retry_after = reply.headers;
    } else {
      ASSERT_EQ(reply.status, 200) << reply.body;
    }
  }
  EXPECT_EQ(busy, 1) << "the write-ahead log never filled";
  EXPECT_NE(retry_after.find("Retry-After:"), std::string::npos) << retry_after;

  sluice.Kill(SIGTERM);
  EXPECT_EQ(sluice.Wait(), 0) << ReadFile(log_);
}

TEST_F(HttpIngestTest, BearerTokensAreRequiredWhenConfigured) {
  WriteFile(spec_, MakeSpec(", auth: {tokens_env: [SLUICE_TEST_TOKEN]}"));
  SluiceProcess sluice(spec_, log_, {{"SLUICE_TEST_TOKEN", "s3cret-token"}});
  uint16_t port = sluice.WaitForPort();
  ASSERT_NE(port, 0) << ReadFile(log_);
  std::string record = "{\"id\":1}";
  EXPECT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/events", record).status, 401);
  EXPECT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/events", record, "application/x-ndjson",
                            "Authorization: Bearer wrong\r\n")
                .status,
            403);
  EXPECT_EQ(HttpRequestOnce(port, "POST", "/v1/ingest/events", record, "application/x-ndjson",
                            "Authorization: Bearer s3cret-token\r\n")
                .status,
            200);
  sluice.Kill(SIGTERM);
  EXPECT_EQ(sluice.Wait(), 0);
  EXPECT_EQ(ReadFile(log_).find("s3cret-token"), std::string::npos) << "a token was logged";
}

TEST_F(HttpIngestTest, AMissingTokenVariableIsASetupError) {
  WriteFile(spec_, MakeSpec(", auth: {tokens_env: [SLUICE_TEST_UNSET_TOKEN]}"));
  SluiceProcess sluice(spec_, log_);
  EXPECT_EQ(sluice.Wait(), 2) << ReadFile(log_);
  EXPECT_NE(ReadFile(log_).find("SLUICE_TEST_UNSET_TOKEN"), std::string::npos) << ReadFile(log_);
}

}  // namespace
}  // namespace sluice
