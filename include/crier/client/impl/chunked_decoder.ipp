// SPDX-License-Identifier: MIT
// Definitions for crier/client/chunked_decoder.hpp.
#ifndef CRIER_CLIENT_IMPL_CHUNKED_DECODER_IPP
#define CRIER_CLIENT_IMPL_CHUNKED_DECODER_IPP

#include <crier/client/chunked_decoder.hpp>

#include <algorithm>

namespace crier::client {

CRIER_DECL std::error_code chunked_decoder::fail() noexcept {
    state_ = state::failed;
    return errc::protocol_error;
}

CRIER_DECL std::error_code chunked_decoder::decode_impl(std::string_view in, std::size_t& consumed,
                                                        void* ctx, data_fn on_data) {
    std::size_t i = 0;
    consumed = 0;
    if (state_ == state::failed) return errc::protocol_error;
    while (i < in.size() && state_ != state::done) {
        const char c = in[i];
        switch (state_) {
            case state::size: {
                int digit = -1;
                if (c >= '0' && c <= '9') digit = c - '0';
                if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
                if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
                if (digit >= 0) {
                    // 16 hex digits fill 64 bits; leading zeros are allowed, so count significant
                    // ones.
                    if (remaining_ != 0 || digit != 0) ++digits_;
                    if (digits_ > 16) return fail();
                    remaining_ = remaining_ * 16 + static_cast<unsigned>(digit);
                    // Leading zeros are unbounded in the grammar; the line's bound covers them.
                    if (++line_bytes_ > max_line_bytes) return fail();
                    ++i;
                    break;
                }
                if (line_bytes_ == 0) return fail();  // a size line must start with a digit
                state_ = state::size_tail;
                break;  // re-examine c in size_tail
            }
            case state::size_tail:
            case state::extension:
                if (++line_bytes_ > max_line_bytes) return fail();
                ++i;
                if (c == '\r') {
                    state_ = state::size_lf;
                } else if (c == '\n') {
                    state_ = remaining_ == 0 ? state::trailer_start : state::data;
                    line_bytes_ = 0;
                } else if (c == '\0') {
                    return fail();
                } else if (state_ == state::size_tail) {
                    // Only whitespace may precede the extensions, which start with `;`.
                    if (c == ';') {
                        state_ = state::extension;
                    } else if (c != ' ' && c != '\t') {
                        return fail();
                    }
                }
                break;
            case state::size_lf:
                if (c != '\n') return fail();
                ++i;
                state_ = remaining_ == 0 ? state::trailer_start : state::data;
                line_bytes_ = 0;
                break;
            case state::data: {
                const auto n =
                    static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - i));
                on_data(ctx, in.substr(i, n));
                i += n;
                remaining_ -= n;
                if (remaining_ == 0) state_ = state::data_end;
                break;
            }
            case state::data_end:
                ++i;
                if (c == '\r') {
                    state_ = state::data_lf;
                } else if (c == '\n') {
                    state_ = state::size;
                    digits_ = 0;
                } else {
                    return fail();
                }
                break;
            case state::data_lf:
                if (c != '\n') return fail();
                ++i;
                state_ = state::size;
                digits_ = 0;
                break;
            case state::trailer_start:
                ++i;
                if (c == '\r') {
                    state_ = state::final_lf;
                } else if (c == '\n') {
                    state_ = state::done;
                } else {
                    if (++line_bytes_ > max_trailer_bytes) return fail();
                    state_ = state::trailer_line;
                }
                break;
            case state::trailer_line:
                if (++line_bytes_ > max_trailer_bytes) return fail();
                ++i;
                if (c == '\n') state_ = state::trailer_start;  // a CR before it is part of the line
                break;
            case state::final_lf:
                if (c != '\n') return fail();
                ++i;
                state_ = state::done;
                break;
            case state::done:
            case state::failed:
                break;
        }
    }
    consumed = i;
    return {};
}

}  // namespace crier::client

#endif
