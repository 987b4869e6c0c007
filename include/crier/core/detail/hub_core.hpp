// SPDX-License-Identifier: MIT
// The hub's private state. Stub: the implementation follows.
#ifndef CRIER_CORE_DETAIL_HUB_CORE_HPP
#define CRIER_CORE_DETAIL_HUB_CORE_HPP

#include <crier/core/hub_options.hpp>
#include <crier/core/subscription.hpp>

namespace crier::detail {

struct subscription_state {};

class hub_core {
public:
    explicit hub_core(hub_options o) : options(std::move(o)) {}
    hub_options options;
};

}  // namespace crier::detail

#endif
