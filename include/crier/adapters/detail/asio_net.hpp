// SPDX-License-Identifier: MIT
// The networking vocabulary the stream session is written against, for standalone Asio; the
// Beast adapter supplies the same for Boost.Asio. Private.
#ifndef CRIER_ADAPTERS_DETAIL_ASIO_NET_HPP
#define CRIER_ADAPTERS_DETAIL_ASIO_NET_HPP

#include <crier/config.hpp>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/buffer.hpp>
#include <asio/dispatch.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/socket_base.hpp>
#include <asio/write.hpp>

#include <system_error>
#include <utility>

namespace crier::adapters::detail {

/// Standalone Asio.
struct asio_net {
    using error_code = std::error_code;
    using const_buffer = asio::const_buffer;
    using mutable_buffer = asio::mutable_buffer;
    using shutdown_type = asio::socket_base::shutdown_type;
    static constexpr shutdown_type shutdown_send = asio::socket_base::shutdown_send;
    static constexpr shutdown_type shutdown_both = asio::socket_base::shutdown_both;
    static constexpr auto timed_out = asio::error::timed_out;

    template <class Executor, class F>
    static void post(const Executor& ex, F&& f) {
        asio::post(ex, std::forward<F>(f));
    }

    template <class Executor, class F>
    static void dispatch(const Executor& ex, F&& f) {
        asio::dispatch(ex, std::forward<F>(f));
    }

    template <class Stream, class Buffers, class Condition, class Handler>
    static void async_write(Stream& s, const Buffers& b, Condition&& c, Handler&& h) {
        asio::async_write(s, b, std::forward<Condition>(c), std::forward<Handler>(h));
    }

    template <class Handler, class Executor>
    static auto associated_executor(const Handler& h, const Executor& io) {
        return asio::get_associated_executor(h, io);
    }

    template <class Token, class Initiation>
    static auto initiate(Initiation&& init, Token&& token) {
        return asio::async_initiate<Token, void(std::error_code)>(std::forward<Initiation>(init),
                                                                  token);
    }
};

}  // namespace crier::adapters::detail

#endif
