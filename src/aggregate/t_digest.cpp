#include "aggregate/t_digest.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace sluice {
namespace {

// The k1 scale function and its inverse: k(q) = delta / (2 pi) * asin(2q - 1). A centroid may
// span one unit of k, which makes centroids near q = 0 and q = 1 tiny.
double ScaleK(double q) {
  return TDigest::kCompression / (2 * std::numbers::pi) * std::asin(2 * q - 1);
}

double ScaleInverse(double k) {
  double limit = TDigest::kCompression / 4;
  if (k >= limit) return 1.0;
  return (std::sin(k * 2 * std::numbers::pi / TDigest::kCompression) + 1) / 2;
}

bool ByMean(const TDigest::Centroid& a, const TDigest::Centroid& b) {
  return a.mean < b.mean;
}

}  // namespace

double TDigest::count() const {
  double total = static_cast<double>(buffer_.size());
  for (const Centroid& centroid : centroids_) total += centroid.weight;
  return total;
}

TDigest::SortedCentroids TDigest::Sorted() const {
  SortedCentroids all;
  all.reserve(centroids_.size() + buffer_.size());
  all.assign(centroids_.begin(), centroids_.end());
  for (double value : buffer_) all.push_back({value, 1});
  std::sort(all.begin() + static_cast<ptrdiff_t>(centroids_.size()), all.end(), ByMean);
  std::inplace_merge(all.begin(), all.begin() + static_cast<ptrdiff_t>(centroids_.size()),
                     all.end(), ByMean);
  return all;
}

void TDigest::Compress(const std::vector<Centroid>& extra) {
  if (buffer_.empty() && extra.empty()) return;
  // The common case (no extra) sorts plain doubles and walks them alongside the centroids,
  // which are sorted already: no merged copy is built.
  // Raw pointers: the same code when optimized, and unoptimized (Debug, sanitizers) it skips
  // the iterator wrappers, which took most of the time.
  std::sort(buffer_.data(), buffer_.data() + buffer_.size());
  if (!buffer_.empty()) {
    bool empty = centroids_.empty();
    min_ = empty ? buffer_.front() : std::min(min_, buffer_.front());
    max_ = empty ? buffer_.back() : std::max(max_, buffer_.back());
  }
  std::vector<Centroid> others = extra;
  std::sort(others.begin(), others.end(), ByMean);

  double total = 0;
  for (const Centroid& centroid : centroids_) total += centroid.weight;
  for (const Centroid& centroid : others) total += centroid.weight;
  total += static_cast<double>(buffer_.size());

  // Three sorted inputs, taken smallest mean first.
  size_t at_centroid = 0;
  size_t at_value = 0;
  size_t at_other = 0;
  auto next = [&]() -> Centroid {
    double by_centroid = at_centroid < centroids_.size() ? centroids_[at_centroid].mean
                                                         : std::numeric_limits<double>::infinity();
    double by_value =
        at_value < buffer_.size() ? buffer_[at_value] : std::numeric_limits<double>::infinity();
    double by_other =
        at_other < others.size() ? others[at_other].mean : std::numeric_limits<double>::infinity();
    if (at_value < buffer_.size() && by_value <= by_centroid && by_value <= by_other) {
      return {buffer_[at_value++], 1};
    }
    if (at_centroid < centroids_.size() && by_centroid <= by_other) {
      return centroids_[at_centroid++];
    }
    return others[at_other++];
  };
  size_t inputs = centroids_.size() + buffer_.size() + others.size();

  std::vector<Centroid> merged;
  merged.reserve(static_cast<size_t>(kCompression) + 8);
  Centroid current = next();
  double weight_before = 0;
  double limit = total * ScaleInverse(ScaleK(0) + 1);
  for (size_t i = 1; i < inputs; ++i) {
    Centroid candidate = next();
    if (weight_before + current.weight + candidate.weight <= limit) {
      current.weight += candidate.weight;
      current.mean += (candidate.mean - current.mean) * candidate.weight / current.weight;
    } else {
      weight_before += current.weight;
      merged.push_back(current);
      limit = total * ScaleInverse(ScaleK(weight_before / total) + 1);
      current = candidate;
    }
  }
  merged.push_back(current);
  centroids_.swap(merged);
  buffer_.clear();
}

