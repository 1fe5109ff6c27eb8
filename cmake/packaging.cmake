# Packaging: install rules for everything that is not a binary, sql/ or proto/ (those are in
# CMakeLists.txt), and the CPack settings for a Debian 12 package:
#
#   cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF
#   cmake --build build-deb -j && (cd build-deb && cpack -G DEB)
#
# The units name /usr/sbin/reimbursed, /usr/bin/reimbursectl and /usr/lib/reimbursed/nightly, and
# reimbursectl has the migrations folder compiled in from CMAKE_INSTALL_PREFIX, so configure with
# -DCMAKE_INSTALL_PREFIX=/usr for a package (or for `cmake --install` onto a server).
#
# Included from the top-level CMakeLists.txt after the targets.

include_guard(GLOBAL)
include(GNUInstallDirs)
get_filename_component(_rb_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

set(REIMBURSED_CONF_DIR "/etc/reimbursed" CACHE PATH
    "Where the package puts reimbursed.conf (the units expect /etc/reimbursed)")
set(REIMBURSED_MAINTAINER "reimbursed maintainers <maintainers@users.noreply.r-seed-6215c6bd.example>"
    CACHE STRING "Maintainer field of the Debian package")

if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "packaging: CMAKE_INSTALL_PREFIX is ${CMAKE_INSTALL_PREFIX}; configure with "
                 "-DCMAKE_INSTALL_PREFIX=/usr before `cpack -G DEB` so that reimbursectl looks "
                 "for its migrations in /usr/share/reimbursed/sql")
endif()

# ---------------------------------------------------------------- install rules

