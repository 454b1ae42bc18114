#!/usr/bin/env bash
# Installs the Debian packages govflow needs, skipping those already present.
# pango/harfbuzz + Noto CJK: WeasyPrint certificates with Chinese text;
# libmagic: upload type sniffing; poppler-utils: pdftotext/pdffonts/pdftoppm
# in the certificate tests; gettext: compilemessages for locale/; chromium:
# the browser tests (Playwright drives Debian's chromium, never a download);
# faketime: `make test-dates` runs the date-sensitive tests at other dates;
# nginx-light, pgbouncer: the load balancer and the transaction-mode pool of
# the multi-node test (tests/distributed; neither is started as a service).
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk libmagic1 poppler-utils gettext chromium faketime nginx-light pgbouncer)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "govflow needs these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
