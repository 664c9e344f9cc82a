#include "warehouse/chdb_api.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <cstdlib>
#include <mutex>

namespace sluice {
namespace {

template <typename Function>
bool Resolve(void* handle, const char* symbol, Function& function, std::string& missing) {
  function = reinterpret_cast<Function>(dlsym(handle, symbol));
  if (function == nullptr) {
    if (!missing.empty()) missing += ", ";
    missing += symbol;
  }
  return function != nullptr;
}

}  // namespace

Result<const ChdbApi*> ChdbApi::Load(const std::string& path) {
  static std::mutex mutex;
  static ChdbApi api;
  static bool loaded = false;
  std::lock_guard lock(mutex);
  if (loaded) return &api;

  std::string library = path;
  if (library.empty()) {
    const char* from_env = std::getenv("SLUICE_CHDB_LIBRARY");
    library = from_env != nullptr && *from_env != '\0' ? from_env : SLUICE_CHDB_DEFAULT_LIBRARY;
  }
  // RTLD_NODELETE: the engine's static destructors must not run at dlclose time.
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) {
    return MakeError(ErrorCode::kWarehouseUnavailable,
                     fmt::format("cannot load the embedded ClickHouse engine from {}: {} "
                                 "(run scripts/setup.sh, or set SLUICE_CHDB_LIBRARY)",
                                 library, dlerror()));
  }
  std::string missing;
  Resolve(handle, "chdb_connect", api.connect, missing);
  Resolve(handle, "chdb_close_conn", api.close_conn, missing);
  Resolve(handle, "chdb_query_n", api.query_n, missing);
  Resolve(handle, "chdb_destroy_query_result", api.destroy_query_result, missing);
  Resolve(handle, "chdb_result_buffer", api.result_buffer, missing);
  Resolve(handle, "chdb_result_length", api.result_length, missing);
  Resolve(handle, "chdb_result_elapsed", api.result_elapsed, missing);
  Resolve(handle, "chdb_result_rows_read", api.result_rows_read, missing);
  Resolve(handle, "chdb_result_bytes_read", api.result_bytes_read, missing);
  Resolve(handle, "chdb_result_rows_written", api.result_rows_written, missing);
  Resolve(handle, "chdb_result_bytes_written", api.result_bytes_written, missing);
  Resolve(handle, "chdb_result_error", api.result_error, missing);
  Resolve(handle, "chdb_arrow_array_scan", api.arrow_array_scan, missing);
  Resolve(handle, "chdb_arrow_unregister_table", api.arrow_unregister_table, missing);
  if (!missing.empty()) {
    return MakeError(ErrorCode::kWarehouseUnavailable,
                     fmt::format("{} lacks the C functions {}; sluice needs chDB 26.5 "
                                 "(scripts/setup.sh fetches the pinned version)",
                                 library, missing));
  }
  loaded = true;
  return &api;
}

}  // namespace sluice
