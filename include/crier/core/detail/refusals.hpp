// SPDX-License-Identifier: MIT
// detail::refusals: users and channels the host asked not to reconnect, until a deadline. Private.
#ifndef CRIER_CORE_DETAIL_REFUSALS_HPP
#define CRIER_CORE_DETAIL_REFUSALS_HPP

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <string_view>

namespace crier::detail {

/// Names (users or channels, kept apart) refused until a deadline. Bounded: past `capacity`
/// names the one whose refusal ends first is forgotten. Not thread-safe: the hub's lock guards
/// it.
class refusals {
public:
    using clock = std::chrono::steady_clock;

    /// Most names remembered per kind.
    static constexpr std::size_t capacity = 10000;

    enum class kind { user, channel };

    /// Refuses `name` until `now + duration` (a later deadline than one already held wins).
    void refuse(kind k, std::string_view name, std::chrono::milliseconds duration,
                clock::time_point now) {
        if (duration <= std::chrono::milliseconds::zero()) return;
        auto& names = of(k);
        const clock::time_point until = now + duration;
        if (auto it = names.find(name); it != names.end()) {
            it->second = std::max(it->second, until);
            return;
        }
        expire(names, now);
        if (names.size() >= capacity) {
            names.erase(std::min_element(names.begin(), names.end(),
                                         [](auto& a, auto& b) { return a.second < b.second; }));
        }
        names.emplace(std::string(name), until);
    }

    /// Lifts a refusal; true when there was one.
    bool allow(kind k, std::string_view name) {
        auto& names = of(k);
        auto it = names.find(name);
        if (it == names.end()) return false;
        names.erase(it);
        return true;
    }

    /// Is a subscription of `user` to `channels` refused? Exact names only: refusing
    /// `stable:7` does not refuse a pattern `stable:*`.
    [[nodiscard]] bool refused(std::string_view user, std::span<const std::string> channels,
                               clock::time_point now) const {
        if (users_.empty() && channels_.empty()) return false;
        if (!user.empty() && active(users_, user, now)) return true;
        return std::any_of(channels.begin(), channels.end(),
                           [&](const std::string& c) { return active(channels_, c, now); });
    }

private:
    using table = std::map<std::string, clock::time_point, std::less<>>;

    table& of(kind k) noexcept { return k == kind::user ? users_ : channels_; }

    static bool active(const table& names, std::string_view name, clock::time_point now) {
        auto it = names.find(name);
        return it != names.end() && it->second > now;
    }

    static void expire(table& names, clock::time_point now) {
        std::erase_if(names, [now](const auto& e) { return e.second <= now; });
    }

    table users_;
    table channels_;
};

}  // namespace crier::detail

#endif
