// SPDX-License-Identifier: MIT
// The client's chunked decoder under arbitrary chunking. Oracle: any chunking gives the same
// payload, the same end of body (bytes consumed) and the same error, limits included.
#include <crier/client/chunked_decoder.hpp>

#include <string>

#include "fuzz_support.hpp"

namespace {

struct outcome {
    std::string payload;
    std::size_t consumed = 0;
    bool done = false;
    std::error_code error;
};

outcome run(const std::vector<std::string_view>& chunks) {
    crier::client::chunked_decoder d;
    outcome out;
    for (const auto chunk : chunks) {
        std::size_t consumed = 0;
        out.error = d.decode(chunk, consumed, [&](std::string_view s) {
            CRIER_FUZZ_CHECK(s.data() >= chunk.data() &&
                             s.data() + s.size() <= chunk.data() + chunk.size());
            out.payload.append(s);
        });
        if (out.error) break;
        CRIER_FUZZ_CHECK(consumed <= chunk.size());
        out.consumed += consumed;
        if (d.done()) break;
        CRIER_FUZZ_CHECK(consumed == chunk.size());  // not done: everything is body
    }
    out.done = d.done();
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider fdp(data, size);
    const std::string bytes = fdp.ConsumeRandomLengthString(size);
    const auto chunks = crier::fuzz::split(bytes, fdp);
    const outcome whole = run({bytes});
    for (const outcome& o : {run(chunks), run(crier::fuzz::bytewise(bytes))}) {
        CRIER_FUZZ_CHECK(o.payload == whole.payload);
        CRIER_FUZZ_CHECK(o.error == whole.error);
        CRIER_FUZZ_CHECK(o.done == whole.done);
        if (!whole.error) CRIER_FUZZ_CHECK(o.consumed == whole.consumed);
    }
    // The payload is never longer than the input, and the body never exceeds it.
    CRIER_FUZZ_CHECK(whole.payload.size() <= bytes.size());
    return 0;
}