# systemd units, sysusers.d and tmpfiles.d (relative: /usr/lib/... in the package; systemd 252
# reads /usr/lib and /lib alike, and Debian 12 has a merged /usr).
install(FILES
    ${_rb_root}/systemd/reimbursed.service
    ${_rb_root}/systemd/reimbursed-nightly.service
    ${_rb_root}/systemd/reimbursed-nightly.timer
  DESTINATION lib/systemd/system
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${_rb_root}/systemd/reimbursed.sysusers
  DESTINATION lib/sysusers.d RENAME reimbursed.conf
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${_rb_root}/systemd/reimbursed.tmpfiles
  DESTINATION lib/tmpfiles.d RENAME reimbursed.conf
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# Helper scripts: the nightly job (run by reimbursed-nightly.service) and backup/restore.
install(PROGRAMS ${_rb_root}/ops/nightly ${_rb_root}/ops/backup ${_rb_root}/ops/restore
  DESTINATION lib/reimbursed)

# Documentation.
install(FILES ${_rb_root}/README.md ${_rb_root}/ops/RUNBOOK.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The commented default configuration: a conffile in the package (dpkg keeps local changes).
# `cmake --install` onto a machine that already has one keeps it and installs the new default
# beside it as reimbursed.conf.dist. Mode 0640; the group becomes reimbursed in the postinst (and
# at every boot, through tmpfiles.d).
install(CODE "
  set(_rb_src \"${_rb_root}/etc/reimbursed.conf\")
  set(_rb_dir \"\$ENV{DESTDIR}${REIMBURSED_CONF_DIR}\")
  set(_rb_name reimbursed.conf)
  if(EXISTS \"\${_rb_dir}/reimbursed.conf\")
    set(_rb_name reimbursed.conf.dist)
    message(STATUS \"Keeping: \${_rb_dir}/reimbursed.conf (the new default goes to \${_rb_name})\")
  endif()
  file(INSTALL DESTINATION \"${REIMBURSED_CONF_DIR}\" TYPE FILE
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ
       RENAME \${_rb_name} FILES \"\${_rb_src}\")
")

# ---------------------------------------------------------------- Debian maintainer scripts

set(_rb_deb "${CMAKE_CURRENT_BINARY_DIR}/debian")
file(MAKE_DIRECTORY "${_rb_deb}")
file(WRITE "${_rb_deb}/conffiles" "${REIMBURSED_CONF_DIR}/reimbursed.conf\n")

# postinst: the system user, the folders and a daemon-reload. Nothing is enabled or started: the
# database, the certificate and the config must be set up first (ops/RUNBOOK.md). On an upgrade a
# running daemon keeps running the old binary until the migrations are applied and it is restarted.
file(WRITE "${_rb_deb}/postinst" [=[#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if command -v systemd-sysusers >/dev/null 2>&1; then
        systemd-sysusers reimbursed.conf
    elif ! getent passwd reimbursed >/dev/null; then
        getent group reimbursed >/dev/null || groupadd --system reimbursed
        useradd --system --gid reimbursed --home-dir /var/lib/reimbursed --no-create-home \
            --shell /usr/sbin/nologin --comment "reimbursed daemon" reimbursed
    fi
    if command -v systemd-tmpfiles >/dev/null 2>&1; then
        systemd-tmpfiles --create reimbursed.conf
    else
        install -d -m 0750 -o reimbursed -g reimbursed /var/lib/reimbursed /var/lib/reimbursed/reports
        install -d -m 0750 -o root -g reimbursed /etc/reimbursed /etc/reimbursed/tls
        if [ -e /etc/reimbursed/reimbursed.conf ]; then
            chown root:reimbursed /etc/reimbursed/reimbursed.conf
            chmod 0640 /etc/reimbursed/reimbursed.conf
        fi
    fi
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload >/dev/null || true
        if [ -n "$2" ] && systemctl is-active --quiet reimbursed.service; then
            echo "reimbursed: upgraded from $2. Apply the migrations, then restart:" >&2
            echo "  reimbursectl -c /etc/reimbursed/admin.conf migrate" >&2
            echo "  systemctl restart reimbursed.service" >&2
        fi
    fi
fi
exit 0
]=])

# prerm: stop the service and the timer when the package is removed (not on upgrade).
file(WRITE "${_rb_deb}/prerm" [=[#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl disable --now reimbursed-nightly.timer >/dev/null 2>&1 || true
    systemctl disable --now reimbursed.service >/dev/null 2>&1 || true
fi
exit 0
]=])

# postrm: forget the units; on purge remove /etc/reimbursed/tls and /etc/reimbursed when they are
# empty. The user, /var/lib/reimbursed (the reports hold dossier numbers), certificates and keys
# and the database are left alone, also on purge: removing them is a decision for the operator.
file(WRITE "${_rb_deb}/postrm" [=[#!/bin/sh
set -e
if [ "$1" = purge ]; then
    rmdir --ignore-fail-on-non-empty /etc/reimbursed/tls /etc/reimbursed 2>/dev/null || true
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
]=])

# ---------------------------------------------------------------- CPack

set(CPACK_GENERATOR "DEB" CACHE STRING "CPack generators")
set(CPACK_PACKAGE_NAME "reimbursed")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR "reimbursed")
set(CPACK_PACKAGE_CONTACT "${REIMBURSED_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "ledger of state compensations owed to municipalities (EU mass-influx directive)")
set(CPACK_PACKAGE_DESCRIPTION
    "reimbursed keeps a municipality's own double-entry ledger of the fixed compensations the Swedish
state owes it for people assigned under the EU mass-influx directive (massflyktsdirektivet), from
append-only facts (assignments, move-ins, move-outs) in PostgreSQL, and serves it over an
authenticated HTTPS JSON API. A nightly systemd timer runs the accrual and writes reconciliation
reports. Includes the daemon, the admin tool reimbursectl, the SQL migrations, the OpenAPI
description, hardened systemd units, and backup and restore scripts.")
# The DEB generator installs into its staging folder through DESTDIR with this prefix, so the
# absolute /etc/reimbursed path lands in the package, never on the build machine.
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")

set(CPACK_DEBIAN_PACKAGE_NAME "reimbursed")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${REIMBURSED_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# Library dependencies come from dpkg-shlibdeps; pg_dump/pg_restore (ops/backup, ops/restore)
# and the system user's fallback (useradd) are added by hand.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "postgresql-client, passwd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql, pgbouncer")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${_rb_deb}/conffiles;${_rb_deb}/postinst;${_rb_deb}/prerm;${_rb_deb}/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
