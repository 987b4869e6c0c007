// SPDX-License-Identifier: MIT
// The hub layer: channels, subscriptions, history, replay, dedup, limits, stats, backplane seam.
#ifndef CRIER_CORE_HPP
#define CRIER_CORE_HPP

#include <crier/core/backplane.hpp>
#include <crier/core/history.hpp>
#include <crier/core/hub.hpp>
#include <crier/core/hub_options.hpp>
#include <crier/core/names.hpp>
#include <crier/core/publish_result.hpp>
#include <crier/core/stats.hpp>
#include <crier/core/subscription.hpp>

#endif
