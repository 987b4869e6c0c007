// SPDX-License-Identifier: MIT
// crier::client::recent_ids: the last N event ids seen, for at-most-once delivery with bounded
// memory.
#ifndef CRIER_CLIENT_RECENT_IDS_HPP
#define CRIER_CLIENT_RECENT_IDS_HPP

#include <crier/config.hpp>

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>

namespace crier::client {

/// Remembers the most recent `capacity` distinct ids: a ring for the order of arrival plus a hash
/// set for lookup, so memory is bounded (unlike the seed's ever-growing `Set`) and each operation
/// is O(1). When full, inserting forgets the oldest id.
///
/// @par Thread Safety
/// Distinct objects: safe. Shared objects: unsafe.
class recent_ids {
public:
    /// A capacity of 0 remembers nothing: insert() then always reports a new id.
    explicit recent_ids(std::size_t capacity) : capacity_(capacity) {}

    recent_ids(const recent_ids&) = delete;
    recent_ids& operator=(const recent_ids&) = delete;

    /// Remembers `id`; false when it is already remembered (a duplicate).
    CRIER_DECL bool insert(std::string_view id);

    /// True when `id` is remembered.
    [[nodiscard]] bool contains(std::string_view id) const { return index_.contains(id); }

    /// How many ids are remembered.
    [[nodiscard]] std::size_t size() const noexcept { return index_.size(); }

    /// The most ids remembered at once.
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

private:
    std::size_t capacity_;
    std::deque<std::string> ring_;  // grows to capacity_, then is overwritten oldest first
    std::size_t next_ = 0;          // the slot to overwrite once the ring is full
    // Invariant: index_ holds exactly one view of each string in ring_ (views into its buffers).
    std::unordered_set<std::string_view> index_;
};

}  // namespace crier::client

#if defined(CRIER_HEADER_ONLY)
#    include <crier/client/impl/recent_ids.ipp>
#endif

#endif
