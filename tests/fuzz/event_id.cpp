// SPDX-License-Identifier: MIT
// Event ids and Last-Event-ID values. Oracles: an id crier parses has exactly one text (printing
// it gives the input back), printing then parsing any id is the identity, every printed id is a
// valid Last-Event-ID, and validity follows the documented rule.
#include <crier/sse/event_id.hpp>

#include <string>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider fdp(data, size);
    const crier::sse::event_id made{fdp.ConsumeIntegral<std::uint64_t>(),
                                    fdp.ConsumeIntegral<std::uint64_t>()};
    const std::string text = fdp.ConsumeRemainingBytesAsString();

    // Print, then parse: the identity, within the documented length, and a valid Last-Event-ID.
    const std::string printed = crier::sse::to_string(made);
    CRIER_FUZZ_CHECK(printed.size() <= crier::sse::max_event_id_chars);
    CRIER_FUZZ_CHECK(crier::sse::parse_event_id(printed) == made);
    CRIER_FUZZ_CHECK(crier::sse::is_valid_last_event_id(printed));

    // Parse, then print: one id, one text.
    if (const auto parsed = crier::sse::parse_event_id(text)) {
        CRIER_FUZZ_CHECK(crier::sse::to_string(*parsed) == text);
        CRIER_FUZZ_CHECK(crier::sse::is_valid_last_event_id(text));
    }

    // Validity: at most CRIER_MAX_EVENT_ID_BYTES of printable ASCII without space.
    bool expected = text.size() <= CRIER_MAX_EVENT_ID_BYTES;
    for (const char c : text) expected = expected && c > ' ' && c <= '~';
    CRIER_FUZZ_CHECK(crier::sse::is_valid_last_event_id(text) == expected);
    return 0;
}
