#!/bin/sh
# Generates the alert rules of a spec with the sluice binary, checks them with promtool and runs
# the promtool unit tests next to this script against them.
# Usage: run_alert_rules_test.sh SLUICE_BINARY SPEC WORK_DIR
set -eu
sluice=$1
spec=$2
work=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
"$sluice" alerts "$spec" -o "$work/quickstart_rules.yaml"
promtool check rules "$work/quickstart_rules.yaml"
cp "$here/quickstart_alerts_test.yaml" "$work/"
promtool test rules "$work/quickstart_alerts_test.yaml"
