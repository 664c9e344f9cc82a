#pragma once

#include <string>

#include "base/result.h"
#include "warehouse/warehouse.h"

namespace sluice {

/// A uniquely named database for throwaway copies of the spec's objects (planning compares
/// them, checking asks the engine to accept them), dropped when it goes out of scope — on
/// success and on every error path alike.
class ScratchDatabase {
 public:
  ScratchDatabase(Warehouse& warehouse, std::string_view prefix);
  ~ScratchDatabase();
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  Status Create();
  const std::string& name() const { return name_; }

 private:
  Warehouse& warehouse_;
  std::string name_;
  bool created_ = false;
};

}  // namespace sluice
