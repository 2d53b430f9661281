// Typed views of device memory that the kernel launchers take (kernels/scoring_kernels.hpp): a
// block of columns and the scratch of a sort. Plain C++17 (nvcc and g++), no ownership.
#pragma once

#include <cstddef>
#include <cstdint>

namespace backscore::cuda {

// rows x cols values, column-major, one column per model: element (i, j) at data[j * ld + i].
// ld == rows for a dense block; ld == 0 repeats one vector (an era vector) for every column.
template <class T>
struct ColumnBlock {
  T* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t ld = 0;

  static ColumnBlock dense(T* data, std::size_t rows, std::size_t cols) {
    return {data, rows, cols, rows};
  }
  // One vector of `rows` values, the same for each of `cols` columns.
  static ColumnBlock broadcast(T* data, std::size_t rows, std::size_t cols) {
    return {data, rows, cols, 0};
  }
};

// The stable sort's key of a source type: order-preserving unsigned keys (core/hd/order_key.hpp).
template <class Src>
struct SortKeyOf;
template <>
struct SortKeyOf<float> {
  using type = std::uint32_t;
};
template <>
struct SortKeyOf<double> {
  using type = std::uint64_t;
};
template <class Src>
using SortKey = typename SortKeyOf<Src>::type;

// Buffers of a sort of n x m keys of type Key. keys_out and order (n x m each) receive the sorted
// keys and the rows in sorted order; keys_in and vals_in (n x m each), temp (temp_bytes of CUB
// storage) and offsets (m + 1) are the segmented path's scratch (unused by the block path).
template <class Key>
struct SortScratch {
  Key* keys_in = nullptr;
  Key* keys_out = nullptr;
  std::uint32_t* vals_in = nullptr;
  std::uint32_t* order = nullptr;
  void* temp = nullptr;
  std::size_t temp_bytes = 0;
  std::int64_t* offsets = nullptr;
};

// A sort's result: n x m sorted keys and the rows in that order, column by column.
template <class Key>
struct SortedColumns {
  const Key* keys = nullptr;
  const std::uint32_t* order = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
};

// Which rows of each column a reduction reads: all of them (order == nullptr), or the k first and
// k last positions of that column's sorted `order` (n x m, as SortedColumns::order): top/bottom.
struct RowSelection {
  const std::uint32_t* order = nullptr;
  std::size_t k = 0;
  static RowSelection all() { return {}; }
  static RowSelection ends(const std::uint32_t* order, std::size_t k) { return {order, k}; }
};

}  // namespace backscore::cuda
