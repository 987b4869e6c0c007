// SPDX-License-Identifier: MIT
// The hub in five minutes: publish module events, subscribe a "connection", drain it the way a
// transport does, reconnect with Last-Event-ID and get exactly what was missed.
#include <crier/crier.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace {

void write(const char* who, crier::subscription& s) {
    std::vector<crier::sse::frame> frames;
    s.drain(frames);  // everything queued, for one gathered write
    for (const auto& f : frames) std::printf("[%s]\n%s", who, f->c_str());
}

}  // namespace

int main() {
    crier::hub hub({.history_size = 50});  // the seed's defaults otherwise

    // A browser tab of user 42: its private channel plus the horses module.
    auto tab = hub.subscribe({.channels = {"user:42", "horses"}, .user_id = "42"});

    // A request handler publishes; one event reaches user:42 and horses, the tab gets it once.
    auto created = hub.publish_module_event("horses", "created", R"({"id":17})", "42");
    (void)hub.publish_to_user("42", "notes:created", R"({"text":"Vet at 10"})");
    write("tab", tab);

    // The tab drops; meanwhile more happens.
    const std::string last_seen = crier::sse::to_string(hub.current_id());
    tab = {};
    (void)hub.publish_module_event("horses", "updated", R"({"id":17,"name":"Bucephalus"})", "42");

    // It reconnects with Last-Event-ID: the missed event is replayed, then live events follow.
    auto again = hub.subscribe(
        {.channels = {"user:42", "horses"}, .last_event_id = last_seen, .user_id = "42"});
    write("reconnected", again);

    // Publishing the same change twice is caught by its dedup key.
    auto dup = hub.publish("horses", "horses:updated", "{}", {.dedup_key = "horse-17-v2"});
    auto dup2 = hub.publish("horses", "horses:updated", "{}", {.dedup_key = "horse-17-v2"});
    std::printf("first id %s, duplicate=%d of %s\n", created.id_text().c_str(),
                static_cast<int>(dup2.duplicate), dup.id_text().c_str());

    std::printf("%s\n", hub.stats().to_json().c_str());
    return dup2.duplicate ? 0 : 1;
}
