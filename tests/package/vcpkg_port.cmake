# cmake -DCRIER_SOURCE_DIR=… -DWORK_DIR=… -DFEATURES=<jwt,tls,…> -DGENERATOR=… -DCXX=…
#       -DBUILD_TYPE=… -P vcpkg_port.cmake
# Runs the vcpkg port (packaging/vcpkg/ports/crier/portfile.cmake) as vcpkg would, with the
# requested features, against this checkout: vcpkg's functions are stood in for below by the same
# configure → build → install steps, options and file moves that vcpkg performs (see
# vcpkg_cmake_configure.cmake and vcpkg_cmake_config_fixup.cmake in microsoft/vcpkg). Then checks
# the package the way vcpkg's post-build checks and a user would: it has what `usage` promises,
# none of what the port deletes, the license, the config where the fixup expects it, no absolute
# paths; a consumer builds and runs a program per installed target; a wrong version and a missing
# component fail find_package with a message.
cmake_minimum_required(VERSION 3.25)
string(REPLACE "," ";" FEATURES "${FEATURES}")
set(_port_dir "${CRIER_SOURCE_DIR}/packaging/vcpkg/ports/crier")

function(fail)
  list(JOIN ARGN " " _text)  # a list in the message arrives split: show it space-separated
  message(FATAL_ERROR "vcpkg port (${FEATURES_NAME}): ${_text}")
endfunction()
if(FEATURES)
  list(JOIN FEATURES "," FEATURES_NAME)
  set(FEATURES_NAME "features ${FEATURES_NAME}")
else()
  set(FEATURES_NAME "no features")
endif()

include("${CMAKE_CURRENT_LIST_DIR}/run_command.cmake")
set(run_context "vcpkg port (${FEATURES_NAME}): ")

# --- The port's metadata agrees with itself and with version.hpp. ---------------------------
include("${_port_dir}/options.cmake")
include("${CRIER_SOURCE_DIR}/cmake/crier-version.cmake")
crier_read_version(_crier_version)
file(READ "${_port_dir}/vcpkg.json" _manifest)
string(JSON _manifest_version GET "${_manifest}" version-semver)
if(NOT _manifest_version STREQUAL _crier_version)
  fail("vcpkg.json says version ${_manifest_version}, include/crier/version.hpp ${_crier_version}")
endif()
string(JSON _count LENGTH "${_manifest}" features)
set(_manifest_features "")
math(EXPR _last "${_count} - 1")
foreach(_i RANGE ${_last})
  string(JSON _name MEMBER "${_manifest}" features ${_i})
  list(APPEND _manifest_features ${_name})
endforeach()
set(_option_features "")
set(_pairs ${CRIER_PORT_FEATURES})
while(_pairs)
  list(POP_FRONT _pairs _feature _option)
  list(APPEND _option_features ${_feature})
endwhile()
list(SORT _manifest_features)
list(SORT _option_features)
if(NOT _manifest_features STREQUAL _option_features)
  fail("vcpkg.json's features (${_manifest_features}) are not options.cmake's (${_option_features})")
endif()

# --- vcpkg's functions, as vcpkg runs them (x64-linux, static linkage). ---------------------
set(PORT crier)
set(VERSION "${_manifest_version}")
set(TARGET_TRIPLET x64-linux)
set(CURRENT_PACKAGES_DIR "${WORK_DIR}/packages/crier_x64-linux")
set(CURRENT_BUILDTREES_DIR "${WORK_DIR}/buildtrees/crier")
set(ENV{CRIER_SOURCE_DIR} "${CRIER_SOURCE_DIR}")
file(REMOVE_RECURSE "${WORK_DIR}")

function(vcpkg_from_github)
  fail("the port downloaded its source although CRIER_SOURCE_DIR names a checkout")
endfunction()

