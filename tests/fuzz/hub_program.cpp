// SPDX-License-Identifier: MIT
// Hub publish/subscribe/drain sequences: the input is a program of operations on a hub with small
// limits (history, queues, rate limit on or off, overflow policy). Oracle, per subscription still
// open at the end: the events it received (batch items unpacked) are accepted events on its
// channels, each once, in increasing id order, with the published type and data; and unless a
// `resync` said why, every accepted event on its channels after its starting point arrived.
// A held event has no id when it is published (it takes one when its batch is flushed): what
// each seq carries is recorded where it is assigned, by a window on the hub's backplane.
#include <crier/core/backplane.hpp>
#include <crier/core/hub.hpp>
#include <crier/sse/event_id.hpp>
#include <crier/sse/parser.hpp>

#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "fuzz_support.hpp"

namespace {

// CRIER_FUZZ_TRACE=1 prints the program and what each subscription received (to reproduce a
// failure by hand: crier_fuzz_hub_program <crash file>).
const bool trace = std::getenv("CRIER_FUZZ_TRACE") != nullptr;

const std::string channel_names[] = {"a", "b", "c", "user:u"};

struct published {
    unsigned mask = 0;  // channels, one bit each
    std::string type, data;
    std::string wire_data;  // as an SSE event carries it (line ends as LF)
};

/// The in-process backplane, recording what it orders: seq -> the event (a `batch`'s items take
/// the seqs just below its own, in the array's order; the batch itself is not recorded).
class recording_backplane final : public crier::backplane {
public:
    [[nodiscard]] std::uint64_t epoch() const noexcept override { return inner_.epoch(); }
    [[nodiscard]] crier::sse::event_id last_id() const noexcept override {
        return inner_.last_id();
    }
    void attach(crier::backplane_sink* sink) noexcept override { inner_.attach(sink); }
    std::error_code publish(crier::backplane_event& e) noexcept override {
        if (auto ec = inner_.publish(e)) return ec;
        unsigned mask = 0;
        for (std::string_view c : e.channels) {
            for (unsigned i = 0; i < 4; ++i) {
                if (c == channel_names[i]) mask |= 1u << i;
            }
        }
        std::lock_guard lock(mutex_);
        if (e.items == 0) {
            ordered[e.id.seq] = make(mask, std::string(e.type), std::string(e.data));
            return {};
        }
        simdjson::dom::parser json;
        simdjson::dom::array items;
        CRIER_FUZZ_CHECK(!json.parse(e.data).get_array().get(items));
        std::uint64_t seq = e.id.seq - e.items;
        for (auto item : items) {
            std::string_view type, data;
            CRIER_FUZZ_CHECK(item["id"].error());  // the sink writes ids in; none cross
            CRIER_FUZZ_CHECK(!item["type"].get_string().get(type));
            CRIER_FUZZ_CHECK(!item["data"].get_string().get(data));
            ordered[seq++] = make(mask, std::string(type), std::string(data));
        }
        CRIER_FUZZ_CHECK(seq == e.id.seq);  // items count and data agree
        return {};
    }

    std::map<std::uint64_t, published> ordered;  // by seq; guarded by mutex_

private:
    static published make(unsigned mask, std::string type, std::string text) {
        // SSE has no way to carry a CR: the encoder splits lines at CR, LF and CRLF, so a reader
        // gets each line end back as LF.
        std::string expected;
        for (std::size_t i = 0; i < text.size(); ++i) {
            if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
            expected.push_back(text[i] == '\r' ? '\n' : text[i]);
        }
        return {mask, std::move(type), std::move(text), std::move(expected)};
    }

