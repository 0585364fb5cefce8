#!/usr/bin/env bash
# Terraform checks of terraform/: formatting, `init` + `validate`, and an offline plan of the
# committed scenarios.auto.tfvars.json (validate ignores variable values; the plan type-checks
# them against var.scenarios and runs its validation rules).
#
# Init, validate and plan run on a copy in a temporary folder: nothing is written into the
# repository (no .terraform/, lock file or plan), and a user's own initialised terraform/ (real
# backend, lock file from the registry) is left alone. Never downloads when the local provider
# mirror exists.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v terraform >/dev/null 2>&1; then
  echo "terraform not found: skipping the terraform/ checks (fmt, validate, plan)"
  exit 0
fi

PLUGIN_MIRROR=/opt/tf-plugins
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "terraform fmt -check"
terraform fmt -check -recursive -diff terraform

cp terraform/*.tf terraform/*.tfvars.json "$work"/
init=(init -backend=false -input=false -no-color)
if [ -d "$PLUGIN_MIRROR" ]; then
  init+=("-plugin-dir=$PLUGIN_MIRROR")
fi
echo "terraform ${init[*]}"
terraform -chdir="$work" "${init[@]}" >"$work/init.log" 2>&1 || { cat "$work/init.log"; exit 1; }

echo "terraform validate"
terraform -chdir="$work" validate -no-color

# Planning only new resources contacts no endpoint: point the provider at a closed loopback port
# with dummy credentials so a real AWS profile can never be used by accident.
echo "terraform plan (offline, committed variables)"
env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID=qsim-ci AWS_SECRET_ACCESS_KEY=qsim-ci \
  TF_IN_AUTOMATION=1 \
  terraform -chdir="$work" plan -input=false -lock=false -refresh=false -no-color \
  -var=endpoint_url=http://127.0.0.1:9 >"$work/plan.log" 2>&1 || { cat "$work/plan.log"; exit 1; }
grep -E '^Plan: ' "$work/plan.log"
echo "terraform checks passed"