function(vcpkg_check_features)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "OUT_FEATURE_OPTIONS" "FEATURES")
  set(_result "")
  set(_pairs ${arg_FEATURES})
  while(_pairs)
    list(POP_FRONT _pairs _feature _option)
    if(_feature IN_LIST FEATURES)
      list(APPEND _result "-D${_option}=ON")
    else()
      list(APPEND _result "-D${_option}=OFF")
    endif()
  endwhile()
  set(${arg_OUT_FEATURE_OPTIONS} "${_result}" PARENT_SCOPE)
endfunction()

# vcpkg_cmake_configure: one build tree per configuration (release only when VCPKG_BUILD_TYPE
# says so), Ninja, vcpkg's own cache settings, and an error for any option the port passes that
# the project does not use (vcpkg prints those as a warning the port must fix).
function(vcpkg_cmake_configure)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "SOURCE_PATH" "OPTIONS;OPTIONS_RELEASE;OPTIONS_DEBUG")
  set(_configs rel)
  if(NOT VCPKG_BUILD_TYPE STREQUAL "release")
    list(APPEND _configs dbg)
  endif()
  foreach(_config IN LISTS _configs)
    set(_dir "${CURRENT_BUILDTREES_DIR}/${TARGET_TRIPLET}-${_config}")
    if(_config STREQUAL "rel")
      set(_type Release)
      set(_prefix "${CURRENT_PACKAGES_DIR}")
      set(_extra ${arg_OPTIONS_RELEASE})
    else()
      set(_type Debug)
      set(_prefix "${CURRENT_PACKAGES_DIR}/debug")
      set(_extra ${arg_OPTIONS_DEBUG})
    endif()
    run("${CMAKE_COMMAND}" -S "${arg_SOURCE_PATH}" -B "${_dir}" -G Ninja
        "-DCMAKE_CXX_COMPILER=${CXX}" "-DCMAKE_BUILD_TYPE=${_type}"
        "-DCMAKE_INSTALL_PREFIX=${_prefix}" -DBUILD_SHARED_LIBS=OFF
        -DFETCHCONTENT_FULLY_DISCONNECTED=ON -DCMAKE_EXPORT_NO_PACKAGE_REGISTRY=ON
        -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
        -DCMAKE_FIND_PACKAGE_NO_SYSTEM_PACKAGE_REGISTRY=ON
        -DCMAKE_INSTALL_SYSTEM_RUNTIME_LIBS_SKIP=TRUE
        -DCMAKE_ERROR_ON_ABSOLUTE_INSTALL_DESTINATION=ON
        -DCMAKE_INSTALL_LIBDIR:STRING=lib -DCMAKE_INSTALL_BINDIR:STRING=bin
        ${arg_OPTIONS} ${_extra})
    if(err MATCHES "Manually-specified variables were not used by the project:\n\n(( +[^\n]+\n)+)")
      string(REGEX MATCHALL "[A-Za-z_0-9]+" _unused "${CMAKE_MATCH_1}")
      foreach(_option IN LISTS arg_OPTIONS _extra)
        if(_option MATCHES "^-D([^:=]+)" AND CMAKE_MATCH_1 IN_LIST _unused)
          fail("the port passes ${CMAKE_MATCH_1}, which crier does not use")
        endif()
      endforeach()
    endif()
    if(out MATCHES "crier: crier::[a-z]+ off")
      fail("configure turned a component off by itself (AUTO is not for packages):\n${out}")
    endif()
  endforeach()
  set(CRIER_PORT_CONFIGS ${_configs} PARENT_SCOPE)
endfunction()

function(vcpkg_cmake_install)
  foreach(_config IN LISTS CRIER_PORT_CONFIGS)
    run("${CMAKE_COMMAND}" --build "${CURRENT_BUILDTREES_DIR}/${TARGET_TRIPLET}-${_config}"
        --target install)
  endforeach()
endfunction()

