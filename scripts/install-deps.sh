#!/usr/bin/env bash
# install-deps.sh: installs every Debian 12 package mixgate needs to build, run and test.
# Works as root (CI) or through sudo. Installs only what is missing, so it is cheap to re-run.
set -euo pipefail

BUILD_PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev
  libuv1-dev libsqlite3-dev sqlite3 libssl-dev openssl libconfig-dev libcmocka-dev
  libgmime-3.0-dev libc-ares-dev libxml2-dev libxml2-utils asn1c
  python3)   # scripts/md2man.py generates the man pages at build time
BUILD_PKGS+=(libldap-dev)   # labels: clearances from an LDAP directory (OpenLDAP client)
# Real peers the tests talk to (nobody on this project wrote them).
TEST_PKGS=(swaks postfix tshark gpgsm gnupg libbcpkix-java libbcprov-java
  openjdk-17-jdk-headless python3 python3-aiosmtpd python3-cryptography
  python3-pyasn1-modules procps iproute2 netcat-openbsd libnet-ssleay-perl libio-socket-ssl-perl
  prometheus curl systemd lintian dpkg-dev man-db)   # service: promtool, systemd-analyze, the .deb checks
TEST_PKGS+=(slapd ldap-utils)   # e2e.labels_ldap: a real directory started by the test

# Fuzzing campaigns (`make fuzz-campaign`, opt-in): llvm-cov and llvm-profdata for the coverage
# replay (clang and its libFuzzer runtime are build packages already).
FUZZ_PKGS=(llvm-14 python3)

# The cms channel's key process: keys in a PKCS#11 module through OpenSSL's pkcs11 engine
# (libengine-pkcs11-openssl, also needed at run time for HSM keys); SoftHSM2 is the test HSM.
TEST_PKGS+=(softhsm2 libengine-pkcs11-openssl)

want=("${BUILD_PKGS[@]}")
if [ "${1:-}" = "--test" ]; then want+=("${TEST_PKGS[@]}"); fi
if [ "${1:-}" = "--fuzz" ]; then want+=("${FUZZ_PKGS[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo -E); fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Postfix and wireshark ask questions at install; answer them so the install never blocks.
echo "postfix postfix/main_mailer_type select No configuration" | "${SUDO[@]}" debconf-set-selections
echo "postfix postfix/mailname string localhost" | "${SUDO[@]}" debconf-set-selections
echo "wireshark-common wireshark-common/install-setuid boolean false" | "${SUDO[@]}" debconf-set-selections
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
