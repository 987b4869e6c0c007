// SPDX-License-Identifier: MIT
// Definitions for crier/sse/parser.hpp.
#ifndef CRIER_SSE_IMPL_PARSER_IPP
#define CRIER_SSE_IMPL_PARSER_IPP

#include <crier/detail/utf8.hpp>
#include <crier/sse/parser.hpp>

#include <cstring>
#include <limits>

namespace crier::sse {
namespace detail {

constexpr std::string_view bom = "\xEF\xBB\xBF";

/// Index of the first CR or LF in s[from, n), or n.
inline std::size_t find_line_end(std::string_view s, std::size_t from) noexcept {
    const std::size_t n = s.size();
    const void* lf = std::memchr(s.data() + from, '\n', n - from);
    const std::size_t lf_at =
        lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - s.data()) : n;
    const void* cr = lf_at > from ? std::memchr(s.data() + from, '\r', lf_at - from) : nullptr;
    return cr ? static_cast<std::size_t>(static_cast<const char*>(cr) - s.data()) : lf_at;
}

/// Text as the browser would see it: `raw` itself when valid UTF-8, else a repaired copy.
inline std::string_view decoded(std::string_view raw, std::string& scratch) {
    if (crier::detail::is_valid_utf8(raw)) return raw;
    scratch.clear();
    crier::detail::append_utf8_replacing_invalid(scratch, raw);
    return scratch;
}

}  // namespace detail

CRIER_DECL void parser::end_of_stream() noexcept {
    line_.clear();
    data_.clear();
    type_.clear();
    skip_lf_ = false;
}

CRIER_DECL void parser::begin_stream() noexcept {
    end_of_stream();
    id_buffer_.clear();
    bom_matched_ = 0;
    bom_done_ = false;
    failed_ = false;
}

CRIER_DECL std::error_code parser::feed_impl(std::string_view chunk, void* ctx,
                                             dispatch_fn dispatch) {
    if (failed_) return errc::event_too_large;
    std::size_t i = 0;
    const std::size_t n = chunk.size();
    // The BOM may itself arrive split across chunks.
    while (!bom_done_ && i < n) {
        if (chunk[i] == detail::bom[bom_matched_]) {
            ++i;
            if (++bom_matched_ == detail::bom.size()) bom_done_ = true;
        } else {
            line_.append(detail::bom.substr(0, bom_matched_));  // not a BOM after all: it's text
            bom_done_ = true;
        }
    }
    while (i < n) {
        if (skip_lf_) {
            skip_lf_ = false;
            if (chunk[i] == '\n') {
                ++i;
                continue;
            }
        }
        const std::size_t end = detail::find_line_end(chunk, i);
        // Invariant: a line longer than the bound fails whether it is complete or not, so the
        // outcome does not depend on where the chunks were cut.
        if (line_.size() + (end - i) > options_.max_event_bytes) {
            failed_ = true;
            return errc::event_too_large;
        }
        if (end == n) {  // no line end yet: keep the partial line
            line_.append(chunk.substr(i));
            break;
        }
        std::error_code ec;
        if (line_.empty()) {
            ec = process_line(chunk.substr(i, end - i), ctx, dispatch);
        } else {
            line_.append(chunk.substr(i, end - i));
            ec = process_line(line_, ctx, dispatch);
            line_.clear();
        }
        if (ec) {
            failed_ = true;
            return ec;
        }
        i = end + 1;
        if (chunk[end] == '\r') {
            if (i < n) {
                if (chunk[i] == '\n') ++i;
            } else {
                skip_lf_ = true;
            }
        }
    }
    return {};
}

CRIER_DECL std::error_code parser::process_line(std::string_view line, void* ctx,
                                                dispatch_fn dispatch) {
    if (line.empty()) {
        dispatch_event(ctx, dispatch);
        return {};
    }
    if (line.front() == ':') return {};  // comment
    std::string_view field = line;
    std::string_view value;
    if (const auto colon = line.find(':'); colon != std::string_view::npos) {
        field = line.substr(0, colon);
        value = line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
        // data_ holds each line plus its LF, the last of which the event drops: data_ + value
        // is the event's size (written without "+ 1" on both sides, which wraps at SIZE_MAX).
        if (data_.size() + value.size() > options_.max_event_bytes) {
            return errc::event_too_large;
        }
        data_.append(value);
        data_.push_back('\n');
    } else if (field == "event") {
        type_.assign(value);
    } else if (field == "id") {
        if (value.find('\0') == std::string_view::npos) id_buffer_.assign(value);
    } else if (field == "retry") {
        if (value.empty()) return {};
        std::uint64_t ms = 0;
        for (const char c : value) {
            if (c < '0' || c > '9') return {};
            const auto digit = static_cast<std::uint64_t>(c - '0');
            // Saturate instead of wrapping: an absurd value means "a very long time".
            constexpr auto max =
                static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
            ms = ms > (max - digit) / 10 ? max : ms * 10 + digit;
        }
        retry_ = std::chrono::milliseconds(static_cast<std::int64_t>(ms));
    }
    return {};  // any other field is ignored
}

CRIER_DECL void parser::dispatch_event(void* ctx, dispatch_fn dispatch) {
    last_event_id_.assign(detail::decoded(id_buffer_, scratch_));
    if (data_.empty()) {
        type_.clear();
        return;
    }
    data_.pop_back();  // the data buffer always ends in the LF its last line added
    struct reset_buffers {
        parser& p;
        ~reset_buffers() {
            p.data_.clear();
            p.type_.clear();
            // Keep memory bounded after a rare huge event.
            if (p.data_.capacity() > (1u << 20)) p.data_.shrink_to_fit();
        }
    } reset{*this};
    const std::string_view type =
        type_.empty() ? std::string_view("message") : detail::decoded(type_, scratch_type_);
    dispatch(ctx, event{type, detail::decoded(data_, scratch_), last_event_id_});
}

}  // namespace crier::sse

#endif
