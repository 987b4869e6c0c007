// SPDX-License-Identifier: MIT
// The incremental SSE parser: the WHATWG "interpret an event stream" algorithm, fed any chunking.
#ifndef CRIER_SSE_PARSER_HPP
#define CRIER_SSE_PARSER_HPP

#include <crier/config.hpp>
#include <crier/error.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace crier::sse {

/// One dispatched event. The views point into the parser and stay valid only during the callback.
struct event {
    std::string_view type;           ///< the `event:` field, or `message` when there was none
    std::string_view data;           ///< the `data:` lines joined by LF, final LF removed
    std::string_view last_event_id;  ///< the source's last event id after this event
};

/// Bounds of a parser.
struct parser_options {
    /// Largest line (of any field, comments included; line end not counted) and largest event
    /// data accepted; past it feed() fails with errc::event_too_large, at the same byte however
    /// the stream is chunked. Default CRIER_SSE_MAX_EVENT_BYTES (16 MiB).
    std::size_t max_event_bytes = CRIER_SSE_MAX_EVENT_BYTES;
};

/// Parses a `text/event-stream` body incrementally, exactly as a browser's EventSource does
/// (WHATWG HTML, "Interpreting an event stream"): one leading BOM stripped; CR, LF and CRLF line
/// endings (also split across chunks); comments; fields without a colon; one space after the
/// colon removed; `id` with NUL ignored; `retry` only when all ASCII digits; dispatch on a blank
/// line; empty data dispatches nothing; a pending event is discarded at end of stream; invalid
/// UTF-8 is replaced by U+FFFD. Any chunking of the same bytes yields the same events, and the same
/// error after them when a bound is exceeded.
///
/// The last event id and the reconnection time belong to the event *source*, so they survive
/// begin_stream(); everything else is per stream.
///
/// @par Thread Safety
/// Distinct objects: safe. Shared objects: unsafe.
class parser {
public:
    parser() noexcept = default;
    /// A parser with these limits.
    explicit parser(parser_options options) noexcept : options_(options) {}

    /// Feeds the next bytes of the body; calls `on_event(const sse::event&)` for each event
    /// completed by them, in order. Returns errc::event_too_large (and stays failed until
    /// begin_stream()) when a line or an event exceeds the bound.
    template <class Handler>
    std::error_code feed(std::string_view chunk, Handler&& on_event) {
        using handler_type = std::remove_reference_t<Handler>;
        return feed_impl(chunk, &on_event,
                         [](void* h, const event& e) { (*static_cast<handler_type*>(h))(e); });
    }

    /// Ends the current stream: a partial line and an undispatched event are discarded.
    CRIER_DECL void end_of_stream() noexcept;

    /// Starts a new stream (a reconnection): per-stream buffers and the BOM state are reset; the
    /// last event id and the reconnection time are kept.
    CRIER_DECL void begin_stream() noexcept;

    /// The event source's last event id: what a reconnecting client sends as Last-Event-ID.
    [[nodiscard]] std::string_view last_event_id() const noexcept { return last_event_id_; }

    /// Sets the last event id, e.g. from a client's persisted state.
    void set_last_event_id(std::string_view id) { last_event_id_.assign(id); }

    /// The reconnection time from the latest valid `retry:` field, if any was received.
    [[nodiscard]] std::optional<std::chrono::milliseconds> reconnection_time() const noexcept {
        return retry_;
    }

private:
    using dispatch_fn = void (*)(void*, const event&);

    CRIER_DECL std::error_code feed_impl(std::string_view chunk, void* ctx, dispatch_fn dispatch);
    CRIER_DECL std::error_code process_line(std::string_view line, void* ctx, dispatch_fn dispatch);
    CRIER_DECL void dispatch_event(void* ctx, dispatch_fn dispatch);

    parser_options options_{};
    std::string line_;           // a line split across chunks
    std::string data_;           // data buffer
    std::string type_;           // event type buffer
    std::string id_buffer_;      // last event ID buffer (per stream)
    std::string last_event_id_;  // the source's last event ID string (kept across streams)
    std::string scratch_;        // U+FFFD-repaired copies, used only for invalid UTF-8
    std::string scratch_type_;
    std::optional<std::chrono::milliseconds> retry_;
    unsigned bom_matched_ = 0;  // bytes of a leading BOM seen so far
    bool bom_done_ = false;
    bool skip_lf_ = false;  // the previous chunk ended in CR: a leading LF is its pair
    bool failed_ = false;
};

}  // namespace crier::sse

#if defined(CRIER_HEADER_ONLY)
#    include <crier/sse/impl/parser.ipp>
#endif

#endif
