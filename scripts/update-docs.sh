#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Regenerates the parts of the docs that come from the code: config/cgsight.yaml
# and the README's configuration and metric references. Usage: update-docs.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build}/cgsight
"$bin" config > config/cgsight.yaml
/usr/bin/python3 - "$bin" <<'PY'
import re, subprocess, sys
bin = sys.argv[1]
readme = open("README.md").read()
def block(name, text):
    global readme
    pat = re.compile(r"(<!-- %s:begin -->\n).*?(<!-- %s:end -->)" % (name, name), re.S)
    readme = pat.sub(lambda m: m.group(1) + text + m.group(2), readme)
block("config", "```yaml\n" + subprocess.run([bin, "config"], capture_output=True, text=True, check=True).stdout + "```\n")
block("metrics", subprocess.run([bin, "metrics"], capture_output=True, text=True, check=True).stdout)
open("README.md", "w").write(readme)
PY
