#!/usr/bin/env bash
# The quickstart: sets everything up, then runs examples/quickstart on the embedded warehouse:
# creates the seed's tables, loads the bundled events, and answers a few analytical questions.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
exec "$root/examples/quickstart/run.sh" "$root/build/release/sluice"
