# The crier port's build settings, in one place: portfile.cmake includes this file, and so does
# crier's own port test (tests/package/vcpkg_port.cmake), so the test builds what vcpkg builds.

# Header-only (CRIER_SEPARATE_COMPILATION=OFF), install rules on, nothing else built, no
# downloads (vcpkg passes FETCHCONTENT_FULLY_DISCONNECTED=ON too), https:// in the client off
# (it changes inline definitions for every includer, so a package cannot choose it for them).
set(CRIER_PORT_OPTIONS
    -DCRIER_SEPARATE_COMPILATION=OFF
    -DCRIER_INSTALL=ON
    -DCRIER_INSTALL_CMAKEDIR=share/crier
    -DCRIER_BUILD_TESTS=OFF
    -DCRIER_BUILD_EXAMPLES=OFF
    -DCRIER_BUILD_BENCHMARKS=OFF
    -DCRIER_BUILD_FUZZERS=OFF
    -DCRIER_DEVELOPER_MODE=OFF
    -DCRIER_ALLOW_DOWNLOADS=OFF
    -DCRIER_ENABLE_SSL=OFF)

# vcpkg feature, then the CMake option it turns ON (and OFF when absent): vcpkg_check_features.
set(CRIER_PORT_FEATURES
    jwt CRIER_WITH_JWT
    tls CRIER_WITH_TLS
    beast CRIER_WITH_BEAST
    httplib CRIER_WITH_HTTPLIB
    redis CRIER_WITH_REDIS)

# Where crier installs crierConfig.cmake (CRIER_INSTALL_CMAKEDIR above): vcpkg_cmake_config_fixup.
set(CRIER_PORT_CONFIG_PATH share/crier)

# Removed from the package after install, relative to CURRENT_PACKAGES_DIR: headers and CMake
# files belong to the release tree only, and the license is installed as share/crier/copyright.
set(CRIER_PORT_REMOVE debug/include debug/share share/doc)
