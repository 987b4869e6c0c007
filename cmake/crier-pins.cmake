# Pinned fallback downloads for dependencies that find_package did not find. Each hash is the
# SHA512 of that GitHub release archive (as recorded by vcpkg's ports for the same URL).
# A machine with Debian 12's packages (or vcpkg, or Conan) never uses these.
include_guard(GLOBAL)

set(CRIER_PIN_FMT_URL "https://github.com/fmtlib/fmt/archive/10.2.1.tar.gz")
set(CRIER_PIN_FMT_HASH "SHA512=27df90c681ec37e55625062a79e3b83589b6d7e94eff37a3b412bb8c1473f757a8adb727603acc9185c3490628269216843b7d7bd5a3cb37f0029da5d1495ffa")

set(CRIER_PIN_SIMDJSON_URL "https://github.com/simdjson/simdjson/archive/v3.9.4.tar.gz")
set(CRIER_PIN_SIMDJSON_HASH "SHA512=6fa940ad60b7560d1865806195428ae17f0daf19de803bdb7bd93b0704490994ec3cddc09c9d91f2e70036c6cb34153cdc5c998e7ebee2e4504f6a23944e25c1")

set(CRIER_PIN_ASIO_URL "https://github.com/chriskohlhoff/asio/archive/asio-1-30-2.tar.gz")
set(CRIER_PIN_ASIO_HASH "SHA512=cfba1998d4f666156e751c4cab1e504441b368efbf344e22de30f8b983670a88d045d3ca82f197b95522a2026262274f93bc3061210781ce30c35c71a386ce6e")

set(CRIER_PIN_GTEST_URL "https://github.com/google/googletest/archive/v1.14.0.tar.gz")
set(CRIER_PIN_GTEST_HASH "SHA512=765c326ccc1b87a01027385e69238266e356361cd4ee3e18e3c9d137a5d11fa5d657c164d02dd1be8fe693c8e10f2b580588dbfa57d27f070e2750f50d3e662c")

set(CRIER_PIN_BENCHMARK_URL "https://github.com/google/benchmark/archive/v1.9.0.tar.gz")
set(CRIER_PIN_BENCHMARK_HASH "SHA512=0e91e0e5a2222d7650fd8bd9cafb2f0e7c1689cd1b87b2cc529c738db12bfef31162aa5a4da78f7b0aa7f0101dc08b626802c58d39862458f82f9fea9316ca25")
