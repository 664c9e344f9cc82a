// The sluice command line as a person uses it: exit codes, messages with file:line:column,
// plan/apply, run with bad rows, query formats. Each test runs the built binary.

#include <gtest/gtest.h>

#include "test_support.h"

namespace sluice {
namespace {

using testing_support::RunSluice;
using testing_support::TempDir;
using testing_support::WriteFile;

namespace fs = std::filesystem;

const char* kEventsSpec = R"yaml(pipeline: cli
warehouse: {path: data}
tables:
  events:
    columns:
      - {name: id, type: UInt64}
      - {name: kind, type: LowCardinality(String)}
      - {name: at, type: "DateTime64(3, 'UTC')"}
    order_by: [id]
streams:
  events: {}
sources:
  events_csv: {type: file, stream: events, path: events.csv}
)yaml";

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::make_unique<TempDir>("sluice-cli");
    WriteFile(Path("events.csv"),
              "id,kind,at\n1,open,2024-06-01 10:00:00\n2,close,2024-06-01T10:00:01Z\n"
              "x,open,2024-06-01 10:00:02\n3,open,not-a-time\n4,close,2024-06-01 10:00:04\n");
    WriteFile(Path("spec.yaml"), kEventsSpec);
  }
  std::string Path(const std::string& name) const { return (folder_->path() / name).string(); }
  std::string Spec() const { return Path("spec.yaml"); }

  std::unique_ptr<TempDir> folder_;
};

TEST_F(CliTest, ValidateReportsEveryProblemWithItsPlaceAndExitsTwo) {
  WriteFile(Spec(), R"yaml(pipeline: bad
warehouse: {path: data}
tables:
  t:
    columns:
      - {name: a, type: Strng}
      - {name: b, type: UInt8, codec: [ZSDT]}
    partiton_by: a
    order_by: [c]
)yaml");
  auto result = RunSluice("validate " + Spec());
  EXPECT_EQ(result.exit_code, 2) << result.out;
  EXPECT_NE(result.out.find(Spec() + ":6:25: tables.t.columns[0].type"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("did you mean 'String'?"), std::string::npos);
  EXPECT_NE(result.out.find("did you mean 'ZSTD'?"), std::string::npos);
  EXPECT_NE(result.out.find(":8:5: tables.t.partiton_by: unknown key (did you mean "
                            "'partition_by'?) [SPEC_UNKNOWN_KEY]"),
            std::string::npos);
  EXPECT_NE(result.out.find("[SPEC_UNKNOWN_REFERENCE]"), std::string::npos);
  EXPECT_NE(result.out.find("4 problems found; nothing was changed"), std::string::npos);
  EXPECT_FALSE(fs::exists(Path("data")));
}

TEST_F(CliTest, MalformedYamlIsASpecError) {
  WriteFile(Spec(), "pipeline: x\ntables: [unclosed\n");
  auto result = RunSluice("validate " + Spec());
  EXPECT_EQ(result.exit_code, 2) << result.out;
  EXPECT_NE(result.out.find("[SPEC_SYNTAX]"), std::string::npos) << result.out;
}

TEST_F(CliTest, EngineRejectionsAreSpecErrorsAndTouchNothing) {
  WriteFile(Spec(), R"yaml(pipeline: bad_sql
warehouse: {path: data}
tables:
  t:
    columns:
      - {name: d, type: Date}
      - {name: x, type: UInt8, default: "nosuchfn(1)"}
    order_by: [d]
  u:
    columns:
      - {name: d, type: Date}
    order_by: [d]
views:
  v:
    to: u
    query: SELECT no_such_column AS d FROM t
)yaml");
  for (const char* command : {"validate ", "plan ", "run "}) {
    auto result = RunSluice(command + Spec());
    EXPECT_EQ(result.exit_code, 2) << command << result.out;
    EXPECT_NE(result.out.find(Spec() + ":4:3: table t: ClickHouse rejects it"), std::string::npos)
        << result.out;
    EXPECT_NE(result.out.find(Spec() + ":14:3: view v: ClickHouse rejects it"), std::string::npos)
        << result.out;
    EXPECT_NE(result.out.find("[SPEC_INVALID_EXPRESSION]"), std::string::npos);
  }
  // plan and run opened the warehouse, but nothing of the spec was created in it.
  auto tables = RunSluice("query --data " + Path("data") +
                          " --format tsv \"SELECT name FROM "
                          "system.tables WHERE database = 'default'\"");
  EXPECT_EQ(tables.exit_code, 0) << tables.out;
  EXPECT_EQ(tables.out, "name\n");
}

TEST_F(CliTest, PlanShowsApplyAppliesAndASecondPlanIsEmpty) {
  auto first = RunSluice("plan " + Spec());
  EXPECT_EQ(first.exit_code, 0) << first.out;
  EXPECT_NE(first.out.find("CREATE TABLE IF NOT EXISTS `default`.`events`"), std::string::npos)
      << first.out;
  auto again = RunSluice("plan " + Spec());
  EXPECT_NE(again.out.find("CREATE TABLE"), std::string::npos) << "plan alone must not apply";

  auto applied = RunSluice("plan --apply " + Spec());
  EXPECT_EQ(applied.exit_code, 0) << applied.out;
  EXPECT_NE(applied.out.find("applied"), std::string::npos) << applied.out;
  auto empty = RunSluice("plan " + Spec());
  EXPECT_EQ(empty.exit_code, 0);
  EXPECT_NE(empty.out.find("No changes"), std::string::npos) << empty.out;
}

TEST_F(CliTest, DestructiveChangesNeedTheFlag) {
  ASSERT_EQ(RunSluice("run " + Spec()).exit_code, 0);
  std::string changed = kEventsSpec;
  changed.replace(changed.find("order_by: [id]"), 14, "order_by: [kind, id]");
  WriteFile(Spec(), changed);

  auto refused = RunSluice("plan --apply " + Spec());
  EXPECT_EQ(refused.exit_code, 2) << refused.out;
  EXPECT_NE(refused.out.find("--allow-destructive"), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find("[MIGRATION_DESTRUCTIVE]"), std::string::npos);
  auto run_refused = RunSluice("run " + Spec());
  EXPECT_EQ(run_refused.exit_code, 2) << run_refused.out;

  auto allowed = RunSluice("plan --apply --allow-destructive " + Spec());
  EXPECT_EQ(allowed.exit_code, 0) << allowed.out;
  auto rows = RunSluice("query --spec " + Spec() +
                        " --format tsv \"SELECT count(), sorting_key FROM events, system.tables "
                        "WHERE system.tables.name = 'events' AND system.tables.database = "
                        "'default' GROUP BY sorting_key\"");
  EXPECT_EQ(rows.out, "count()\tsorting_key\n3\tkind, id\n") << rows.out;
}

TEST_F(CliTest, RunLoadsGoodRowsAndDeadLettersBadOnesOnce) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto run = RunSluice("run " + Spec());
    EXPECT_EQ(run.exit_code, 0) << run.out;
    EXPECT_NE(run.out.find("source events_csv: 3 rows loaded, 2 records to the dead-letter table"),
              std::string::npos)
        << run.out;
  }
  auto rows = RunSluice("query --spec " + Spec() +
                        " --format csv \"SELECT id, kind FROM events "
                        "ORDER BY id\"");
  EXPECT_EQ(rows.out, "\"id\",\"kind\"\n1,\"open\"\n2,\"close\"\n4,\"close\"\n") << rows.out;
  auto dead = RunSluice("query --spec " + Spec() +
                        " --format tsv \"SELECT location, error_name, field, raw FROM "
                        "events_dead_letter ORDER BY location\"");
  EXPECT_EQ(dead.out, "location\terror_name\tfield\traw\n" + Path("events.csv") +
                          ":4\tRECORD_TYPE_MISMATCH\tid\tx,open,2024-06-01 10:00:02\n" +
                          Path("events.csv") + ":5\tRECORD_INVALID_DATE\tat\t3,open,not-a-time\n")
      << dead.out;
}

