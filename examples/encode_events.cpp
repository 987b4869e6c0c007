// SPDX-License-Identifier: MIT
// Encodes a few module events the way crier puts them on the wire, then parses them back as a
// browser would. Run it to see the exact bytes of a text/event-stream.
#include <crier/crier.hpp>

#include <cstdio>
#include <string>

int main() {
    const crier::sse::event_id first{0x3f9a1c, 1041};
    struct sample {
        const char* type;
        const char* data;
    };
    const sample samples[] = {
        {"horses:created", R"({"id":17,"name":"Bucephalus"})"},
        {"tasks:completed", R"({"id":4,"title":"Shoe the mare"})"},
        {"finance:invoice:paid", "multi-line\npayload"},
    };

    std::string stream;
    crier::sse::append_comment(stream, "crier demo stream");
    std::uint64_t seq = first.seq;
    for (const auto& s : samples) {
        const std::string id = crier::sse::to_string({first.epoch, ++seq});
        if (auto ec =
                crier::sse::append_event(stream, {.id = id, .type = s.type, .data = s.data})) {
            std::fprintf(stderr, "encode failed: %s\n", ec.message().c_str());
            return 1;
        }
    }
    std::printf("--- wire bytes (%zu) ---\n%s", stream.size(), stream.c_str());

    std::printf("--- as a browser's EventSource sees them ---\n");
    crier::sse::parser parser;
    const auto ec = parser.feed(stream, [](const crier::sse::event& e) {
        std::printf("type=%.*s id=%.*s data=%.*s\n", static_cast<int>(e.type.size()), e.type.data(),
                    static_cast<int>(e.last_event_id.size()), e.last_event_id.data(),
                    static_cast<int>(e.data.size()), e.data.data());
    });
    if (ec) {
        std::fprintf(stderr, "parse failed: %s\n", ec.message().c_str());
        return 1;
    }
    return 0;
}
