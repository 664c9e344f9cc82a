#include <cstring>

#include "operators/window/window_store.h"

namespace sluice {
namespace {

template <typename T>
void Put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

template <typename T>
bool Take(std::string_view& in, T& value) {
  if (in.size() < sizeof(T)) return false;
  std::memcpy(&value, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return true;
}

Error Truncated() {
  return MakeError(ErrorCode::kWindowStateCorrupt, "a key's window state is truncated");
}

}  // namespace

void EncodeWindows(const KeyState& key_state, const AggregateLayout& layout, std::string& out) {
  Put<uint32_t>(out, static_cast<uint32_t>(key_state.windows.size()));
  for (const WindowEntry& window : key_state.windows) {
    Put(out, window.start);
    Put(out, window.end);
    Put(out, window.count);
    Put(out, window.emitted_version);
    Put(out, window.timer);
    layout.Serialize(window.states, out);
  }
}

Status DecodeWindows(std::string_view in, StateArena& arena, KeyState& key_state) {
  uint32_t count = 0;
  if (!Take(in, count)) return Truncated();
  for (uint32_t i = 0; i < count; ++i) {
    WindowEntry window;
    if (!Take(in, window.start) || !Take(in, window.end) || !Take(in, window.count) ||
        !Take(in, window.emitted_version) || !Take(in, window.timer)) {
      return Truncated();
    }
    window.states = arena.New();
    key_state.windows.push_back(window);
    Status status = arena.layout().Deserialize(window.states, in);
    if (!status.ok()) {
      return MakeError(ErrorCode::kWindowStateCorrupt,
                       "a key's aggregate state cannot be read: " + status.error().message);
    }
  }
  if (!in.empty()) {
    return MakeError(ErrorCode::kWindowStateCorrupt,
                     "a key's window state has " + std::to_string(in.size()) + " trailing bytes");
  }
  return {};
}

void ReleaseWindows(StateArena& arena, KeyState& key_state) {
  for (WindowEntry& window : key_state.windows) arena.Delete(window.states);
  key_state.windows.clear();
}

}  // namespace sluice
