#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/result.h"

namespace sluice {

struct ArrowSchema;
struct ArrowArray;

/// The C functions of libchdb.so that sluice uses, resolved with dlopen at run time. chDB ships
/// no header, so the signatures are declared here from its documented C API; loading at run
/// time keeps the 560 MB library out of the build and out of programs that never open it.
struct ChdbApi {
  struct Connection;   // chdb_connection's target
  struct QueryResult;  // chdb_result

  Connection** (*connect)(int argc, char** argv) = nullptr;
  void (*close_conn)(Connection** connection) = nullptr;
  QueryResult* (*query_n)(Connection* connection, const char* query, size_t query_length,
                          const char* format, size_t format_length) = nullptr;
  void (*destroy_query_result)(QueryResult* result) = nullptr;
  char* (*result_buffer)(QueryResult* result) = nullptr;
  size_t (*result_length)(QueryResult* result) = nullptr;
  double (*result_elapsed)(QueryResult* result) = nullptr;
  uint64_t (*result_rows_read)(QueryResult* result) = nullptr;
  uint64_t (*result_bytes_read)(QueryResult* result) = nullptr;
  uint64_t (*result_rows_written)(QueryResult* result) = nullptr;
  uint64_t (*result_bytes_written)(QueryResult* result) = nullptr;
  const char* (*result_error)(QueryResult* result) = nullptr;
  int (*arrow_array_scan)(Connection* connection, const char* table_name, ArrowSchema* schema,
                          ArrowArray* array) = nullptr;
  int (*arrow_unregister_table)(Connection* connection, const char* table_name) = nullptr;

  /// Loads the library once per process: `path` if given, else $SLUICE_CHDB_LIBRARY, else the
  /// location setup.sh unpacks it to. Later calls return the same table.
  static Result<const ChdbApi*> Load(const std::string& path = {});
};

}  // namespace sluice