TEST_F(CliTest, QueryFormatsAndErrors) {
  ASSERT_EQ(RunSluice("run " + Spec()).exit_code, 0);
  auto json = RunSluice("query --spec " + Spec() +
                        " --format json \"SELECT id FROM events "
                        "ORDER BY id LIMIT 2\"");
  EXPECT_EQ(json.out, "{\"id\":1}\n{\"id\":2}\n") << json.out;
  auto pretty = RunSluice("query --spec " + Spec() + " \"SELECT count() AS n FROM events\"");
  EXPECT_NE(pretty.out.find("│ 3 │"), std::string::npos) << pretty.out;
  auto from_stdin =
      testing_support::RunShell("echo 'SELECT 40 + 2' | " + std::string(SLUICE_BINARY_DIR) +
                                "/sluice query "
                                "--format tsv --spec " +
                                Spec());
  EXPECT_EQ(from_stdin.out, "plus(40, 2)\n42\n") << from_stdin.out;
  auto bad = RunSluice("query --spec " + Spec() + " \"SELECT * FROM nowhere\"");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("UNKNOWN_TABLE"), std::string::npos) << bad.out;
}

TEST_F(CliTest, UsageErrorsExitTwoAndHelpExitsZero) {
  EXPECT_EQ(RunSluice("").exit_code, 2);
  EXPECT_EQ(RunSluice("frobnicate").exit_code, 2);
  EXPECT_EQ(RunSluice("query \"SELECT 1\"").exit_code, 2);
  EXPECT_EQ(RunSluice("run /no/such/spec.yaml").exit_code, 2);
  for (const char* command : {"--help", "run --help", "plan --help", "query --help", "version"}) {
    auto result = RunSluice(command);
    EXPECT_EQ(result.exit_code, 0) << command << result.out;
  }
  EXPECT_NE(RunSluice("plan --help").out.find("--allow-destructive"), std::string::npos);
}

TEST_F(CliTest, JsonLogsAreOneObjectPerLine) {
  auto run = RunSluice("--log-format json run " + Spec());
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("{\"time\":\""), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\"level\":\"info\",\"message\":\"embedded ClickHouse"), std::string::npos)
      << run.out;
}

}  // namespace
}  // namespace sluice
