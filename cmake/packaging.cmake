# `cpack -G DEB` in a build dir: chargerecon_<version>_<arch>.deb with what cmake/install.cmake
# installs under /usr and /etc. The package ships no test tool (see cmake/install.cmake).
set(CPACK_PACKAGE_NAME chargerecon)
set(CPACK_PACKAGE_VENDOR chargerecon)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_CONTACT "chargerecon maintainers <chargerecon@localhost>" CACHE STRING
    "Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
# Install with DESTDIR=<staging> and the real prefix rather than prefix=<staging>/usr: the config
# goes to the absolute /etc/chargerecon, and the unit's ExecStart must name /usr/sbin, not the
# staging dir. With CPACK_SET_DESTDIR, CPACK_INSTALL_PREFIX is the prefix (whatever the build
# dir's CMAKE_INSTALL_PREFIX).
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Debian ships stripped binaries; the build dir keeps the debug information.
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "chargerecond pages through CRM.COM's netflix charges, records them in a SQLite ledger,\nbills each billable charge exactly once and acknowledges it to CRM.COM. chargereconctl is the\noperator's tool for the ledger and CRM.COM's netflix calls. Runs as chargerecon.service.")
# Depends from the binaries' shared libraries (dpkg-shlibdeps, from dpkg-dev).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Maintainer scripts: the systemd dance of dh_installsystemd --no-enable --no-start
# --restart-after-upgrade, each systemctl call guarded by [ -d /run/systemd/system ].
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
