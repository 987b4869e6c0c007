"""Checks packaging/conan/conanfile.py without Conan (not installable here).

Usage: python3 check_conanfile.py <crier checkout> [--cache-args]

With --cache-args, prints instead the CMake cache variables the recipe's generate() sets for a
compiled build with every component, one -DNAME=VALUE per line (conan_build.cmake builds with
them).

Compiles the recipe and its test package, then loads the recipe against a stand-in for the
`conan` module (only what the recipe imports) and runs its methods the way `conan create`
calls them, header-only and compiled, with every component and with none. Fails unless:
the version is version.hpp's (and vcpkg.json's); the components are exactly the
crier_component() targets of CMakeLists.txt; each option sets the CRIER_WITH_<NAME> that
CMakeLists.txt declares; the requirements follow the options; every component's CMake target
is crier::<name>; the package id is cleared exactly when header-only.
"""

import importlib.util
import json
import os
import py_compile
import re
import sys
import types

ROOT = os.path.abspath(sys.argv[1])
RECIPE = os.path.join(ROOT, "packaging", "conan", "conanfile.py")
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


# --- Conan, as far as the recipe uses it. ------------------------------------------------
class Option:
    def __init__(self, value):
        self.value = value

    def __bool__(self):
        return bool(self.value)

    def __eq__(self, other):
        return self.value == other


class Options:
    def __init__(self, values):
        object.__setattr__(self, "_values", {k: Option(v) for k, v in values.items()})

    def __getattr__(self, name):
        if name not in self._values:
            raise AttributeError(f"option '{name}' does not exist (removed or never declared)")
        return self._values[name]

    def __setattr__(self, name, value):
        self._values[name] = Option(value)

    def __delattr__(self, name):
        del self._values[name]

    def get_safe(self, name, default=None):
        return self._values[name].value if name in self._values else default

    def rm_safe(self, name):
        self._values.pop(name, None)


class Component:
    def __init__(self):
        self.properties = {}
        self.requires = []
        self.libs = []
        self.defines = []
        self.system_libs = []
        self.bindirs = ["bin"]
        self.libdirs = ["lib"]

    def set_property(self, name, value):
        self.properties[name] = value


class Components(dict):
    """cpp_info.components: a component springs into being when first named."""

    def __missing__(self, key):
        self[key] = Component()
        return self[key]


class CppInfo(Component):
    def __init__(self):
        super().__init__()
        self.components = Components()


class Info:
    def __init__(self, options):
        self.options = options
        self.cleared = False

    def clear(self):
        self.cleared = True


class ConanFile:
    def __init__(self, options, recipe_folder):
        self.options = options
        self.settings = types.SimpleNamespace(os="Linux", compiler="gcc", build_type="Release")
        self.recipe_folder = recipe_folder
        self.version = None
        self.required = []
        self.cpp_info = CppInfo()
        self.info = Info(options)

    def requires(self, ref, **traits):
        self.required.append((ref, traits))


class CMakeToolchain:
    last = None

    def __init__(self, conanfile):
        self.cache_variables = {}
        CMakeToolchain.last = self

    def generate(self):
        pass


def nothing(*args, **kwargs):
    return None


