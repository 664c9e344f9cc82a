#include "warehouse/arrow_export.h"

#include <gtest/gtest.h>

#include <cstring>

namespace sluice {
namespace {

DataType Type(std::string_view text) {
  return *ParseDataType(text);
}

TEST(ArrowExportTest, DescribesEveryColumnKind) {
  Batch batch({{"id", Type("UInt64")},
               {"name", Type("LowCardinality(Nullable(String))")},
               {"at", Type("DateTime64(3, 'UTC')")},
               {"amount", Type("Decimal(10, 2)")},
               {"tags", Type("Array(String)")},
               {"attributes", Type("Map(String, UInt32)")},
               {"pair", Type("Tuple(a String, b UInt8)")},
               {"day", Type("Date")}});
  EXPECT_EQ(batch.num_columns(), 8u);
  ArrowBatchExport exported(batch);
  ArrowSchema* schema = exported.schema();
  ASSERT_EQ(schema->n_children, 8);
  std::vector<std::string> formats;
  for (int64_t i = 0; i < schema->n_children; ++i)
    formats.emplace_back(schema->children[i]->format);
  EXPECT_EQ(formats,
            (std::vector<std::string>{"L", "z", "tsm:UTC", "d:10,2", "+l", "+m", "+s", "tdD"}));
  EXPECT_EQ(schema->children[1]->flags, 2);  // nullable
  ArrowSchema* entries = schema->children[5]->children[0];
  EXPECT_STREQ(entries->format, "+s");
  EXPECT_STREQ(entries->children[0]->name, "key");
  EXPECT_STREQ(schema->children[6]->children[1]->name, "b");
}

TEST(ArrowExportTest, PointsAtTheBatchBuffersAndCarriesNulls) {
  Batch batch({{"name", Type("Nullable(String)")}, {"n", Type("Int32")}});
  batch.column(0).AppendString("a\n\nb");
  batch.column(0).AppendNull();
  batch.column(1).AppendFixed<int32_t>(5);
  batch.column(1).AppendFixed<int32_t>(-6);
  ArrowBatchExport exported(batch);
  ArrowArray* root = exported.array();
  ASSERT_EQ(root->length, 2);
  ArrowArray* names = root->children[0];
  EXPECT_EQ(names->null_count, 1);
  ASSERT_EQ(names->n_buffers, 3);
  auto* validity = static_cast<const uint8_t*>(names->buffers[0]);
  EXPECT_EQ(validity[0] & 3, 1);
  auto* offsets = static_cast<const int32_t*>(names->buffers[1]);
  EXPECT_EQ(offsets[1], 4);
  EXPECT_EQ(std::memcmp(names->buffers[2], "a\n\nb", 4), 0);
  EXPECT_EQ(root->children[1]->buffers[0], nullptr);  // no nulls, no bitmap
  EXPECT_EQ(static_cast<const int32_t*>(root->children[1]->buffers[1])[1], -6);
}

TEST(ArrowExportTest, ScalesUnusualDateTime64PrecisionToAnArrowUnit) {
  Batch batch({{"at", Type("DateTime64(2)")}});
  batch.column(0).AppendFixed<int64_t>(12345);  // 123.45 s
  ArrowBatchExport exported(batch);
  EXPECT_STREQ(exported.schema()->children[0]->format, "tsm:UTC");
  EXPECT_EQ(static_cast<const int64_t*>(exported.array()->children[0]->buffers[1])[0], 123450);
}

TEST(ArrowExportTest, ReleaseCallbacksOnlyMarkReleased) {
  Batch batch({{"n", Type("UInt8")}});
  ArrowBatchExport exported(batch);
  ArrowSchema* schema = exported.schema();
  schema->release(schema);
  EXPECT_EQ(schema->release, nullptr);
}

}  // namespace
}  // namespace sluice
