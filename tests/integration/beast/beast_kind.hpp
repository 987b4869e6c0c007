// SPDX-License-Identifier: MIT
// The Beast transport for the stream contract, declared without Boost: the contract suite
// includes standalone Asio, which Boost.Asio 1.74 cannot share a translation unit with, so the
// transport (beast_test.cpp) and the suite's instantiation (beast_contract_test.cpp) are
// compiled apart.
#ifndef CRIER_TESTS_BEAST_BEAST_KIND_HPP
#define CRIER_TESTS_BEAST_BEAST_KIND_HPP

#include "contract/transport.hpp"

namespace crier::test {

/// The crier-beast-host example's server, its io_context run by one host thread.
[[nodiscard]] transport_kind beast_kind();

}  // namespace crier::test

#endif
