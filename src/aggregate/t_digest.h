#pragma once

#include <boost/container/small_vector.hpp>
#include <cstddef>
#include <vector>

#include "aggregate/state_codec.h"
#include "base/result.h"

namespace sluice {

/// The state of quantile: a merging t-digest (Dunning and Ertl, "Computing extremely accurate
/// quantiles using t-digests", 2019) with compression 100 and the k1 (arcsine) scale function,
/// so at most about 100 centroids, small ones at the tails. New values wait in a buffer of
/// kBufferLimit and are merged in one sorted pass. Rank error (measured by the tests on 10^6
/// uniform and skewed values): under 0.5 % of the rank around the median and under 0.1 % at
/// levels 0.01 and 0.99. Values seen so far are exact until the first merge (kBufferLimit values).
class TDigest {
 public:
  static constexpr double kCompression = 100;
  static constexpr size_t kBufferLimit = 500;
  /// Values kept in the state itself before the buffer moves to the heap: most groups of a
  /// keyed window see a few values, and then the digest allocates nothing.
  static constexpr size_t kInlineValues = 4;

  /// A cluster of values: their mean and how many.
  struct Centroid {
    double mean;
    double weight;
  };

  /// Adds a value; NaN is skipped (it has no rank).
  void Add(double value) {
    if (value != value) return;
    buffer_.push_back(value);
    if (buffer_.size() >= kBufferLimit) Compress();
  }
  void Merge(const TDigest& other);
  /// The value at `level` in [0, 1], interpolated between centroids; NaN when empty.
  double Quantile(double level) const;
  double count() const;

  void Serialize(StateWriter& writer) const;
  /// Replaces the contents with a serialized digest.
  Status Deserialize(StateReader& reader);
  size_t HeapBytes() const;

 private:
  /// Merges the buffer and `extra` (any order) into the centroids.
  void Compress(const std::vector<Centroid>& extra = {});
  /// Centroids and buffer together, sorted by mean, unmerged (for Quantile); on the stack when
  /// small, so that finishing a small group allocates nothing.
  using SortedCentroids = boost::container::small_vector<Centroid, 16>;
  SortedCentroids Sorted() const;

  std::vector<Centroid> centroids_;                               // sorted by mean
  boost::container::small_vector<double, kInlineValues> buffer_;  // values not merged yet
  double min_ = 0;  // exact extremes, for the ends of the interpolation
  double max_ = 0;
};

}  // namespace sluice
