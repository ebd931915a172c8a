#!/usr/bin/env bash
# Installs the Debian packages complianceguard needs, only those that are missing.
# OCR: tesseract + language packs; audio/video: ffmpeg; test speech: espeak-ng + sox; fixture text: DejaVu fonts (+ Nanum for Korean);
# HTML report check: chromium (headless, in tests/test_html_report.py); scale-out: redis-server (the queue
# `complianceguard worker` and `scan --queue` use; tests/test_batch_queue.py starts one on loopback).
set -euo pipefail
packages=(
  tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-spa tesseract-ocr-ita
  tesseract-ocr-nld tesseract-ocr-por tesseract-ocr-dan tesseract-ocr-swe tesseract-ocr-nor tesseract-ocr-fin
  tesseract-ocr-pol tesseract-ocr-ces tesseract-ocr-kor tesseract-ocr-jpn tesseract-ocr-chi-sim
  ffmpeg espeak-ng sox fonts-dejavu-core fonts-nanum python3-venv chromium redis-server
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "error: missing Debian packages (${missing[*]}); run as root or install them with apt-get" >&2
  exit 2
fi
echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
