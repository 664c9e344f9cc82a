#include "warehouse/scratch_database.h"

#include <fmt/format.h>

#include <random>

#include "warehouse/identifier.h"

namespace sluice {

ScratchDatabase::ScratchDatabase(Warehouse& warehouse, std::string_view prefix)
    : warehouse_(warehouse) {
  std::random_device device;
  std::mt19937_64 generator(device());
  name_ = fmt::format("{}{:016x}", prefix, generator());
}

ScratchDatabase::~ScratchDatabase() {
  if (created_) {
    // Nothing useful can be done with a failed drop here; the name is unique per use.
    (void)warehouse_.Execute("DROP DATABASE IF EXISTS " + QuoteIdentifier(name_) + " SYNC");
  }
}

Status ScratchDatabase::Create() {
  // A Memory database: the embedded engine never finishes `DROP ... SYNC` of an Atomic
  // database's tables within the process that created them.
  auto status =
      warehouse_.Execute("CREATE DATABASE " + QuoteIdentifier(name_) + " ENGINE = Memory");
  created_ = status.ok();
  return status;
}

}  // namespace sluice
