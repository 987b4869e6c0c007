// SPDX-License-Identifier: MIT
// detail::ring: a growable circular buffer (FIFO with indexed access). Private.
#ifndef CRIER_CORE_DETAIL_RING_HPP
#define CRIER_CORE_DETAIL_RING_HPP

#include <cstddef>
#include <utility>
#include <vector>

namespace crier::detail {

/// A FIFO with random access, as compact as a vector: an empty ring allocates nothing, which
/// matters with one ring per channel and tens of thousands of mostly idle channels.
template <class T>
class ring {
public:
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] T& front() noexcept { return slots_[head_]; }
    [[nodiscard]] const T& front() const noexcept { return slots_[head_]; }
    [[nodiscard]] T& operator[](std::size_t i) noexcept { return slots_[wrap(head_ + i)]; }
    [[nodiscard]] const T& operator[](std::size_t i) const noexcept {
        return slots_[wrap(head_ + i)];
    }

    void push_back(T value) {
        if (size_ == slots_.size()) grow();
        slots_[wrap(head_ + size_)] = std::move(value);
        ++size_;
    }

    void pop_front() noexcept {
        slots_[head_] = T{};
        head_ = wrap(head_ + 1);
        if (--size_ == 0) head_ = 0;
    }

    /// Frees the storage once the ring is empty.
    void shrink_if_empty() noexcept {
        if (size_ == 0) {
            std::vector<T>().swap(slots_);
            head_ = 0;
        }
    }

private:
    // Invariant: slots_.size() is 0 or a power of two; live items are [head_, head_ + size_).
    std::size_t wrap(std::size_t i) const noexcept { return i & (slots_.size() - 1); }

    void grow() {
        std::vector<T> bigger(slots_.empty() ? 4 : slots_.size() * 2);
        for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move((*this)[i]);
        slots_.swap(bigger);
        head_ = 0;
    }

    std::vector<T> slots_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace crier::detail

#endif