# vcpkg_cmake_config_fixup: the config must be where CONFIG_PATH says; it is moved to
# share/<port> (a no-op when it is already there) and the debug tree's copy is dropped.
function(vcpkg_cmake_config_fixup)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "PACKAGE_NAME;CONFIG_PATH" "")
  if(NOT arg_PACKAGE_NAME)
    set(arg_PACKAGE_NAME "${PORT}")
  endif()
  if(NOT arg_CONFIG_PATH)
    set(arg_CONFIG_PATH "share/${arg_PACKAGE_NAME}")
  endif()
  set(_from "${CURRENT_PACKAGES_DIR}/${arg_CONFIG_PATH}")
  set(_to "${CURRENT_PACKAGES_DIR}/share/${arg_PACKAGE_NAME}")
  if(NOT EXISTS "${_from}/${arg_PACKAGE_NAME}Config.cmake")
    fail("vcpkg_cmake_config_fixup: no ${arg_CONFIG_PATH}/${arg_PACKAGE_NAME}Config.cmake")
  endif()
  if(NOT _from STREQUAL _to)
    file(GLOB _files "${_from}/*")
    file(COPY ${_files} DESTINATION "${_to}")
    file(REMOVE_RECURSE "${_from}")
  endif()
  file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug/${arg_CONFIG_PATH}")
endfunction()

function(vcpkg_install_copyright)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "" "FILE_LIST")
  set(_text "")
  foreach(_file IN LISTS arg_FILE_LIST)
    file(READ "${_file}" _one)
    string(APPEND _text "${_one}")
  endforeach()
  file(WRITE "${CURRENT_PACKAGES_DIR}/share/${PORT}/copyright" "${_text}")
endfunction()

include("${_port_dir}/portfile.cmake")
set(_pkg "${CURRENT_PACKAGES_DIR}")

# --- The package. ----------------------------------------------------------------------------
foreach(_path IN LISTS CRIER_PORT_REMOVE)
  if(EXISTS "${_pkg}/${_path}")
    fail("the package still has ${_path}, which the port deletes")
  endif()
endforeach()
foreach(_file share/crier/crierConfig.cmake share/crier/crierConfigVersion.cmake
              share/crier/crierTargets.cmake share/crier/usage share/crier/copyright
              include/crier/crier.hpp include/crier/version.hpp)
  if(NOT EXISTS "${_pkg}/${_file}")
    fail("the package lacks ${_file}")
  endif()
endforeach()
file(READ "${CRIER_SOURCE_DIR}/LICENSE" _license)
file(READ "${_pkg}/share/crier/copyright" _copyright)
if(NOT _copyright STREQUAL _license)
  fail("share/crier/copyright is not LICENSE")
endif()
if(EXISTS "${_pkg}/lib" OR EXISTS "${_pkg}/bin" OR EXISTS "${_pkg}/debug")
  fail("a header-only package has lib/, bin/ or debug/")
endif()
file(GLOB_RECURSE _dirs LIST_DIRECTORIES true "${_pkg}/*")
foreach(_dir IN LISTS _dirs)
  file(GLOB _entries "${_dir}/*")
  if(IS_DIRECTORY "${_dir}" AND NOT _entries)
    fail("empty directory in the package (vcpkg refuses those): ${_dir}")
  endif()
endforeach()
file(GLOB_RECURSE _share "${_pkg}/share/*")
foreach(_file IN LISTS _share)
  file(READ "${_file}" _text)
  foreach(_abs "${WORK_DIR}" "${CRIER_SOURCE_DIR}")
    string(FIND "${_text}" "${_abs}" _at)
    if(NOT _at EQUAL -1)
      fail("${_file} contains the absolute path ${_abs}")
    endif()
  endforeach()
endforeach()

# Every target `usage` names is a feature of the port (or crier::crier), and every feature has
# its line; a feature's component is installed exactly when the feature is on, header included.
file(READ "${_port_dir}/usage" _usage)
string(REGEX MATCHALL "crier::[a-z_]+" _promised "${_usage}")
list(TRANSFORM _promised REPLACE "^crier::" "")
list(REMOVE_DUPLICATES _promised)
list(REMOVE_ITEM _promised crier)
list(SORT _promised)
if(NOT _promised STREQUAL _option_features)
  fail("usage names the components (${_promised}), the port has the features (${_option_features})")
