# cmake -DCRIER_SOURCE_DIR=… -DWORK_DIR=… -DPYTHON=… -DGENERATOR=… -DCXX=… -DBUILD_TYPE=…
#       -P conan_build.cmake
# The Conan recipe's build, as far as it is crier's: configures crier with exactly the cache
# variables the recipe's generate() sets (compiled, every component; printed by
# check_conanfile.py), builds libcrier, installs it, and checks the install against the
# recipe's package() and package_info(): libcrier where `libs = ["crier"]` finds it, every
# component's header, crier's own CMake files only where package() deletes them. A consumer
# then builds against the install with crier's own config, asking for every component.
# Conan itself (its toolchain, CMakeDeps, the ConanCenter dependencies) is not run here.
cmake_minimum_required(VERSION 3.25)

include("${CMAKE_CURRENT_LIST_DIR}/run_command.cmake")

run("${PYTHON}" "${CMAKE_CURRENT_LIST_DIR}/check_conanfile.py" "${CRIER_SOURCE_DIR}" --cache-args)
string(STRIP "${out}" _cache)
string(REPLACE "\n" ";" _cache "${_cache}")

file(REMOVE_RECURSE "${WORK_DIR}")
set(_build "${WORK_DIR}/build")
set(_pkg "${WORK_DIR}/package")
# CMakeToolchain's defaults for shared=False, fPIC=True, build_type=Release.
run("${CMAKE_COMMAND}" -S "${CRIER_SOURCE_DIR}" -B "${_build}" -G "${GENERATOR}"
    "-DCMAKE_CXX_COMPILER=${CXX}" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON ${_cache})
if(err MATCHES "Manually-specified variables were not used by the project:\n\n(( +[^\n]+\n)+)")
  message(FATAL_ERROR "the recipe sets variables crier does not use:\n${CMAKE_MATCH_1}")
endif()
run("${CMAKE_COMMAND}" --build "${_build}")
run("${CMAKE_COMMAND}" --install "${_build}" --prefix "${_pkg}")

foreach(_file lib/libcrier.a lib/cmake/crier/crierConfig.cmake include/crier/crier.hpp
              include/crier/adapters/jwt.hpp include/crier/adapters/tls.hpp
              include/crier/adapters/beast.hpp include/crier/adapters/httplib.hpp
              include/crier/backplane/redis.hpp)
  if(NOT EXISTS "${_pkg}/${_file}")
    message(FATAL_ERROR "the compiled install lacks ${_file}")
  endif()
endforeach()
file(GLOB_RECURSE _stray RELATIVE "${_pkg}" "${_pkg}/share/*")
list(FILTER _stray EXCLUDE REGEX "^share/doc/")
if(_stray)
  message(FATAL_ERROR "installed outside what package() keeps or deletes: ${_stray}")
endif()

set(_consumer "${WORK_DIR}/consumer")
run("${CMAKE_COMMAND}" -S "${CMAKE_CURRENT_LIST_DIR}/port_consumer" -B "${_consumer}-find"
    -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX}" "-DCMAKE_PREFIX_PATH=${_pkg}" -DFIND_ONLY=ON
    "-DCRIER_COMPONENTS=jwt,tls,beast,httplib,redis")
build_and_run_consumer("${CMAKE_CURRENT_LIST_DIR}/port_consumer" "${_consumer}"
                       "-DCMAKE_PREFIX_PATH=${_pkg}")
message(STATUS "Conan recipe's build: ok")
