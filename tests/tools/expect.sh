#!/usr/bin/env bash
# Runs a command and checks how it ends.
#   expect.sh ok   REGEX -- CMD ARGS...   exit code 0 and REGEX (grep -E) found in stdout+stderr
#   expect.sh fail REGEX -- CMD ARGS...   non-zero exit code (not a crash: below 128), exactly one
#                                         line on stderr, REGEX found in it
set -u
mode="$1"; regex="$2"; shift 2
[[ "$1" == "--" ]] && shift
out="$(mktemp)"; err="$(mktemp)"
trap 'rm -f "$out" "$err"' EXIT
"$@" >"$out" 2>"$err"
rc=$?
show() { echo "--- command: $*"; echo "--- exit code: $rc"; echo "--- stdout:"; cat "$out"; echo "--- stderr:"; cat "$err"; }
if [[ "$mode" == ok ]]; then
  if [[ $rc -ne 0 ]]; then show "$@"; echo "FAIL: expected exit code 0"; exit 1; fi
  if ! cat "$out" "$err" | grep -Eq -- "$regex"; then show "$@"; echo "FAIL: output lacks /$regex/"; exit 1; fi
else
  if [[ $rc -eq 0 ]]; then show "$@"; echo "FAIL: expected a non-zero exit code"; exit 1; fi
  if [[ $rc -ge 128 ]]; then show "$@"; echo "FAIL: killed by a signal (crash)"; exit 1; fi
  if [[ "$(wc -l <"$err")" -ne 1 ]]; then show "$@"; echo "FAIL: expected exactly one line on stderr"; exit 1; fi
  if ! grep -Eq -- "$regex" "$err"; then show "$@"; echo "FAIL: stderr lacks /$regex/"; exit 1; fi
fi
exit 0
