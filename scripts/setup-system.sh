#!/usr/bin/env bash
# System packages the project needs on a fresh Debian machine:
# - a CJK TrueType font that reportlab can embed (the sample-archive generator and test fixtures
#   write Chinese PDFs with it);
# - Debian's Chromium and ChromeDriver for the browser tests (driven by Playwright through
#   `executable_path`; Playwright's own browser download is never used);
# - the shared libraries opencv-python (pulled in by rapidocr-onnxruntime, the OCR) loads: libGL
#   and GLib (rapidocr requires opencv-python by name, so the headless build cannot stand in);
# - LibreOffice Writer without its GUI, which converts the Word formats we do not parse ourselves
#   (binary .doc, .rtf, .odt, Kingsoft .wps) to PDF (archive/readers/office.py).
set -euo pipefail
need=()
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
dpkg -s libgl1 >/dev/null 2>&1 || need+=(libgl1)
dpkg -s libglib2.0-0 >/dev/null 2>&1 || need+=(libglib2.0-0)
command -v soffice >/dev/null 2>&1 || command -v libreoffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing system packages: ${need[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
