#!/usr/bin/env bash
# Checks a Graphviz file written by pocket-inspect --dot, structurally (no graphviz needed):
#   check_dot.sh FILE.dot MIN_NODES [REGEX...]
# - starts with "digraph", ends with "}", every line between is a statement ending in ';'
# - every double-quoted string is closed on its line (escaped quotes allowed)
# - every edge's endpoints are declared as nodes, and there are at least MIN_NODES op nodes
# - every REGEX (grep -E) is found
# When `dot` is installed, `dot -Tsvg` must also accept the file.
set -u
f="$1"; min_nodes="$2"; shift 2
fail() { echo "FAIL: $*"; echo "--- $f:"; head -c 4000 "$f"; exit 1; }
[[ -s "$f" ]] || fail "missing or empty"
[[ "$(head -n1 "$f")" == "digraph pocket {" ]] || fail "does not start with 'digraph pocket {'"
[[ "$(tail -n1 "$f")" == "}" ]] || fail "does not end with '}'"
body="$(sed '1d;$d' "$f")"
bad="$(grep -vE '^  .*;$' <<<"$body" | head -n1)"
[[ -z "$bad" ]] || fail "not a statement: $bad"
# Drop escaped characters, then every line must hold an even number of quotes.
unbalanced="$(sed -E 's/\\.//g' <<<"$body" | awk -F'"' 'NF % 2 == 0 { print; exit }')"
[[ -z "$unbalanced" ]] || fail "unbalanced quotes: $unbalanced"
declared="$(grep -oE '^  [A-Za-z_][A-Za-z0-9_]* \[' <<<"$body" | sed -E 's/^  ([A-Za-z0-9_]+) \[/\1/' | sort -u)"
nodes="$(grep -cE '^  n[0-9]+ \[' <<<"$body")"
(( nodes >= min_nodes )) || fail "$nodes op nodes, expected at least $min_nodes"
while read -r a b; do
  grep -qx "$a" <<<"$declared" || fail "edge from undeclared node $a"
  grep -qx "$b" <<<"$declared" || fail "edge to undeclared node $b"
done < <(grep -oE '^  [A-Za-z0-9_]+ -> [A-Za-z0-9_]+' <<<"$body" | awk '{ print $1, $3 }')
for re in "$@"; do grep -Eq -- "$re" "$f" || fail "lacks /$re/"; done
if command -v dot >/dev/null; then
  dot -Tsvg "$f" -o /dev/null 2>"$f.err" || fail "dot -Tsvg rejects it: $(head -c 500 "$f.err")"
  rm -f "$f.err"
  echo "OK ($nodes op nodes; dot -Tsvg accepts it)"
else
  echo "OK ($nodes op nodes; graphviz not installed, structural checks only)"
fi
