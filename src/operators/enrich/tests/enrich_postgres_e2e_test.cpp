// The enrich operator against a real PostgreSQL 15 started by the test.
#include <gtest/gtest.h>

#include "format/text_value.h"
#include "operators/enrich/enrich_operator.h"
#include "operators/enrich/postgres_lookup.h"
#include "tests/fixtures/postgres_server.h"

namespace sluice {
namespace {

DataType Type(std::string_view text) {
  return *ParseDataType(text);
}

class CollectingEmitter : public Emitter {
 public:
  void Emit(size_t port, Batch batch) override { batches.emplace_back(port, std::move(batch)); }
  std::vector<std::pair<size_t, Batch>> batches;
};

std::string Rows(const Batch& batch) {
  std::string text;
  for (size_t row = 0; row < batch.num_rows(); ++row) {
    if (row > 0) text += " | ";
    for (size_t i = 0; i < batch.num_columns(); ++i) {
      if (i > 0) text += ",";
      text += ValueToText(batch.column(i), row);
    }
  }
  return text;
}

Schema Events() {
  return {{"event_id", Type("UInt32")}, {"customer_id", Type("Nullable(Int64)")}};
}

Batch EventBatch(const std::vector<std::string>& customers) {
  Batch batch(Events());
  for (size_t i = 0; i < customers.size(); ++i) {
    batch.column(0).AppendFixed<uint32_t>(static_cast<uint32_t>(i + 1));
    if (customers[i].empty()) {
      batch.column(1).AppendNull();
    } else {
      EXPECT_TRUE(AppendTextValue(customers[i], batch.column(1)).ok());
    }
  }
  return batch;
}

/// One server for the suite: customers 1..3, and a view that takes a second to answer.
class EnrichPostgresTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new testing::PostgresServer();
    ASSERT_TRUE(server_->Start()) << server_->error();
    server_->Execute(
        "CREATE TABLE customers (id bigint PRIMARY KEY, name text, tier int, vip boolean);"
        "INSERT INTO customers VALUES (1, 'Ada', 3, true), (2, 'Bob', NULL, false),"
        " (3, 'Cy', 1, false);"
        "CREATE VIEW slow_customers AS SELECT c.* FROM customers c, pg_sleep(1);");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  EnrichConfig Config(std::string table = "customers") {
    EnrichConfig config;
    config.name = "customers";
    config.input_schema = Events();
    config.key_fields = {"customer_id"};
    config.table = std::move(table);
    config.key_columns = {"id"};
    config.columns = {{"name", "customer_name", Type("String")},
                      {"tier", "tier", Type("UInt8")},
                      {"vip", "vip", Type("Bool")}};
    config.timeout_ms = 2000;
    return config;
  }

  std::unique_ptr<EnrichOperator> Build(const EnrichConfig& config) {
    auto backend = PostgresLookup::Connect(server_->dsn(), config.lookup_table());
    EXPECT_TRUE(backend.ok()) << backend.error().ToString();
    if (!backend.ok()) return nullptr;
    auto built = EnrichOperator::Build(config, std::move(*backend));
    EXPECT_TRUE(built.ok()) << built.error().ToString();
    return built.ok() ? std::move(*built) : nullptr;
  }

