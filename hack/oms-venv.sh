#!/usr/bin/env bash
# The OpenSSF Model Signing tool the OMS tests sign real models with, in an ignored venv:
# .tools/oms-venv (model_signing 1.1.1 imports OpenSSL, which it does not declare: pyOpenSSL).
# Idempotent: a venv whose python already imports model_signing is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${OMS_VENV:-.tools/oms-venv}
if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c 'import model_signing, OpenSSL' 2>/dev/null; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'model-signing==1.1.1' pyOpenSSL
"$venv/bin/python" -c 'import model_signing, OpenSSL'
echo "oms-venv: model_signing 1.1.1 ready in $venv"
