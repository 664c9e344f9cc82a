#include <CLI/CLI.hpp>
#include <iostream>
#include <iterator>

#include "app/commands.h"
#include "app/exit_codes.h"

int main(int argc, char** argv) {
  using namespace sluice;
  CLI::App app{"sluice: ingest events, clean and aggregate them, store them in ClickHouse"};
  app.require_subcommand(1);
  std::string log_format = "text";
  std::string log_level = "info";
  app.add_option("--log-format", log_format, "Log lines as text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  std::string spec_path;
  std::string savepoint_path;
  auto* run = app.add_subcommand("run", "Create or migrate the spec's tables and run its sources");
  run->add_option("spec", spec_path, "Pipeline spec (YAML)")->required();
  run->add_option("--from-savepoint", savepoint_path,
                  "Restore the aggregations from this savepoint folder (see `sluice savepoint`)");

  auto* savepoint = app.add_subcommand(
      "savepoint", "Ask the running sluice of a spec to write a savepoint of its aggregations");
  savepoint->add_option("spec", spec_path, "Pipeline spec (YAML)")->required();
  savepoint->add_option("target", savepoint_path, "Folder to create for the savepoint")->required();
  std::string savepoint_address;
  savepoint->add_option("--address", savepoint_address,
                        "host:port of the running sluice's API (default: the spec's server.listen)");

  auto* validate = app.add_subcommand("validate", "Check a spec and report every problem");
  validate->add_option("spec", spec_path, "Pipeline spec (YAML)")->required();

  PlanOptions plan_options;
  auto* plan = app.add_subcommand("plan", "Show the warehouse changes a spec needs");
  plan->add_option("spec", plan_options.spec_path, "Pipeline spec (YAML)")->required();
  plan->add_flag("--apply", plan_options.apply, "Apply the changes after showing them");
  plan->add_flag("--allow-destructive", plan_options.allow_destructive,
                 "Also apply changes that drop or rebuild data (column drops, key changes)");

  QueryOptions query_options;
  auto* query = app.add_subcommand("query", "Run SQL on a spec's embedded warehouse");
  query->add_option("sql", query_options.sql, "SQL statement (read from stdin when absent)");
  auto* spec_option =
      query->add_option("--spec", query_options.spec_path, "Use the warehouse of this spec");
  query->add_option("--data", query_options.data_path, "Use this embedded data folder")
      ->excludes(spec_option);
  query->add_option("--format", query_options.format, "pretty, tsv, csv or json")
      ->check(CLI::IsMember({"pretty", "tsv", "csv", "json"}));

  std::string output_path;
  auto* alerts = app.add_subcommand("alerts", "Write Prometheus alert rules for a spec");
  alerts->add_option("spec", spec_path, "Pipeline spec (YAML)")->required();
  alerts->add_option("-o,--output", output_path, "Rules file to write (stdout when absent)");
  auto* dashboard = app.add_subcommand("dashboard", "Write a Grafana dashboard for a spec");
  dashboard->add_option("spec", spec_path, "Pipeline spec (YAML)")->required();
  dashboard->add_option("-o,--output", output_path, "JSON file to write (stdout when absent)");

  StatusOptions status_options;
  auto* status = app.add_subcommand("status", "Summarize a running sluice from its /metrics");
  auto* status_spec =
      status->add_option("spec", status_options.spec_path, "Spec of the running sluice");
  status->add_option("--url", status_options.url, "http://HOST:PORT of its ingest listener")
      ->excludes(status_spec);
  status->add_flag("--json", status_options.json, "One JSON object instead of text");
  status
      ->add_option("--interval", status_options.interval_seconds,
                   "Seconds between the two scrapes that give the rates")
      ->check(CLI::Range(0.1, 60.0));

  auto* version = app.add_subcommand("version", "Print the version");
  auto* errors = app.add_subcommand("errors", "List every error code (markdown)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? kExitOk : kExitUsageOrSpec;
  }
  ConfigureLogging(log_format == "json" ? LogFormat::kJson : LogFormat::kText, log_level);

  if (run->parsed()) {
    StopSignal stop;  // before the engine starts its threads
    return RunCommand(spec_path, savepoint_path, stop);
  }
  if (savepoint->parsed()) return SavepointCommand(spec_path, savepoint_path, savepoint_address);
  if (validate->parsed()) return ValidateCommand(spec_path);
  if (plan->parsed()) return PlanCommand(plan_options);
  if (query->parsed()) {
    if (query_options.spec_path.empty() && query_options.data_path.empty()) {
      std::cerr << "sluice query: give --spec SPEC or --data FOLDER\n";
      return kExitUsageOrSpec;
    }
    if (query_options.sql.empty()) {
      query_options.sql.assign(std::istreambuf_iterator<char>(std::cin), {});
    }
    return QueryCommand(query_options);
  }
  if (alerts->parsed()) return AlertsCommand(spec_path, output_path);
  if (dashboard->parsed()) return DashboardCommand(spec_path, output_path);
  if (status->parsed()) {
    if (status_options.spec_path.empty() && status_options.url.empty()) {
      std::cerr << "sluice status: give SPEC or --url http://HOST:PORT\n";
      return kExitUsageOrSpec;
    }
    return StatusCommand(status_options);
  }
  if (version->parsed()) return VersionCommand();
  if (errors->parsed()) return ErrorsCommand();
  return kExitUsageOrSpec;
}
