// SPDX-License-Identifier: MIT
// crier-listen: connects to an SSE endpoint like a browser's EventSource and prints every event.
// A newcomer's first debugging tool:
//
//   crier-listen http://localhost:8080/api/realtime/events -H 'Authorization: Bearer TOKEN'
//   crier-listen http://localhost:8080/api/realtime/events --json | jq .
//
// Events go to stdout (text, or one JSON object per line with --json); connection states go to
// stderr. It reconnects like a browser (Last-Event-ID, retry:, backoff), exits 1 when the server's
// answer means "stop" (204, 4xx/5xx, wrong Content-Type), and exits 0 on Ctrl-C.
#include <crier/client/event_source.hpp>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr const char* usage =
    "usage: crier-listen URL [-H 'Name: value']... [--json] [--last-event-id ID]\n"
    "                        [--cacert FILE] [--insecure]\n"
    "\n"
    "Prints the events of a text/event-stream as a browser's EventSource receives them.\n"
    "  -H, --header 'Name: value'  send a request header (repeatable), e.g. Authorization\n"
    "  --json                      one JSON object per event and line: {\"type\",\"id\",\"data\"}\n"
    "  --last-event-id ID          resume after this event id\n"
    "  --cacert FILE               trust the CA certificates in FILE (https)\n"
    "  --insecure                  do not verify the server's certificate (https)\n";

struct arguments {
    std::string url;
    crier::client::event_source_options options;
    bool json = false;
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// Parses the command line; prints the problem and returns false on a mistake.
bool parse_arguments(int argc, char** argv, arguments& out) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&](std::string_view name) -> const char* {
            if (i + 1 < argc) return argv[++i];
            std::fprintf(stderr, "crier-listen: %.*s needs a value\n",
                         static_cast<int>(name.size()), name.data());
            return nullptr;
        };
        if (arg == "-h" || arg == "--help") {
            std::fputs(usage, stdout);
            std::exit(0);
        } else if (arg == "--json") {
            out.json = true;
        } else if (arg == "--insecure") {
            out.options.tls_verify_peer = false;
        } else if (arg == "--cacert" || arg == "--last-event-id") {
            const char* v = value(arg);
            if (!v) return false;
            (arg == "--cacert" ? out.options.tls_ca_file : out.options.last_event_id) = v;
        } else if (arg == "-H" || arg == "--header" || arg.starts_with("-H")) {
            const char* v = arg.size() > 2 && arg.starts_with("-H") ? argv[i] + 2 : value(arg);
            if (!v) return false;
            const std::string_view header = v;
            const auto colon = header.find(':');
            if (colon == std::string_view::npos || trim(header.substr(0, colon)).empty()) {
                std::fprintf(stderr, "crier-listen: a header is 'Name: value', not '%s'\n", v);
                return false;
            }
            out.options.headers.emplace_back(trim(header.substr(0, colon)),
                                             trim(header.substr(colon + 1)));
        } else if (!arg.empty() && arg.front() == '-') {
            std::fprintf(stderr, "crier-listen: unknown option %s\n\n%s", argv[i], usage);
            return false;
        } else if (out.url.empty()) {
            out.url = arg;
        } else {
            std::fprintf(stderr, "crier-listen: one URL only\n\n%s", usage);
            return false;
        }
    }
    if (out.url.empty()) {
        std::fputs(usage, stderr);
        return false;
    }
    return true;
}

/// Appends `s` as a JSON string literal. The client hands over valid UTF-8 (the SSE parser
/// repairs invalid bytes), so only quotes, backslashes and control characters need escaping.
void append_json_string(std::string& out, std::string_view s) {
    out.push_back('"');
    for (const char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
                    char buffer[8];
                    std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned char>(c));
                    out += buffer;
                } else {
                    out.push_back(c);
                }
        }
    }
    out.push_back('"');
}

void print_event(const crier::client::event& e, bool json) {
    std::string line;
    if (json) {
        line += "{\"type\":";
        append_json_string(line, e.type);
        line += ",\"id\":";
        append_json_string(line, e.id);
        line += ",\"data\":";
        append_json_string(line, e.data);
        line += "}\n";
    } else {
        // `type id` on one line, the data below it, each data line indented.
        line.append(e.type);
        if (!e.id.empty()) line.append("  id=").append(e.id);
        line += "\n  ";
        for (const char c : e.data) {
            line.push_back(c);
            if (c == '\n') line += "  ";
        }
        line += "\n";
    }
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);  // a pipe into jq or grep sees each event at once
}

}  // namespace

int main(int argc, char** argv) {
    arguments args;
    if (!parse_arguments(argc, argv, args)) return 2;

    asio::io_context ioc;
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    crier::client::event_source source(ioc, args.url, args.options);
    int exit_code = 0;

    source.on("*", [&](const crier::client::event& e) { print_event(e, args.json); });
    source.on_resync([&](const crier::client::event& e) {
        std::fprintf(stderr, "crier-listen: resync: events were missed; refetch your state\n");
        print_event(e, args.json);
    });
    source.on_state([&](const crier::client::state_change& s) {
        using crier::client::ready_state;
        switch (s.state) {
            case ready_state::connecting:
                if (!s.error) {
                    std::fprintf(stderr, "crier-listen: connecting to %s\n", args.url.c_str());
                } else {
                    std::fprintf(stderr,
                                 "crier-listen: connection lost (%s); reconnecting in %.3f s\n",
                                 s.error.message().c_str(),
                                 static_cast<double>(s.retry_in.count()) / 1000.0);
                }
                break;
            case ready_state::open:
                std::fprintf(stderr, "crier-listen: open (HTTP %d)\n", s.http_status);
                break;
            case ready_state::closed:
                if (s.http_status != 0) {
                    std::fprintf(stderr, "crier-listen: stopped: %s (HTTP %d)\n",
                                 s.error.message().c_str(), s.http_status);
                } else {
                    std::fprintf(stderr, "crier-listen: stopped: %s\n", s.error.message().c_str());
                }
                exit_code = 1;
                signals.cancel();  // nothing else keeps run() going
                break;
        }
    });
    signals.async_wait([&](std::error_code ec, int) {
        if (ec) return;  // cancelled: the source stopped by itself
        std::fprintf(stderr, "crier-listen: interrupted\n");
        source.close();
    });

    source.start();
    ioc.run();
    return exit_code;
}
