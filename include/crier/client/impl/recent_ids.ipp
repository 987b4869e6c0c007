// SPDX-License-Identifier: MIT
// Definitions for crier/client/recent_ids.hpp.
#ifndef CRIER_CLIENT_IMPL_RECENT_IDS_IPP
#define CRIER_CLIENT_IMPL_RECENT_IDS_IPP

#include <crier/client/recent_ids.hpp>

namespace crier::client {

CRIER_DECL bool recent_ids::insert(std::string_view id) {
    if (capacity_ == 0) return true;
    if (index_.contains(id)) return false;
    if (ring_.size() < capacity_) {
        ring_.emplace_back(id);  // a deque never moves its elements, so the views stay valid
        index_.insert(ring_.back());
        return true;
    }
    std::string& slot = ring_[next_];
    index_.erase(slot);
    // clear() + append() rather than assign(): `id` cannot alias the slot (it is not in the
    // index), and assign()'s aliasing branch makes GCC 12 at -O3 report a false -Wrestrict.
    // The slot keeps its capacity, so a full ring stops allocating.
    slot.clear();
    slot.append(id);
    index_.insert(slot);
    next_ = (next_ + 1) % capacity_;
    return true;
}

}  // namespace crier::client

#endif
