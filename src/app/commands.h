#pragma once

#include <string>

#include "app/stop_signal.h"
#include "base/log.h"

namespace sluice {

struct PlanOptions {
  std::string spec_path;
  bool apply = false;
  bool allow_destructive = false;
};

struct QueryOptions {
  std::string spec_path;  // the warehouse of this spec...
  std::string data_path;  // ...or this embedded data folder
  std::string format = "pretty";
  std::string sql;
};

struct StatusOptions {
  std::string spec_path;  // the server.listen address of this spec...
  std::string url;        // ...or this one: http://host:port
  bool json = false;
  double interval_seconds = 1;  // between the two scrapes that give the rates
};

// Each command returns its process exit code (app/exit_codes.h) and writes its output to
// stdout, problems to stderr.
/// `savepoint` is a folder written by SavepointCommand to restore the aggregations from, or empty.
int RunCommand(const std::string& spec_path, const std::string& savepoint, StopSignal& stop);
/// Asks the sluice serving `spec_path` (at `address`, default its server.listen) to write a
/// savepoint of its aggregations into `target`.
int SavepointCommand(const std::string& spec_path, const std::string& target,
                     const std::string& address);
int ValidateCommand(const std::string& spec_path);
int PlanCommand(const PlanOptions& options);
int QueryCommand(const QueryOptions& options);
int AlertsCommand(const std::string& spec_path, const std::string& output_path);
int DashboardCommand(const std::string& spec_path, const std::string& output_path);
int StatusCommand(const StatusOptions& options);
int VersionCommand();
int ErrorsCommand();

}  // namespace sluice
