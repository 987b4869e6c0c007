// SPDX-License-Identifier: MIT
// crier::sse::frame: one encoded SSE event, immutable and shared by every subscriber.
#ifndef CRIER_SSE_FRAME_HPP
#define CRIER_SSE_FRAME_HPP

#include <memory>
#include <string>

namespace crier::sse {

/// The bytes of one or more complete SSE frames, encoded once and never modified afterwards.
/// Fan-out copies the pointer, never the bytes: every queue, history ring and socket write that
/// carries an event refers to the same buffer.
///
/// @par Thread Safety
/// The pointee is immutable, so a frame may be read from any number of threads at once.
using frame = std::shared_ptr<const std::string>;

}  // namespace crier::sse

#endif
