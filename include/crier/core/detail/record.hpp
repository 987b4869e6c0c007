// SPDX-License-Identifier: MIT
// detail::event_record: one accepted event, stored once, owning the frame every queue shares.
#ifndef CRIER_CORE_DETAIL_RECORD_HPP
#define CRIER_CORE_DETAIL_RECORD_HPP

#include <crier/detail/json.hpp>
#include <crier/sse/encoder.hpp>
#include <crier/sse/event_id.hpp>
#include <crier/sse/frame.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#if defined(__linux__)
#    include <time.h>
#endif

namespace crier::detail {

struct channel_state;

using steady_clock = std::chrono::steady_clock;

/// The monotonic time at the kernel tick's resolution (a few ms), which is plenty for age,
/// dedup and rate windows, and several times cheaper to read than steady_clock::now().
inline steady_clock::time_point coarse_now() noexcept {
#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
    timespec ts{};
    if (::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0) {
        // libstdc++ and libc++ read steady_clock from CLOCK_MONOTONIC: the same origin.
        return steady_clock::time_point(std::chrono::duration_cast<steady_clock::duration>(
            std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
    }
#endif
    return steady_clock::now();
}

/// One accepted event. Its frame is `event: <type>\n`, the `data:` lines, then `id: <id>\n\n`
/// (sse::append_event_without_id and sse::stamp_id): everything but the id is encoded before
/// the sequencer's critical section, and the id is stamped into reserved capacity inside it
/// (no reallocation, no copy).
struct event_record {
    std::uint64_t seq = 0;
    /// Zero: the hub's epoch. Else the epoch the backplane gave it (a node-local one while the
    /// backplane was away): the history route must not report it under the hub's.
    std::uint64_t epoch = 0;
    steady_clock::time_point accepted{};
    std::string bytes;     ///< the frame
    std::string channels;  ///< channel names, each followed by '\n'
    std::uint32_t type_size = 0;
    std::size_t footprint = 0;  ///< accounted bytes, fixed once stamped

    // Guarded by the hub's lock:
    std::uint32_t rings = 0;  ///< channel histories holding it
    /// The one channel whose history holds it, when it was stored for exactly one: evicting it
    /// then needs no lookup by name. Valid while `rings` is not 0 (a channel is not erased
    /// while its history holds anything); null otherwise.
    channel_state* ring = nullptr;
    event_record* older = nullptr;  ///< the hub's list of retained records, in seq order
    event_record* newer = nullptr;

    [[nodiscard]] std::string_view type() const noexcept {
        return std::string_view(bytes).substr(7, type_size);
    }
};

using record_ptr = std::shared_ptr<event_record>;

/// The frame of a record: shares the record's ownership, points at its bytes.
inline sse::frame frame_of(const record_ptr& r) noexcept {
    return sse::frame(r, &r->bytes);
}

/// Encodes everything but the id line, reserving room for it. May throw std::bad_alloc.
inline record_ptr encode_record(std::string_view type, std::string_view data,
                                std::span<const std::string_view> channels,
                                steady_clock::time_point now) {
    auto r = std::make_shared<event_record>();
    r->accepted = now;
    r->type_size = static_cast<std::uint32_t>(type.size());
    sse::append_event_without_id(r->bytes, type, data);
    if (channels.size() == 1) {
        r->channels.reserve(channels[0].size() + 1);
        r->channels.append(channels[0]).push_back('\n');
    } else {
        std::size_t names = 0;
        for (std::string_view c : channels) names += c.size() + 1;
        r->channels.reserve(names);
        for (std::string_view c : channels) r->channels.append(c).push_back('\n');
    }
    return r;
}

/// `<epoch in hex>-`: the part of every id that never changes in a hub's life.
inline std::string id_prefix(std::uint64_t epoch) {
    char buf[sse::max_event_id_chars];
    char* end = sse::to_chars(buf, {epoch, 0});
    return std::string(buf, static_cast<std::size_t>(end - buf) - 1);  // keep '-', drop the '0'
}

/// Appends the id line (within the capacity encode_record reserved) and fixes the footprint.
inline void stamp(event_record& r, std::string_view prefix, std::uint64_t seq) noexcept {
    r.seq = seq;
    sse::stamp_id(r.bytes, prefix, seq);
    // The record, its control block and both buffers.
    r.footprint = sizeof(event_record) + 16 + r.bytes.capacity() + r.channels.capacity();
}

/// A `resync` frame: data `{"reason":"...","id":"<id>"}`, id `id`.
inline sse::frame resync_frame(std::string_view reason, sse::event_id id) {
    char buf[sse::max_event_id_chars];
    const std::string_view text(buf, static_cast<std::size_t>(sse::to_chars(buf, id) - buf));
    auto f = std::make_shared<std::string>();
    f->reserve(64 + reason.size() + 2 * text.size());
    f->append("event: resync\ndata: {\"reason\":");
    append_json_string(*f, reason);
    f->append(",\"id\":\"").append(text).append("\"}\nid: ").append(text).append("\n\n");
    return f;
}

/// The data of a record's frame, as an EventSource would rebuild it (lines joined by LF).
inline std::string decode_data(const event_record& r) {
    std::string_view rest = std::string_view(r.bytes).substr(7 + r.type_size + 1);
    std::string out;
    bool first = true;
    while (rest.starts_with("data:")) {
        const std::size_t lf = rest.find('\n');
        std::string_view line = rest.substr(5, lf - 5);
        if (!line.empty()) line.remove_prefix(1);  // the space after "data:"
        if (!first) out.push_back('\n');
        out.append(line);
        first = false;
        rest.remove_prefix(lf + 1);
    }
    return out;
}

}  // namespace crier::detail

#endif