    crier::in_process_backplane inner_;
    std::mutex mutex_;
};

struct subscriber {
    crier::subscription sub;
    unsigned mask = 0;
    std::uint64_t start = 0;  // events after this seq must all arrive (unless resync)
    crier::sse::parser parser;
    std::vector<std::uint64_t> received;  // event seqs, batch items unpacked
    std::vector<std::pair<std::string, std::string>> contents;
    std::vector<bool> in_batch;  // a batch item (its data is a JSON string: exact)
    bool resync = false;
};

void drain(subscriber& s, std::uint64_t epoch) {
    std::vector<crier::sse::frame> frames;
    s.sub.drain(frames);
    for (const auto& f : frames) {
        CRIER_FUZZ_CHECK(f && !f->empty());
        const auto ec = s.parser.feed(*f, [&](const crier::sse::event& e) {
            if (e.type == "resync") {
                s.resync = true;
                return;
            }
            if (e.type == "batch") {
                simdjson::dom::parser json;
                simdjson::dom::array items;
                CRIER_FUZZ_CHECK(!json.parse(e.data).get_array().get(items));
                for (auto item : items) {
                    std::string_view id, type, data;
                    CRIER_FUZZ_CHECK(!item["id"].get_string().get(id));
                    CRIER_FUZZ_CHECK(!item["type"].get_string().get(type));
                    CRIER_FUZZ_CHECK(!item["data"].get_string().get(data));
                    const auto parsed = crier::sse::parse_event_id(id);
                    CRIER_FUZZ_CHECK(parsed && parsed->epoch == epoch);
                    s.received.push_back(parsed->seq);
                    s.contents.emplace_back(type, data);
                    s.in_batch.push_back(true);
                }
                return;
            }
            const auto parsed = crier::sse::parse_event_id(e.last_event_id);
            CRIER_FUZZ_CHECK(parsed && parsed->epoch == epoch);
            s.received.push_back(parsed->seq);
            s.contents.emplace_back(e.type, e.data);
            s.in_batch.push_back(false);
        });
        CRIER_FUZZ_CHECK(!ec);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider fdp(data, size);
    const bool rate_limited = fdp.ConsumeBool();
    auto backplane = std::make_shared<recording_backplane>();
    crier::hub hub({.history_size = fdp.ConsumeIntegralInRange<std::size_t>(1, 6),
                    .queue_frames = fdp.ConsumeIntegralInRange<std::size_t>(1, 16),
                    .overflow = fdp.ConsumeBool() ? crier::overflow_policy::drop_oldest
                                                  : crier::overflow_policy::disconnect,
                    .rate_limit = rate_limited ? fdp.ConsumeIntegralInRange<std::size_t>(1, 3) : 0,
                    .rate_window = std::chrono::hours(1),
                    .max_batch_events = fdp.ConsumeIntegralInRange<std::size_t>(1, 5),
                    .max_connections_per_user = 2,
                    .backplane = backplane});
    const std::uint64_t epoch = hub.current_id().epoch;
    const std::map<std::uint64_t, published>& accepted = backplane->ordered;  // by seq
    std::set<std::string> published_texts;  // every publish the hub accepted, held or not
    std::vector<std::unique_ptr<subscriber>> subs;
    std::vector<std::string> ids_seen;  // for Last-Event-ID

    for (int steps = 0; steps < 64 && fdp.remaining_bytes() > 0; ++steps) {
        switch (fdp.ConsumeIntegralInRange(0, 5)) {
            case 0:
            case 1: {  // publish on a non-empty channel set
                const unsigned mask = fdp.ConsumeIntegralInRange(1u, 15u);
                std::vector<std::string_view> channels;
                for (unsigned i = 0; i < 4; ++i) {
                    if (mask & (1u << i)) channels.emplace_back(channel_names[i]);
                }
                const std::string type = fdp.ConsumeBool() ? "horses:created" : "t";
                const std::string text = "e" + std::to_string(published_texts.size()) + "\n" +
                                         fdp.ConsumeRandomLengthString(8);
                const auto r = hub.publish(std::span<const std::string_view>(channels), type, text);
                if (r.error) break;  // refused (e.g. invalid UTF-8): nothing to deliver
                CRIER_FUZZ_CHECK(!r.duplicate);
                published_texts.insert(text);
                if (trace)
                    std::fprintf(stderr, "publish mask=%u seq=%llu held=%d\n", mask,
                                 static_cast<unsigned long long>(r.id.seq), r.held);
                if (r.held) {  // its id comes with its batch's flush
                    CRIER_FUZZ_CHECK(r.id == crier::sse::event_id{});
                    break;
                }
                // Sequenced now: the newest seq, carrying this event.
                CRIER_FUZZ_CHECK(r.id.epoch == epoch && !accepted.empty());
                CRIER_FUZZ_CHECK(accepted.rbegin()->first == r.id.seq);
                CRIER_FUZZ_CHECK(accepted.rbegin()->second.data == text);
                ids_seen.push_back(r.id_text());
                break;
            }
            case 2: {  // subscribe, fresh or resuming
                auto s = std::make_unique<subscriber>();
                s->mask = fdp.ConsumeIntegralInRange(1u, 15u);
                crier::subscribe_options options;
                for (unsigned i = 0; i < 4; ++i) {
                    if (s->mask & (1u << i)) options.channels.push_back(channel_names[i]);
                }
                options.user_id = fdp.ConsumeBool() ? "u" : "";
                s->start = hub.current_id().seq;
                switch (fdp.ConsumeIntegralInRange(0, 3)) {
                    case 0:
                        break;
                    case 1:
                        if (!ids_seen.empty()) {
                            options.last_event_id =
                                ids_seen[fdp.ConsumeIntegralInRange<std::size_t>(
                                    0, ids_seen.size() - 1)];
                            s->start = crier::sse::parse_event_id(options.last_event_id)->seq;
                        }
                        break;
                    case 2:
                        options.last_event_id = "ffff-1";
                        break;  // foreign epoch: resync
                    default:
                        options.last_event_id = fdp.ConsumeRandomLengthString(12);
                        break;
                }
                std::error_code ec;
                s->sub = hub.subscribe(std::move(options), ec);
                if (trace) {
                    std::fprintf(stderr, "subscribe #%zu mask=%u start=%llu ec=%s\n", subs.size(),
                                 s->mask, static_cast<unsigned long long>(s->start),
                                 ec.message().c_str());
                }
                if (ec) break;  // refused (per-user cap, bad id): nothing promised
                subs.push_back(std::move(s));
                break;
            }
            case 3:
                if (!subs.empty()) {
                    drain(*subs[fdp.ConsumeIntegralInRange<std::size_t>(0, subs.size() - 1)],
                          epoch);
                }
                break;
            case 4:
                if (!subs.empty()) {
                    subs.erase(subs.begin() +
                               static_cast<std::ptrdiff_t>(
                                   fdp.ConsumeIntegralInRange<std::size_t>(0, subs.size() - 1)));
                }
                break;
            default:
                if (trace) std::fprintf(stderr, "flush_batches\n");
                hub.flush_batches();
                break;
        }
    }
    hub.flush_batches();
    // Every accepted publish, held or not, took exactly one seq.
    {
        std::set<std::string> sequenced;
        for (const auto& [seq, ev] : accepted) {
            if (ev.type != "batch") CRIER_FUZZ_CHECK(sequenced.insert(ev.data).second);
        }
        CRIER_FUZZ_CHECK(sequenced == published_texts);
    }
    for (auto& s : subs) {
        drain(*s, epoch);
        if (trace) {
            std::fprintf(stderr, "sub mask=%u start=%llu resync=%d closed=%d received:", s->mask,
                         static_cast<unsigned long long>(s->start), s->resync,
                         static_cast<bool>(s->sub.closed()));
            for (auto seq : s->received)
                std::fprintf(stderr, " %llu", static_cast<unsigned long long>(seq));
            std::fprintf(stderr, "\n");
        }
        if (s->sub.closed()) continue;  // closed (overflow): the client reconnects and resumes
        // Each once, in increasing id order, accepted on a channel of this subscription, with
        // its type and data.
        for (std::size_t i = 0; i < s->received.size(); ++i) {
            const std::uint64_t seq = s->received[i];
            if (i > 0) CRIER_FUZZ_CHECK(s->received[i - 1] < seq);
            const auto it = accepted.find(seq);
            CRIER_FUZZ_CHECK(it != accepted.end());
            CRIER_FUZZ_CHECK((it->second.mask & s->mask) != 0);
            CRIER_FUZZ_CHECK(s->contents[i].first == it->second.type);
            CRIER_FUZZ_CHECK(s->contents[i].second ==
                             (s->in_batch[i] ? it->second.data : it->second.wire_data));
        }
        if (s->resync) continue;  // loss, said loudly
        const std::set<std::uint64_t> got(s->received.begin(), s->received.end());
        for (const auto& [seq, ev] : accepted) {
            if (seq > s->start && (ev.mask & s->mask) != 0) CRIER_FUZZ_CHECK(got.contains(seq));
        }
    }
    return 0;
}
