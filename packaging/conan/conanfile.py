"""Conan 2 recipe for crier: `conan create packaging/conan --build=missing`.

Header-only by default (one package id for every configuration); separate_compilation=True
builds libcrier. Each optional component is an option of the same name as crier's CMake
option CRIER_WITH_<NAME> and its target crier::<name>. The version is read from
include/crier/version.hpp, the one place it is defined.
"""

import os
import re

from conan import ConanFile
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load, rmdir

required_conan_version = ">=2.0"

# Each optional component: its Conan requirement, and what crier::<name> links of it
# (package::component, as the dependency's recipe names its components).
COMPONENTS = {
    "jwt": ("openssl/[>=3 <4]", ["openssl::crypto"]),
    "tls": ("openssl/[>=3 <4]", ["openssl::ssl", "openssl::crypto"]),
    "beast": ("boost/1.86.0", ["boost::headers"]),
    "httplib": ("cpp-httplib/0.18.3", ["cpp-httplib::cpp-httplib"]),
    "redis": ("hiredis/1.2.0", ["hiredis::hiredis"]),
}

# crier::crier's own dependencies (the versions crier's FetchContent fallback pins).
CORE_REQUIRES = ["asio/1.30.2", "fmt/10.2.1", "simdjson/3.9.4"]


class CrierConan(ConanFile):
    name = "crier"
    description = "Embeddable C++20 pub/sub delivered as Server-Sent Events"
    license = "MIT"
    # PLACEHOLDER: crier's repository.
    url = "https://github.com/OWNER/crier"
    homepage = "https://github.com/OWNER/crier"
    topics = ("sse", "server-sent-events", "pubsub", "realtime", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {
        "separate_compilation": [True, False],
        "shared": [True, False],
        "fPIC": [True, False],
        **{name: [True, False] for name in COMPONENTS},
    }
    default_options = {
        "separate_compilation": False,
        "shared": False,
        "fPIC": True,
        **{name: False for name in COMPONENTS},
        # crier::beast needs Boost's headers only.
        "boost/*:header_only": True,
    }

    @property
    def _checkout(self):
        # The recipe lives in packaging/conan of crier's checkout.
        return os.path.join(self.recipe_folder, "..", "..")

    def set_version(self):
        text = load(self, os.path.join(self._checkout, "include", "crier", "version.hpp"))
        parts = [
            re.search(rf"#define CRIER_VERSION_{part} (\d+)", text).group(1)
            for part in ("MAJOR", "MINOR", "PATCH")
        ]
        self.version = self.version or ".".join(parts)

    def export_sources(self):
        for pattern in ("CMakeLists.txt", "LICENSE", "cmake/*", "include/*", "src/*"):
            copy(self, pattern, self._checkout, self.export_sources_folder)

    def config_options(self):
        if self.settings.os == "Windows":
            del self.options.fPIC

    def configure(self):
        if not self.options.separate_compilation:
            self.options.rm_safe("shared")
            self.options.rm_safe("fPIC")
        else:
            self.package_type = "library"
            if self.options.shared:
                self.options.rm_safe("fPIC")

    def layout(self):
        cmake_layout(self)

    def validate(self):
        check_min_cppstd(self, 20)

    def requirements(self):
        # crier's public headers include all of these, so consumers need them too.
        refs = list(CORE_REQUIRES)
        for name, (ref, _) in COMPONENTS.items():
            if self.options.get_safe(name) and ref not in refs:
                refs.append(ref)
        for ref in refs:
            self.requires(ref, transitive_headers=True, transitive_libs=True)

    def package_id(self):
        if not self.info.options.separate_compilation:
            self.info.clear()

    def generate(self):
        toolchain = CMakeToolchain(self)
        toolchain.cache_variables.update(
            {
                "CRIER_SEPARATE_COMPILATION": bool(self.options.separate_compilation),
                "CRIER_INSTALL": True,
                "CRIER_BUILD_TESTS": False,
                "CRIER_BUILD_EXAMPLES": False,
                "CRIER_BUILD_BENCHMARKS": False,
                "CRIER_ALLOW_DOWNLOADS": False,
                **{
                    f"CRIER_WITH_{name.upper()}": "ON" if self.options.get_safe(name) else "OFF"
                    for name in COMPONENTS
                },
            }
        )
        toolchain.generate()
        CMakeDeps(self).generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        copy(self, "LICENSE", self.source_folder, os.path.join(self.package_folder, "licenses"))
        CMake(self).install()
        # package_info() describes the package; crier's own CMake files and docs are not needed.
        rmdir(self, os.path.join(self.package_folder, "lib", "cmake"))
        rmdir(self, os.path.join(self.package_folder, "share"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "crier")
        self.cpp_info.set_property("cmake_target_name", "crier::crier_all")
        core = self.cpp_info.components["crier"]
        core.set_property("cmake_target_name", "crier::crier")
        core.requires = ["asio::asio", "fmt::fmt", "simdjson::simdjson"]
        if self.options.separate_compilation:
            core.libs = ["crier"]
            core.defines = ["CRIER_SEPARATE_COMPILATION"]
            if self.options.get_safe("shared"):
                core.defines.append("CRIER_SHARED")
        else:
            core.bindirs = []
            core.libdirs = []
        if self.settings.os in ("Linux", "FreeBSD"):
            core.system_libs = ["pthread"]
        for name, (_, requires) in COMPONENTS.items():
            if not self.options.get_safe(name):
                continue
            component = self.cpp_info.components[name]
            component.set_property("cmake_target_name", f"crier::{name}")
            component.requires = ["crier"] + requires
            component.bindirs = []
            component.libdirs = []
