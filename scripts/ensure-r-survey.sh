#!/usr/bin/env bash
# Install R and Debian's r-cran-survey, used only to regenerate the survey-estimation reference
# fixtures (tests/reference/survey/make_reference.R). The Python tests never need R.
# Idempotent: does nothing when `library(survey)` already loads.
set -euo pipefail
if command -v Rscript >/dev/null 2>&1 && Rscript -e 'suppressPackageStartupMessages(library(survey))' >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "R's survey package is missing and we are not root (no sudo): install Debian's r-base-core and r-cran-survey." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends r-base-core r-cran-survey >/dev/null
Rscript -e 'suppressPackageStartupMessages(library(survey)); cat("survey", as.character(packageVersion("survey")), "\n")'
