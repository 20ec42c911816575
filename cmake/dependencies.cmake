# Every dependency comes from a Debian 12 package; scripts/install-deps installs them all.
# Each failure names the package to install, because that is what the reader must do next.
function(chargerecon_require found what package)
  if(NOT ${found})
    message(FATAL_ERROR "${what} not found: install the Debian package '${package}' "
                        "(or run scripts/install-deps)")
  endif()
endfunction()

find_package(Threads REQUIRED)

find_package(Boost 1.81 CONFIG QUIET COMPONENTS headers)
chargerecon_require(Boost_FOUND "Boost 1.81 (Asio, Beast, URL, JSON)" libboost1.81-dev)

find_package(OpenSSL QUIET)
chargerecon_require(OPENSSL_FOUND "OpenSSL" libssl-dev)

find_package(simdjson CONFIG QUIET)
chargerecon_require(simdjson_FOUND "simdjson" libsimdjson-dev)
# simdjson turns on its development checks in any translation unit built without optimisation,
# and they add a member to its parser: an -O0 build (the sanitizer suites, a debug build) would
# then disagree with Debian's optimised libsimdjson about the parser's layout. Off everywhere.
set_property(TARGET simdjson::simdjson APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS SIMDJSON_DEVELOPMENT_CHECKS=0)

find_package(SQLite3 QUIET)
chargerecon_require(SQLite3_FOUND "SQLite3" libsqlite3-dev)

find_package(spdlog CONFIG QUIET)
chargerecon_require(spdlog_FOUND "spdlog" libspdlog-dev)

find_package(yaml-cpp CONFIG QUIET)
chargerecon_require(yaml-cpp_FOUND "yaml-cpp" libyaml-cpp-dev)

find_package(PkgConfig QUIET)
chargerecon_require(PKG_CONFIG_FOUND "pkg-config" pkg-config)
pkg_check_modules(SYSTEMD QUIET IMPORTED_TARGET libsystemd)
chargerecon_require(SYSTEMD_FOUND "libsystemd" libsystemd-dev)

if(CHARGERECON_BUILD_TESTS)
  find_package(GTest CONFIG QUIET)
  chargerecon_require(GTest_FOUND "GoogleTest/GoogleMock" "libgtest-dev libgmock-dev")
endif()