void TDigest::Merge(const TDigest& other) {
  if (other.centroids_.empty() && other.buffer_.empty()) return;
  // The other digest's values join as centroids; its exact extremes carry over.
  std::vector<Centroid> extra = other.centroids_;
  for (double value : other.buffer_) extra.push_back({value, 1});
  double other_min = other.centroids_.empty() ? extra.front().mean : other.min_;
  double other_max = other.centroids_.empty() ? extra.front().mean : other.max_;
  for (double value : other.buffer_) {
    other_min = std::min(other_min, value);
    other_max = std::max(other_max, value);
  }
  bool empty = centroids_.empty() && buffer_.empty();
  Compress(extra);
  min_ = empty ? other_min : std::min(min_, other_min);
  max_ = empty ? other_max : std::max(max_, other_max);
}

double TDigest::Quantile(double level) const {
  SortedCentroids all = Sorted();
  if (all.empty()) return std::numeric_limits<double>::quiet_NaN();
  double low = min_;
  double high = max_;
  if (centroids_.empty()) {
    low = all.front().mean;
    high = all.back().mean;
  } else {
    for (double value : buffer_) {
      low = std::min(low, value);
      high = std::max(high, value);
    }
  }
  if (all.size() == 1) return all.front().mean;
  double total = 0;
  for (const Centroid& centroid : all) total += centroid.weight;
  double rank = level * total;
  // Each centroid's mean sits at the middle of its weight; the extremes at 0 and total.
  double center = all.front().weight / 2;
  if (rank <= center) {
    if (all.front().weight == 1) return low;
    return low + (all.front().mean - low) * (rank / center);
  }
  for (size_t i = 0; i + 1 < all.size(); ++i) {
    double next_center = center + (all[i].weight + all[i + 1].weight) / 2;
    if (rank <= next_center) {
      double fraction = (rank - center) / (next_center - center);
      return all[i].mean + (all[i + 1].mean - all[i].mean) * fraction;
    }
    center = next_center;
  }
  const Centroid& last = all.back();
  if (last.weight == 1) return high;
  return last.mean + (high - last.mean) * ((rank - center) / (total - center));
}

// Encoding: min, max, u32 centroid count, (mean, weight) pairs, u32 buffer count, values.
void TDigest::Serialize(StateWriter& writer) const {
  writer.Write(min_);
  writer.Write(max_);
  writer.Write(static_cast<uint32_t>(centroids_.size()));
  for (const Centroid& centroid : centroids_) {
    writer.Write(centroid.mean);
    writer.Write(centroid.weight);
  }
  writer.Write(static_cast<uint32_t>(buffer_.size()));
  for (double value : buffer_) writer.Write(value);
}

Status TDigest::Deserialize(StateReader& reader) {
  centroids_.clear();
  buffer_.clear();
  uint32_t count = 0;
  if (!reader.Read(min_) || !reader.Read(max_) || !reader.Read(count)) return reader.Truncated();
  if (reader.remaining() < size_t{count} * 2 * sizeof(double)) return reader.Truncated();
  centroids_.resize(count);
  for (Centroid& centroid : centroids_) {
    (void)reader.Read(centroid.mean);
    (void)reader.Read(centroid.weight);
    if (!(centroid.weight > 0) || std::isnan(centroid.mean)) {
      return reader.Corrupt("quantile centroid with a bad mean or weight");
    }
  }
  if (!std::is_sorted(centroids_.begin(), centroids_.end(), ByMean)) {
    return reader.Corrupt("quantile centroids out of order");
  }
  if (!reader.Read(count)) return reader.Truncated();
  if (reader.remaining() < size_t{count} * sizeof(double)) return reader.Truncated();
  buffer_.resize(count);
  for (double& value : buffer_) {
    (void)reader.Read(value);
    if (std::isnan(value)) return reader.Corrupt("quantile value is NaN");
  }
  return {};
}

size_t TDigest::HeapBytes() const {
  size_t buffered = buffer_.capacity() > kInlineValues ? buffer_.capacity() * sizeof(double) : 0;
  return centroids_.capacity() * sizeof(Centroid) + buffered;
}

}  // namespace sluice
