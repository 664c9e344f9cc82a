// The enrich operator reading a dimension table from the embedded ClickHouse engine.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "format/text_value.h"
#include "operators/enrich/enrich_operator.h"
#include "operators/enrich/warehouse_lookup.h"
#include "warehouse/embedded_warehouse.h"

namespace sluice {
namespace {

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

TEST(EnrichWarehouseTest, LooksUpCompositeKeysInAClickHouseTable) {
  std::filesystem::path folder =
      std::filesystem::temp_directory_path() / ("sluice-enrich-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(folder);
  auto warehouse = EmbeddedWarehouse::Open(folder.string());
  ASSERT_TRUE(warehouse.ok()) << warehouse.error().ToString();
  ASSERT_TRUE((*warehouse)
                  ->Execute("CREATE TABLE products (shop LowCardinality(String), sku UInt64, "
                            "title String, price Decimal(10, 2)) ENGINE = MergeTree "
                            "ORDER BY (shop, sku)")
                  .ok());
  ASSERT_TRUE((*warehouse)
                  ->Execute("INSERT INTO products VALUES ('eu', 1, 'Tea\\tpot', 12.5), "
                            "('eu', 2, 'Cup', 3), ('us', 1, 'Kettle', 20)")
                  .ok());

  EnrichConfig config;
  config.name = "products";
  config.input_schema = {{"shop", *ParseDataType("String")}, {"sku", *ParseDataType("UInt32")}};
  config.key_fields = {"shop", "sku"};
  config.table = "products";
  config.key_columns = {"shop", "sku"};
  config.columns = {{"title", "title", *ParseDataType("String")},
                    {"price", "price", *ParseDataType("Decimal(10, 2)")}};
  auto backend = WarehouseLookup::Create(**warehouse, config.lookup_table());
  ASSERT_TRUE(backend.ok()) << backend.error().ToString();
  auto enrich = EnrichOperator::Build(config, std::move(*backend));
  ASSERT_TRUE(enrich.ok()) << enrich.error().ToString();
  auto state = (*enrich)->CreateEnrichState([] { return 0; });

  Batch input(config.input_schema);
  for (auto [shop, sku] :
       std::vector<std::pair<std::string, uint32_t>>{{"eu", 1}, {"us", 2}, {"us", 1}, {"eu", 2}}) {
    input.column(0).AppendString(shop);
    input.column(1).AppendFixed<uint32_t>(sku);
  }
  CollectingEmitter out;
  Status processed = (*enrich)->Process(*state, input, out);
  ASSERT_TRUE(processed.ok()) << processed.error().ToString();
  ASSERT_EQ(out.batches.size(), 1u);
  // ("us", 2) is not in the table although both parts are: composite keys match exactly.
  EXPECT_EQ(Rows(out.batches[0].second),
            "eu,1,Tea\tpot,12.50 | us,2,NULL,NULL | us,1,Kettle,20.00 | eu,2,Cup,3.00");
  EXPECT_EQ(state->lookups(), 1u);
  EXPECT_EQ(state->cache_misses(), 4u);

  config.table = "no_such_table";
  auto missing = WarehouseLookup::Create(**warehouse, config.lookup_table());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kLookupFailed);

  state.reset();
  enrich->reset();
  warehouse->reset();
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace sluice
