#!/usr/bin/env bash
# install-deps.sh: installs every Debian 12 package mixgate needs to build, run and test.
# Works as root (CI) or through sudo. Installs only what is missing, so it is cheap to re-run.
set -euo pipefail

BUILD_PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev
  libuv1-dev libsqlite3-dev sqlite3 libssl-dev openssl libconfig-dev libcmocka-dev
  libgmime-3.0-dev libc-ares-dev libxml2-dev libxml2-utils asn1c
  python3)   # scripts/md2man.py generates the man pages at build time
# Real peers the tests talk to (nobody on this project wrote them).
TEST_PKGS=(swaks postfix tshark gpgsm gnupg libbcpkix-java libbcprov-java
  openjdk-17-jdk-headless python3 python3-aiosmtpd python3-cryptography
  python3-pyasn1-modules procps iproute2 netcat-openbsd libnet-ssleay-perl libio-socket-ssl-perl
  prometheus curl systemd lintian dpkg-dev man-db)   # service: promtool, systemd-analyze, the .deb checks

want=("${BUILD_PKGS[@]}")
if [ "${1:-}" = "--test" ]; then want+=("${TEST_PKGS[@]}"); fi

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