endif()
set(_header_jwt adapters/jwt.hpp)
set(_header_tls adapters/tls.hpp)
set(_header_beast adapters/beast.hpp)
set(_header_httplib adapters/httplib.hpp)
set(_header_redis backplane/redis.hpp)
foreach(_c IN LISTS _promised)
  if(NOT DEFINED _header_${_c})
    fail("this test does not know component ${_c}'s header")
  endif()
  set(_targets "${_pkg}/share/crier/crier-${_c}Targets.cmake")
  set(_header "${_pkg}/include/crier/${_header_${_c}}")
  if(_c IN_LIST FEATURES AND NOT (EXISTS "${_targets}" AND EXISTS "${_header}"))
    fail("feature ${_c} is on, but crier::${_c} or its header was not installed")
  elseif(NOT _c IN_LIST FEATURES AND (EXISTS "${_targets}" OR EXISTS "${_header}"))
    fail("feature ${_c} is off, but crier::${_c} or its header was installed")
  endif()
endforeach()

# --- A consumer, as the usage file tells it. -------------------------------------------------
string(REGEX MATCH "^[0-9]+\\.[0-9]+" _major_minor "${_crier_version}")
set(_consumer "${WORK_DIR}/consumer")
function(find_crier out_rc)  # find_package only; extra -D arguments follow
  file(REMOVE_RECURSE "${_consumer}-find")
  execute_process(COMMAND "${CMAKE_COMMAND}" -S "${CMAKE_CURRENT_LIST_DIR}/port_consumer"
                          -B "${_consumer}-find" -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX}"
                          "-DCMAKE_PREFIX_PATH=${_pkg}" -DFIND_ONLY=ON ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(${out_rc} ${rc} PARENT_SCOPE)
  set(out "${out}\n${err}" PARENT_SCOPE)
endfunction()

list(JOIN FEATURES "," _features_commas)  # a ; list would become separate arguments
build_and_run_consumer("${CMAKE_CURRENT_LIST_DIR}/port_consumer" "${_consumer}"
                       "-DCMAKE_PREFIX_PATH=${_pkg}" "-DCRIER_COMPONENTS=${_features_commas}"
                       "-DCRIER_VERSION_WANTED=${_major_minor}")
foreach(_c IN LISTS FEATURES)
  run("${_consumer}/consumer-${_c}")
endforeach()

# SameMinorVersion: the same major.minor is accepted, any other minor refused.
string(REGEX MATCH "^([0-9]+)\\.([0-9]+)" _ "${_crier_version}")
math(EXPR _next "${CMAKE_MATCH_2} + 1")
set(_other_minors "${CMAKE_MATCH_1}.${_next}")
if(CMAKE_MATCH_2 GREATER 0)
  math(EXPR _previous "${CMAKE_MATCH_2} - 1")
  list(APPEND _other_minors "${CMAKE_MATCH_1}.${_previous}")
endif()
foreach(_wanted IN LISTS _other_minors)
  find_crier(rc "-DCRIER_VERSION_WANTED=${_wanted}")
  if(rc EQUAL 0 OR NOT out MATCHES "version: ${_crier_version}")
    fail("find_package(crier ${_wanted}) did not fail on crier ${_crier_version}:\n${out}")
  endif()
endforeach()

# A component the package lacks fails find_package, saying why.
set(_absent "")
foreach(_c IN LISTS _promised)
  if(NOT _c IN_LIST FEATURES)
    list(APPEND _absent ${_c})
  endif()
endforeach()
foreach(_c IN LISTS _absent ITEMS no_such_component)
  find_crier(rc "-DCRIER_COMPONENTS=${_c}")
  if(rc EQUAL 0 OR NOT out MATCHES "crier components not available: ${_c} \\(")
    fail("find_package(crier COMPONENTS ${_c}) did not fail with a reason:\n${out}")
  endif()
endforeach()
message(STATUS "vcpkg port with ${FEATURES_NAME}: ok")
