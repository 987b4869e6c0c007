// SPDX-License-Identifier: MIT
// Definitions for crier/sse/encoder.hpp.
#ifndef CRIER_SSE_IMPL_ENCODER_IPP
#define CRIER_SSE_IMPL_ENCODER_IPP

#include <crier/detail/utf8.hpp>
#include <crier/sse/encoder.hpp>

#include <charconv>
#include <cstring>
#include <new>

namespace crier::sse {
namespace detail {

constexpr std::string_view data_prefix = "data: ";

inline bool has_line_break_or_nul(std::string_view s) noexcept {
    return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

/// Calls f(line) for each line of `text`, splitting on CRLF, CR or LF. Always at least one call.
template <class F>
void for_each_line(std::string_view text, F&& f) {
    std::size_t start = 0;
    for (;;) {
        std::size_t pos = start;
        const std::size_t n = text.size();
        // memchr is vectorised; most payloads have no CR, so search LF first then CR before it.
        const void* lf = pos < n ? std::memchr(text.data() + pos, '\n', n - pos) : nullptr;
        const std::size_t lf_at =
            lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - text.data()) : n;
        const void* cr = lf_at > pos ? std::memchr(text.data() + pos, '\r', lf_at - pos) : nullptr;
        const std::size_t end =
            cr ? static_cast<std::size_t>(static_cast<const char*>(cr) - text.data()) : lf_at;
        f(text.substr(start, end - start));
        if (end == n) return;
        start = end + 1;
        if (text[end] == '\r' && start < n && text[start] == '\n') ++start;
    }
}

/// "data:" for an empty line, "data: <line>" otherwise, plus the LF.
inline std::size_t data_line_size(std::string_view line) noexcept {
    return line.empty() ? 6 : data_prefix.size() + line.size() + 1;
}

inline std::size_t digits(std::uint64_t v) noexcept {
    std::size_t d = 1;
    while (v >= 10) {
        v /= 10;
        ++d;
    }
    return d;
}

inline void append_number(std::string& out, std::uint64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

inline std::uint64_t retry_ms(std::chrono::milliseconds d) noexcept {
    return d.count() < 0 ? 0u : static_cast<std::uint64_t>(d.count());
}

}  // namespace detail

CRIER_DECL std::error_code validate(const event_fields& fields) noexcept {
    if (detail::has_line_break_or_nul(fields.id) || detail::has_line_break_or_nul(fields.type)) {
        return errc::invalid_field;
    }
    if (!crier::detail::is_valid_utf8(fields.id) || !crier::detail::is_valid_utf8(fields.type) ||
        !crier::detail::is_valid_utf8(fields.data)) {
        return errc::invalid_utf8;
    }
    return {};
}

CRIER_DECL std::size_t encoded_size(const event_fields& fields) noexcept {
    std::size_t size = 1;  // the blank line that dispatches the event
    if (!fields.id.empty()) size += 4 + fields.id.size() + 1;
    if (!fields.type.empty()) size += 7 + fields.type.size() + 1;
    if (fields.retry) size += 7 + detail::digits(detail::retry_ms(*fields.retry)) + 1;
    detail::for_each_line(fields.data,
                          [&](std::string_view line) { size += detail::data_line_size(line); });
    return size;
}

namespace detail {

// No reserve here: reserving exactly on every append to a growing buffer is quadratic.
inline void append_unchecked(std::string& out, const event_fields& fields) {
    if (!fields.id.empty()) {
        out.append("id: ").append(fields.id).push_back('\n');
    }
    if (!fields.type.empty()) {
        out.append("event: ").append(fields.type).push_back('\n');
    }
    if (fields.retry) {
        out.append("retry: ");
        detail::append_number(out, detail::retry_ms(*fields.retry));
        out.push_back('\n');
    }
    detail::for_each_line(fields.data, [&](std::string_view line) {
        if (line.empty()) {
            out.append("data:\n");
        } else {
            out.append(detail::data_prefix).append(line).push_back('\n');
        }
    });
    out.push_back('\n');
}

}  // namespace detail

CRIER_DECL std::error_code append_event(std::string& out, const event_fields& fields) {
    if (auto ec = validate(fields)) return ec;
    detail::append_unchecked(out, fields);
    return {};
}

CRIER_DECL void append_event_without_id(std::string& out, std::string_view type,
                                        std::string_view data) {
    const bool one_line = std::memchr(data.data(), '\n', data.size()) == nullptr &&
                          std::memchr(data.data(), '\r', data.size()) == nullptr;
    if (one_line) {  // the common case: one data line, one scan
        out.reserve(out.size() + 7 + type.size() + 1 + detail::data_line_size(data) + id_slot_size);
        out.append("event: ").append(type).append(data.empty() ? "\ndata:" : "\ndata: ");
        out.append(data).push_back('\n');
        return;
    }
    std::size_t size = out.size() + 7 + type.size() + 1 + id_slot_size;
    detail::for_each_line(data,
                          [&](std::string_view line) { size += detail::data_line_size(line); });
    out.reserve(size);
    out.append("event: ").append(type).push_back('\n');
    detail::for_each_line(data, [&](std::string_view line) {
        if (line.empty()) {
            out.append("data:\n");
        } else {
            out.append(detail::data_prefix).append(line).push_back('\n');
        }
    });
}

CRIER_DECL void stamp_id(std::string& out, std::string_view prefix, std::uint64_t seq) noexcept {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, seq);
    out.append("id: ").append(prefix).append(buf, res.ptr).append("\n\n");
}

CRIER_DECL void append_comment(std::string& out, std::string_view text) {
    detail::for_each_line(text, [&](std::string_view line) {
        out.push_back(':');
        if (!line.empty()) out.append(" ").append(line);
        out.push_back('\n');
    });
}

CRIER_DECL void append_retry(std::string& out, std::chrono::milliseconds delay) {
    out.append("retry: ");
    detail::append_number(out, detail::retry_ms(delay));
    out.append("\n\n");
}

CRIER_DECL frame encode(const event_fields& fields, std::error_code& ec) noexcept {
    ec = validate(fields);
    if (ec) return nullptr;
    try {
        auto bytes = std::make_shared<std::string>();
        bytes->reserve(encoded_size(fields));
        detail::append_unchecked(*bytes, fields);
        return bytes;
    } catch (const std::bad_alloc&) {
        ec = std::make_error_code(std::errc::not_enough_memory);
        return nullptr;
    }
}

CRIER_DECL frame encode(const event_fields& fields) {
    std::error_code ec;
    frame f = encode(fields, ec);
    if (ec) crier::detail::throw_error(ec, "crier::sse::encode");
    return f;
}

}  // namespace crier::sse

#endif
