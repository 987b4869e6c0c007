// SPDX-License-Identifier: MIT
// Built and run by the find_package consumer when the httplib component is installed: proves
// crier::httplib carries cpp-httplib (headers, its Cflags, the library) to a consumer.
#include <crier/adapters/httplib.hpp>

#include <cstdio>

int main() {
    crier::hub hub;
    crier::adapters::stream_service service(hub);
    crier::adapters::router router(service);
    crier::adapters::httplib_streams streams(service, router);
    httplib::Server svr;
    svr.Get("/api/realtime/.*",
            [&](const httplib::Request& req, httplib::Response& res) { streams.serve(req, res); });
    std::printf("max_streams %zu\n", streams.max_streams());
    return svr.is_valid() && streams.max_streams() >= 1 ? 0 : 1;
}
