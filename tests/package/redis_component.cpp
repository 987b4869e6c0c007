// SPDX-License-Identifier: MIT
// Built by the find_package consumer when the redis component is installed: proves crier::redis
// carries its header and hiredis. Runs without a Redis (it only parses a URL).
#include <crier/backplane/redis.hpp>

int main() {
    const auto url = crier::parse_redis_url("redis://:pw@127.0.0.1:6379/1");
    return url && url->db == 1 ? 0 : 1;
}