  static inline testing::PostgresServer* server_ = nullptr;
};

TEST_F(EnrichPostgresTest, AddsColumnsAndCachesKeysIncludingMissingOnes) {
  auto enrich = Build(Config());
  ASSERT_NE(enrich, nullptr);
  EXPECT_EQ(enrich->output_schemas()[0].back().type.ToString(), "Nullable(Bool)");
  int64_t now = 0;
  auto state = enrich->CreateEnrichState([&] { return now; });
  Batch input = EventBatch({"1", "2", "1", "99", ""});
  CollectingEmitter out;
  ASSERT_TRUE(enrich->Process(*state, input, out).ok());
  ASSERT_EQ(out.batches.size(), 1u);
  EXPECT_EQ(Rows(out.batches[0].second),
            "1,1,Ada,3,true | 2,2,Bob,NULL,false | 3,1,Ada,3,true | 4,99,NULL,NULL,NULL | "
            "5,NULL,NULL,NULL,NULL");
  EXPECT_EQ(state->cache_misses(), 3u);  // distinct keys 1, 2, 99; a NULL key is not looked up
  EXPECT_EQ(state->cache_hits(), 0u);
  EXPECT_EQ(state->lookups(), 1u);
  EXPECT_EQ(state->StateEntries(), 3u);

  // The same keys again: all from the cache, even after the table changed.
  server_->Execute("UPDATE customers SET name = 'Ada L.' WHERE id = 1");
  Batch again = EventBatch({"1", "99"});
  CollectingEmitter cached;
  ASSERT_TRUE(enrich->Process(*state, again, cached).ok());
  EXPECT_EQ(Rows(cached.batches[0].second), "1,1,Ada,3,true | 2,99,NULL,NULL,NULL");
  EXPECT_EQ(state->cache_hits(), 2u);
  EXPECT_EQ(state->lookups(), 1u);

  // Past the ttl the entry expires and the new value is read.
  now += Config().cache_ttl_ms;
  Batch later = EventBatch({"1"});
  CollectingEmitter expired;
  ASSERT_TRUE(enrich->Process(*state, later, expired).ok());
  EXPECT_EQ(Rows(expired.batches[0].second), "1,1,Ada L.,3,true");
  EXPECT_EQ(state->lookups(), 2u);
  server_->Execute("UPDATE customers SET name = 'Ada' WHERE id = 1");
}

TEST_F(EnrichPostgresTest, SplitsKeysIntoConcurrentLookupsAndKeepsOrder) {
  EnrichConfig config = Config();
  config.max_keys_per_lookup = 1;
  config.max_in_flight = 2;
  auto enrich = Build(config);
  ASSERT_NE(enrich, nullptr);
  auto state = enrich->CreateEnrichState([] { return 0; });
  Batch input = EventBatch({"3", "2", "1", "3"});
  CollectingEmitter out;
  ASSERT_TRUE(enrich->Process(*state, input, out).ok());
  EXPECT_EQ(state->lookups(), 3u);
  ASSERT_EQ(out.batches.size(), 1u);
  EXPECT_EQ(Rows(out.batches[0].second),
            "1,3,Cy,1,false | 2,2,Bob,NULL,false | 3,1,Ada,3,true | 4,3,Cy,1,false");
}

TEST_F(EnrichPostgresTest, UnorderedEmitsCachedRowsFirstAndLosesNothing) {
  EnrichConfig config = Config();
  config.ordered = false;
  auto enrich = Build(config);
  ASSERT_NE(enrich, nullptr);
  auto state = enrich->CreateEnrichState([] { return 0; });
  Batch warm = EventBatch({"1"});
  CollectingEmitter ignored;
  ASSERT_TRUE(enrich->Process(*state, warm, ignored).ok());
  Batch input = EventBatch({"2", "1", "3", "", "1"});
  CollectingEmitter out;
  ASSERT_TRUE(enrich->Process(*state, input, out).ok());
  ASSERT_EQ(out.batches.size(), 2u);
  EXPECT_EQ(Rows(out.batches[0].second), "2,1,Ada,3,true | 4,NULL,NULL,NULL,NULL | 5,1,Ada,3,true");
  EXPECT_EQ(Rows(out.batches[1].second), "1,2,Bob,NULL,false | 3,3,Cy,1,false");
}

TEST_F(EnrichPostgresTest, TimeoutsFollowTheFallback) {
  EnrichConfig config = Config("slow_customers");
  config.timeout_ms = 200;

  config.fallback = LookupFallback::kNull;
  auto to_null = Build(config);
  ASSERT_NE(to_null, nullptr);
  auto state = to_null->CreateEnrichState([] { return 0; });
  Batch input = EventBatch({"1", "2"});
  CollectingEmitter out;
  ASSERT_TRUE(to_null->Process(*state, input, out).ok());
  EXPECT_EQ(Rows(out.batches[0].second), "1,1,NULL,NULL,NULL | 2,2,NULL,NULL,NULL");
  EXPECT_EQ(state->timeouts(), 1u);
  EXPECT_EQ(state->StateEntries(), 0u);  // a timed-out key is not cached

  config.fallback = LookupFallback::kDeadLetter;
  auto to_dead = Build(config);
  ASSERT_NE(to_dead, nullptr);
  auto dead_state = to_dead->CreateEnrichState([] { return 0; });
  Batch dead_input = EventBatch({"1", "2"});
  CollectingEmitter dead;
  ASSERT_TRUE(to_dead->Process(*dead_state, dead_input, dead).ok());
  ASSERT_EQ(dead.batches.size(), 1u);
  EXPECT_EQ(dead.batches[0].first, 1u);
  const Batch& letters = dead.batches[0].second;
  ASSERT_EQ(letters.num_rows(), 2u);
  EXPECT_EQ(ValueToText(letters.column(2), 0), "216");
  EXPECT_NE(ValueToText(letters.column(3), 0).find("slow_customers"), std::string::npos)
      << ValueToText(letters.column(3), 0);

  config.fallback = LookupFallback::kFail;
  auto to_fail = Build(config);
  ASSERT_NE(to_fail, nullptr);
  auto fail_state = to_fail->CreateEnrichState([] { return 0; });
  Batch fail_input = EventBatch({"3"});
  CollectingEmitter nothing;
  Status failed = to_fail->Process(*fail_state, fail_input, nothing);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kLookupTimeout);
  EXPECT_TRUE(nothing.batches.empty());
}

TEST_F(EnrichPostgresTest, BadConfigurationIsReportedAtBuild) {
  EnrichConfig config = Config("no_such_table");
  auto backend = PostgresLookup::Connect(server_->dsn(), config.lookup_table());
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.error().code, ErrorCode::kLookupFailed);
  EXPECT_NE(backend.error().message.find("no_such_table"), std::string::npos);

  config = Config();
  config.key_fields = {"custmer_id"};
  auto built = EnrichOperator::Build(config, nullptr);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.error().message, "unknown key field 'custmer_id' (did you mean 'customer_id'?)");
}

}  // namespace
}  // namespace sluice