def load(conanfile, path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def install_fake_conan():
    modules = {
        "conan": {"ConanFile": ConanFile},
        "conan.tools": {},
        "conan.tools.build": {"check_min_cppstd": nothing, "can_run": lambda c: True},
        "conan.tools.cmake": {
            "CMake": lambda c: types.SimpleNamespace(
                configure=nothing, build=nothing, install=nothing
            ),
            "CMakeDeps": lambda c: types.SimpleNamespace(generate=nothing),
            "CMakeToolchain": CMakeToolchain,
            "cmake_layout": nothing,
        },
        "conan.tools.files": {"copy": nothing, "load": load, "rmdir": nothing},
    }
    for name, attrs in modules.items():
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        sys.modules[name] = module


# --- What the recipe must agree with. ----------------------------------------------------
def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


version_hpp = read("include", "crier", "version.hpp")
VERSION = ".".join(
    re.search(rf"#define CRIER_VERSION_{p} (\d+)", version_hpp).group(1)
    for p in ("MAJOR", "MINOR", "PATCH")
)
cmakelists = read("CMakeLists.txt")
CMAKE_COMPONENTS = set(re.findall(r"^crier_component\((\w+)", cmakelists, re.M))
CMAKE_WITH = set(re.findall(r"CRIER_WITH_(\w+)", cmakelists))
manifest = json.loads(read("packaging", "vcpkg", "ports", "crier", "vcpkg.json"))
VCPKG_CORE = {d for d in manifest["dependencies"] if isinstance(d, str)}

for path in (RECIPE, os.path.join(ROOT, "packaging", "conan", "test_package", "conanfile.py")):
    py_compile.compile(path, doraise=True)
for name in ("CMakeLists.txt", "test_package.cpp"):
    check(
        os.path.isfile(os.path.join(ROOT, "packaging", "conan", "test_package", name)),
        f"test_package/{name} is missing",
    )

install_fake_conan()
spec = importlib.util.spec_from_file_location("crier_conanfile", RECIPE)
recipe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(recipe)
Recipe = recipe.CrierConan
components = set(recipe.COMPONENTS)

check(
    components == CMAKE_COMPONENTS,
    f"recipe components {sorted(components)} != CMake's {sorted(CMAKE_COMPONENTS)}",
)
check(
    {c.upper() for c in components} <= CMAKE_WITH,
    f"CMakeLists.txt lacks CRIER_WITH_ for {sorted(components)}",
)
check(
    {ref.split("/")[0] for ref in recipe.CORE_REQUIRES} == VCPKG_CORE,
    f"core requirements {recipe.CORE_REQUIRES} != vcpkg.json's {sorted(VCPKG_CORE)}",
)
for name in ("separate_compilation", *components):
    check(name in Recipe.options, f"option {name} is not declared")
    check(Recipe.default_options.get(name) is False, f"option {name} should default to False")


def run(separate, enabled):
    values = {k: v for k, v in Recipe.default_options.items() if "/" not in k}
    values["separate_compilation"] = separate
    for name in components:
        values[name] = name in enabled
    conanfile = Recipe(Options(values), os.path.dirname(RECIPE))
    conanfile.set_version()
    conanfile.config_options()
    conanfile.configure()
    conanfile.validate()
    conanfile.requirements()
    conanfile.package_id()
    conanfile.generate()
    conanfile.package_info()
    return conanfile, CMakeToolchain.last.cache_variables


if sys.argv[2:] == ["--cache-args"]:
    _, cache = run(True, components)
    for name, value in sorted(cache.items()):
        value = ("ON" if value else "OFF") if isinstance(value, bool) else value
        print(f"-D{name}={value}")
    sys.exit(0)

for separate in (False, True):
    for enabled in (set(), components):
        what = f"separate_compilation={separate}, components={sorted(enabled)}"
        conanfile, cache = run(separate, enabled)
        check(conanfile.version == VERSION, f"{what}: version {conanfile.version} != {VERSION}")
        check(
            conanfile.version == manifest["version-semver"],
            f"{what}: version {conanfile.version} != vcpkg.json's",
        )
        check(conanfile.info.cleared == (not separate), f"{what}: package id cleared wrongly")
        check(cache.get("CRIER_SEPARATE_COMPILATION") == separate, f"{what}: mode not passed")
        check(cache.get("CRIER_ALLOW_DOWNLOADS") is False, f"{what}: downloads not turned off")
        for name in components:
            want = "ON" if name in enabled else "OFF"
            got = cache.get(f"CRIER_WITH_{name.upper()}")
            check(got == want, f"{what}: CRIER_WITH_{name.upper()} is {got}, want {want}")
        refs = {ref for ref, _ in conanfile.required}
        want_refs = set(recipe.CORE_REQUIRES) | {recipe.COMPONENTS[n][0] for n in enabled}
        check(refs == want_refs, f"{what}: requires {sorted(refs)}, want {sorted(want_refs)}")
        check(
            all(t.get("transitive_headers") for _, t in conanfile.required),
            f"{what}: a requirement does not pass its headers on",
        )
        comps = conanfile.cpp_info.components
        targets = {c.properties.get("cmake_target_name") for c in comps.values()}
        want_targets = {"crier::crier"} | {f"crier::{n}" for n in enabled}
        check(targets == want_targets, f"{what}: targets {sorted(targets)}, want {want_targets}")
        check(
            conanfile.cpp_info.properties.get("cmake_file_name") == "crier",
            f"{what}: find_package name is not crier",
        )
        core = comps["crier"]
        check(core.libs == (["crier"] if separate else []), f"{what}: core libs {core.libs}")
        for name in enabled:
            check("crier" in comps[name].requires, f"{what}: crier::{name} does not need crier")

if failures:
    print("conanfile.py check failed:\n  " + "\n  ".join(failures))
    sys.exit(1)
print(f"conanfile.py: ok (version {VERSION}, components {sorted(components)})")
