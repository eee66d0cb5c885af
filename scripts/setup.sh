#!/usr/bin/env bash
# Installs everything FOI Archive needs on a fresh Debian machine: system packages, a venv, the
# project with its test extras. Idempotent: reruns are quick.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim tesseract-ocr-chi-tra tesseract-ocr-osd
  poppler-utils fonts-wqy-microhei chromium ocrmypdf curl unzip zip openjdk-17-jre-headless
  libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui pst-utils p7zip-full unar
  libarchive-tools djvulibre-bin mdbtools)
# LibreOffice's UNO bindings for the system Python: one long-lived LibreOffice converts office files
# (archive/extractors/office/uno_bridge.py runs on /usr/bin/python3, not in the venv); the tests
# also save password-protected office files through it (scripts/make_encrypted_office.py).
APT_PACKAGES+=(python3-uno)
# The English word list OCR counts dictionary words with (ocr/words.py).
APT_PACKAGES+=(wbritish)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.foi-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
  touch "$stamp"
fi
