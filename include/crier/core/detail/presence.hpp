// SPDX-License-Identifier: MIT
// detail::presence_dispatcher: the presence hook's calls, in order, one at a time, unlocked.
#ifndef CRIER_CORE_DETAIL_PRESENCE_HPP
#define CRIER_CORE_DETAIL_PRESENCE_HPP

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace crier::detail {

/// Calls the presence hook in order, with no hub lock held, one call at a time.
class presence_dispatcher {
public:
    void push(std::string channel, std::size_t count) {
        std::lock_guard lock(mutex_);
        queue_.emplace_back(std::move(channel), count);
    }

    void dispatch(const std::function<void(std::string_view, std::size_t)>& hook) noexcept {
        std::unique_lock lock(mutex_);
        if (running_) return;  // the running dispatcher will take ours too, in order
        running_ = true;
        while (!queue_.empty()) {
            auto [channel, count] = std::move(queue_.front());
            queue_.pop_front();
            lock.unlock();
            try {
                hook(channel, count);
            } catch (...) {  // NOLINT(bugprone-empty-catch): the hook's failure is its own
            }
            lock.lock();
        }
        running_ = false;
    }

private:
    std::mutex mutex_;
    std::deque<std::pair<std::string, std::size_t>> queue_;
    bool running_ = false;
};

}  // namespace crier::detail

#endif
