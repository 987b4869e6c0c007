# vcpkg port for crier: header-only; each feature adds one component (see usage). Its build
# settings live in options.cmake, which crier's tests read too (tests/package/vcpkg_port.cmake).
include("${CMAKE_CURRENT_LIST_DIR}/options.cmake")

# Header-only: one configuration is enough, and there is no debug tree to fix up. The package
# has include/ and share/ and no libraries, which vcpkg's checks accept without a policy.
set(VCPKG_BUILD_TYPE release)

# Overlay mode: a local checkout instead of a release archive, either named by CRIER_SOURCE_DIR
# (pass it through with VCPKG_KEEP_ENV_VARS=CRIER_SOURCE_DIR) or the checkout this port sits in
# (packaging/vcpkg/ports/crier). Drop this branch when submitting the port to vcpkg.
get_filename_component(_crier_checkout "${CMAKE_CURRENT_LIST_DIR}/../../../.." ABSOLUTE)
if(DEFINED ENV{CRIER_SOURCE_DIR})
    set(SOURCE_PATH "$ENV{CRIER_SOURCE_DIR}")
elseif(EXISTS "${_crier_checkout}/include/crier/version.hpp")
    set(SOURCE_PATH "${_crier_checkout}")
else()
    vcpkg_from_github(
        OUT_SOURCE_PATH SOURCE_PATH
        # PLACEHOLDER: crier's GitHub repository, owner/name.
        REPO OWNER/crier
        REF "v${VERSION}"
        # PLACEHOLDER: the first install of the tagged release prints the real SHA512.
        SHA512 0
        HEAD_REF main
    )
endif()

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS FEATURES ${CRIER_PORT_FEATURES})

vcpkg_cmake_configure(
    SOURCE_PATH "${SOURCE_PATH}"
    OPTIONS ${CRIER_PORT_OPTIONS} ${FEATURE_OPTIONS}
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(CONFIG_PATH "${CRIER_PORT_CONFIG_PATH}")

foreach(_crier_path IN LISTS CRIER_PORT_REMOVE)
    file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/${_crier_path}")
endforeach()

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
