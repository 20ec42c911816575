# What `cmake --install` puts where, around the two binaries (daemon/ installs chargerecond in
# sbin, tools/chargereconctl/ installs chargereconctl in bin). The simulators and sim-audit are
# test tools and are not installed: crm-sim and billing-fake impersonate CRM.COM and billing,
# and have no place on a production host.
include(GNUInstallDirs)

# Absolute whatever the prefix: chargerecond's default --config and the unit's
# ConfigurationDirectory=chargerecon both mean /etc/chargerecon.
set(chargerecon_config_dir /etc/chargerecon)
# Relative to the prefix: /usr/lib/systemd/system for /usr, /usr/local/lib/systemd/system
# (also on systemd's search path) for the default prefix.
set(chargerecon_unit_dir lib/systemd/system)

# --- the configuration ------------------------------------------------------------------------
# One documented file, two uses: etc/chargerecon.yaml as it stands is the demo's (loopback
# simulators, a scratch ledger). The installed copy is derived from it rather than kept as a
# second file whose comments would drift: the ledger moves to the unit's StateDirectory, and the
# CRM.COM and billing URLs are emptied, so that an unconfigured service refuses to start
# (exit 78, naming both keys) instead of polling simulators that are not there.
set(chargerecon_demo_config ${PROJECT_SOURCE_DIR}/etc/chargerecon.yaml)
set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${chargerecon_demo_config})
file(READ ${chargerecon_demo_config} chargerecon_config_text)
foreach(rewrite IN ITEMS
        "\n  base_url: [^\n]*\n|\n  base_url:\n"
        "\n  url: [^\n]*\n|\n  url:\n"
        "\n  path: [^\n]*\n|\n  path: /var/lib/chargerecon/ledger.db\n")
  string(FIND "${rewrite}" "|" bar)
  string(SUBSTRING "${rewrite}" 0 ${bar} pattern)
  math(EXPR after "${bar} + 1")
  string(SUBSTRING "${rewrite}" ${after} -1 replacement)
  string(REGEX MATCHALL "${pattern}" hits "${chargerecon_config_text}")
  list(LENGTH hits count)
  if(NOT count EQUAL 1)
    string(STRIP "${pattern}" shown)
    message(FATAL_ERROR "etc/chargerecon.yaml: expected exactly one line matching '${shown}' for the "
                        "installed configuration, found ${count}; update cmake/install.cmake to match")
  endif()
  string(REGEX REPLACE "${pattern}" "${replacement}" chargerecon_config_text "${chargerecon_config_text}")
endforeach()
string(PREPEND chargerecon_config_text
  "# Installed configuration, derived from the demo's (etc/chargerecon.yaml in the sources).\n"
  "# Before `systemctl enable --now chargerecon`: set crm.base_url and billing.url, change the\n"
  "# values marked \"demo:\" below, and put the secrets in /etc/chargerecon (root, mode 0600;\n"
  "# see chargerecond(8)). `chargerecond --check-config` with this file names whatever is missing.\n"
  "#\n")
file(WRITE ${PROJECT_BINARY_DIR}/install/chargerecon.yaml.new "${chargerecon_config_text}")
file(COPY_FILE ${PROJECT_BINARY_DIR}/install/chargerecon.yaml.new ${PROJECT_BINARY_DIR}/install/chargerecon.yaml
     ONLY_IF_DIFFERENT)
install(FILES ${PROJECT_BINARY_DIR}/install/chargerecon.yaml
        DESTINATION ${chargerecon_config_dir}
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# --- the systemd unit ---------------------------------------------------------------------------
# Its installed form names the installed files: the /usr of ExecStart's binary and of the
# Documentation= README is replaced by the prefix given at install time (`cmake --install
# --prefix`), so for /usr the installed unit is the source file itself. Written straight to the
# destination: a file in the build dir would be shared by installs to different prefixes.
set(chargerecon_install_unit [[
  file(READ "@PROJECT_SOURCE_DIR@/systemd/chargerecon.service" unit)
  string(REPLACE "ExecStart=/usr/sbin/" "ExecStart=${CMAKE_INSTALL_PREFIX}/sbin/" unit "${unit}")
  string(REPLACE "Documentation=file:/usr/share/" "Documentation=file:${CMAKE_INSTALL_PREFIX}/share/" unit "${unit}")
  set(unit_path "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/@chargerecon_unit_dir@/chargerecon.service")
  message(STATUS "Installing: ${unit_path}")
  file(WRITE "${unit_path}" "${unit}")
  file(CHMOD "${unit_path}" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${unit_path}")
]])
string(CONFIGURE "${chargerecon_install_unit}" chargerecon_install_unit @ONLY)
install(CODE "${chargerecon_install_unit}")

# --- documentation ------------------------------------------------------------------------------
# Man pages compressed as Debian policy wants (gzip -9n: no name or time stamp, reproducible).
find_program(CHARGERECON_GZIP gzip REQUIRED)
set(chargerecon_man_pages)
foreach(page chargerecond.8 chargereconctl.8)
  configure_file(${PROJECT_SOURCE_DIR}/docs/${page} ${PROJECT_BINARY_DIR}/install/${page} @ONLY)
  add_custom_command(
    OUTPUT ${PROJECT_BINARY_DIR}/install/${page}.gz
    COMMAND ${CHARGERECON_GZIP} -9nkf ${PROJECT_BINARY_DIR}/install/${page}
    DEPENDS ${PROJECT_BINARY_DIR}/install/${page}
    COMMENT "Compressing the man page ${page}"
    VERBATIM)
  list(APPEND chargerecon_man_pages ${PROJECT_BINARY_DIR}/install/${page}.gz)
endforeach()
add_custom_target(chargerecon_man_pages ALL DEPENDS ${chargerecon_man_pages})
install(FILES ${chargerecon_man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
# Uncompressed: the unit's Documentation= points at this file.
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
