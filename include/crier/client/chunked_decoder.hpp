// SPDX-License-Identifier: MIT
// crier::client::chunked_decoder: an incremental decoder for HTTP/1.1 chunked bodies. Pure; no I/O.
#ifndef CRIER_CLIENT_CHUNKED_DECODER_HPP
#define CRIER_CLIENT_CHUNKED_DECODER_HPP

#include <crier/config.hpp>
#include <crier/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace crier::client {

/// Decodes `Transfer-Encoding: chunked` (RFC 9112 §7.1) from input split at any byte: hex chunk
/// sizes (either case, leading zeros), chunk extensions (skipped), the last chunk, trailer fields
/// (skipped) and the final blank line. Line ends are CRLF; a bare LF is accepted too, as most
/// servers and clients do. Extensions and trailers are bounded so a hostile server cannot make the
/// decoder buffer or scan forever; nothing is buffered at all, payload is passed through as views.
///
/// @par Thread Safety
/// Distinct objects: safe. Shared objects: unsafe.
class chunked_decoder {
public:
    /// Longest chunk-size line (size, extensions) and longest trailer section accepted.
    static constexpr std::size_t max_line_bytes = 4096;
    /// Longest trailer section accepted (all trailer lines together).
    static constexpr std::size_t max_trailer_bytes = 16384;

    /// Decodes the next bytes of the body. Calls `on_data(std::string_view)` for each run of
    /// payload bytes (views into `in`). Sets `consumed` to the bytes of `in` that belong to the
    /// body: all of them unless the body ended inside `in` (then done() is true and the rest is
    /// whatever the server sent after it). errc::protocol_error on malformed framing; the decoder
    /// then stays failed until reset().
    template <class Handler>
    std::error_code decode(std::string_view in, std::size_t& consumed, Handler&& on_data) {
        using handler_type = std::remove_reference_t<Handler>;
        return decode_impl(in, consumed, &on_data, [](void* h, std::string_view data) {
            (*static_cast<handler_type*>(h))(data);
        });
    }

    /// True once the last chunk and the trailer section have been decoded.
    [[nodiscard]] bool done() const noexcept { return state_ == state::done; }

    /// Starts over for a new body.
    void reset() noexcept { *this = chunked_decoder(); }

private:
    using data_fn = void (*)(void*, std::string_view);

    enum class state : unsigned char {
        size,           // hex digits of the chunk size
        size_tail,      // whitespace after the size digits
        extension,      // chunk extensions, skipped up to the end of the size line
        size_lf,        // CR seen at the end of the size line
        data,           // payload bytes
        data_end,       // expecting the CRLF after the payload
        data_lf,        // CR seen after the payload
        trailer_start,  // start of a trailer line, or of the final blank line
        trailer_line,   // inside a trailer line
        final_lf,       // CR of the final blank line seen
        done,
        failed,
    };

    CRIER_DECL std::error_code decode_impl(std::string_view in, std::size_t& consumed, void* ctx,
                                           data_fn on_data);
    CRIER_DECL std::error_code fail() noexcept;

    state state_ = state::size;
    std::uint64_t remaining_ = 0;  // payload bytes left in the current chunk, or the size so far
    std::size_t digits_ = 0;       // hex digits of the current size
    std::size_t line_bytes_ = 0;   // bytes of the current size line, or of the trailer section
};

}  // namespace crier::client

#if defined(CRIER_HEADER_ONLY)
#    include <crier/client/impl/chunked_decoder.ipp>
#endif

#endif
