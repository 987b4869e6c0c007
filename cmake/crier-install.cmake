# Install rules: headers, the target export and the CMake package (crierConfig.cmake).
include(CMakePackageConfigHelpers)

if(CRIER_SEPARATE_COMPILATION)
  set(_crier_cmake_dir "${CMAKE_INSTALL_LIBDIR}/cmake/crier")
  set(_crier_arch "")
else()
  set(_crier_cmake_dir "${CMAKE_INSTALL_DATADIR}/cmake/crier")
  set(_crier_arch ARCH_INDEPENDENT)  # header-only: the same package on every platform
endif()
set(CRIER_INSTALL_CMAKEDIR "${_crier_cmake_dir}" CACHE STRING
    "Where crierConfig.cmake goes, relative to the install prefix")

install(TARGETS crier EXPORT crierTargets FILE_SET HEADERS)
install(EXPORT crierTargets NAMESPACE crier:: DESTINATION "${CRIER_INSTALL_CMAKEDIR}")
foreach(_c IN LISTS CRIER_COMPONENTS)  # one export set each: only their users need OpenSSL/hiredis
  install(TARGETS crier_${_c} EXPORT crier-${_c}Targets FILE_SET HEADERS)
  install(EXPORT crier-${_c}Targets NAMESPACE crier:: DESTINATION "${CRIER_INSTALL_CMAKEDIR}")
endforeach()
configure_package_config_file(cmake/crierConfig.cmake.in "${PROJECT_BINARY_DIR}/crierConfig.cmake"
                              INSTALL_DESTINATION "${CRIER_INSTALL_CMAKEDIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/crierConfigVersion.cmake"
                                 COMPATIBILITY SameMinorVersion ${_crier_arch})
install(FILES "${PROJECT_BINARY_DIR}/crierConfig.cmake"
              "${PROJECT_BINARY_DIR}/crierConfigVersion.cmake"
              cmake/crier-shims.cmake
        DESTINATION "${CRIER_INSTALL_CMAKEDIR}")
install(FILES LICENSE DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/crier")
