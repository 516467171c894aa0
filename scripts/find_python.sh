#!/usr/bin/env bash
# Print the path of a Python interpreter of the Lambda runtime's version (given as $1, e.g. 3.13), or explain
# on stderr why none was found and exit 1. Used by `make install`: the test suite runs on the same Python as
# the Lambda functions (infra/template.yaml, Runtime python3.13).
#
# Order: $PYTHON if set (it must be that version: no silent fallback), then `pythonX.Y` on PATH (a pyenv shim
# that is not activated fails to run and is skipped), then pyenv's and uv's installation folders (newest patch
# release first).
set -uo pipefail

want="${1:?usage: find_python.sh X.Y}"
probe='import sys; print("%d.%d" % sys.version_info[:2])'

version_of() {
    "$1" -c "$probe" 2>/dev/null
}

if [[ -n "${PYTHON:-}" ]]; then
    got="$(version_of "$PYTHON")"
    if [[ "$got" == "$want" ]]; then
        command -v "$PYTHON"
        exit 0
    fi
    what="${got:+Python $got}"
    {
        echo "PYTHON=$PYTHON is ${what:-not a runnable Python interpreter}."
        echo "The Lambda functions run on python$want (infra/template.yaml) and the test suite runs on the"
        echo "same version: set PYTHON to a Python $want interpreter, or unset it to let make search for one."
    } >&2
    exit 1
fi

candidates=()
if path_python="$(command -v "python$want" 2>/dev/null)"; then
    candidates+=("$path_python")
fi
for root in "${PYENV_ROOT:-$HOME/.pyenv}/versions" "${UV_PYTHON_INSTALL_DIR:-$HOME/.local/share/uv/python}"; do
    [[ -d "$root" ]] || continue
    while IFS= read -r dir; do
        candidates+=("$dir/bin/python$want")
    done < <(find "$root" -mindepth 1 -maxdepth 1 \( -name "$want.*" -o -name "cpython-$want.*" \) | sort -rV)
done

for candidate in "${candidates[@]}"; do
    if [[ -x "$candidate" && "$(version_of "$candidate")" == "$want" ]]; then
        echo "$candidate"
        exit 0
    fi
done

{
    echo "No Python $want found (looked for python$want on PATH, in ${PYENV_ROOT:-$HOME/.pyenv}/versions/ and"
    echo "in uv's Python folder)."
    echo "The Lambda functions run on python$want (Amazon Linux 2023, infra/template.yaml) and the test suite"
    echo "must run on the same version. Install it (e.g. \`pyenv install $want\`, \`uv python install $want\`"
    echo "or your distribution's python$want package), or point make at it: make install PYTHON=/path/to/python$want"
} >&2
exit 1
