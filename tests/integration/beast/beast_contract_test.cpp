// SPDX-License-Identifier: MIT
// The stream contract against the Beast adapter (the crier-beast-host example's server).
#include "beast/beast_kind.hpp"
#include "contract/contract_suite.hpp"

namespace crier::test {

INSTANTIATE_TEST_SUITE_P(beast, stream_contract, ::testing::Values(beast_kind()),
                         [](const ::testing::TestParamInfo<transport_kind>& p) {
                             return p.param.name;
                         });

}  // namespace crier::test
