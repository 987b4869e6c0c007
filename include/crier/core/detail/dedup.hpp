// SPDX-License-Identifier: MIT
// detail::dedup_window: publisher-side dedup keys, bounded in time and count. Private.
#ifndef CRIER_CORE_DETAIL_DEDUP_HPP
#define CRIER_CORE_DETAIL_DEDUP_HPP

#include <crier/sse/event_id.hpp>

#include <simdjson.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace crier::detail {

/// Keys longer than this are stored as a 128-bit fingerprint, so the window's memory is bounded
/// by its count whatever keys publishers send.
inline constexpr std::size_t max_stored_dedup_key = 128;

/// Remembers the id of each key for `window`, and at most `capacity` keys (oldest forgotten
/// first). Every member but lock() requires the lock from lock(): the hub holds it across check,
/// publish and insert, so two racing duplicates cannot both be published.
class dedup_window {
public:
    using clock = std::chrono::steady_clock;

    dedup_window(std::chrono::milliseconds window, std::size_t capacity)
        : window_(window), capacity_(capacity) {}

    /// The window's lock, which the members below require.
    [[nodiscard]] std::unique_lock<std::mutex> lock() { return std::unique_lock(mutex_); }

    /// The id a live key was first published with.
    std::optional<sse::event_id> find(std::string_view key, clock::time_point now) {
        expire(now);
        auto it = index_.find(stored_form(key));
        if (it == index_.end()) return std::nullopt;
        return it->second;
    }

    void insert(std::string_view key, sse::event_id id, clock::time_point now) {
        if (capacity_ == 0) return;
        std::string stored = stored_form(key);
        if (auto it = index_.find(stored); it != index_.end()) index_.erase(it);
        entries_.push_back({std::move(stored), now});
        // Invariant: every index_ key views the string of a live entries_ element (deque
        // push_back/pop_front keep references to other elements valid).
        index_.insert_or_assign(std::string_view(entries_.back().key), id);
        while (entries_.size() > capacity_) pop();
    }

    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

private:
    struct entry {
        std::string key;
        clock::time_point at;
    };

    static std::string stored_form(std::string_view key) {
        if (key.size() <= max_stored_dedup_key) return std::string(key);
        // Two independent 64-bit hashes; a leading NUL keeps them apart from short keys.
        std::uint64_t fnv = 0xcbf29ce484222325u;
        for (unsigned char c : key) fnv = (fnv ^ c) * 0x100000001b3u;
        const std::uint64_t h = std::hash<std::string_view>{}(key);
        std::string out(1 + 16, '\0');
        for (int i = 0; i < 8; ++i) {
            out[1 + i] = static_cast<char>(fnv >> (8 * i));
            out[9 + i] = static_cast<char>(h >> (8 * i));
        }
        return out;
    }

    void expire(clock::time_point now) {
        while (!entries_.empty() && now - entries_.front().at >= window_) pop();
    }

    void pop() {
        auto it = index_.find(std::string_view(entries_.front().key));
        // A re-inserted key points at its newer entry; only drop the index if it is ours.
        if (it != index_.end() && it->first.data() == entries_.front().key.data()) {
            index_.erase(it);
        }
        entries_.pop_front();
    }

    std::chrono::milliseconds window_;
    std::size_t capacity_;
    std::deque<entry> entries_;
    std::unordered_map<std::string_view, sse::event_id> index_;
    std::mutex mutex_;
};

/// The dedup key built from named top-level fields of a JSON object payload: type, channels and
/// each field's minified JSON value, separated by unit separators. Nullopt when the payload is
/// not a JSON object or lacks one of the fields.
inline std::optional<std::string> dedup_key_from_fields(std::span<const std::string> fields,
                                                        std::string_view type,
                                                        std::span<const std::string_view> channels,
                                                        std::string_view data) {
    // One parser per thread, reused: a parser allocates its buffers on first use, which would
    // otherwise be on every publish that builds a key.
    thread_local simdjson::dom::parser parser;
    simdjson::dom::object object;
    if (parser.parse(data.data(), data.size()).get_object().get(object)) return std::nullopt;
    std::string key(type);
    for (std::string_view c : channels) key.append("\x1f").append(c);
    key.push_back('\x1e');
    for (const std::string& field : fields) {
        simdjson::dom::element value;
        if (object.at_key(field).get(value)) return std::nullopt;
        key.append(simdjson::to_string(value)).push_back('\x1f');
    }
    return key;
}

}  // namespace crier::detail

#endif
