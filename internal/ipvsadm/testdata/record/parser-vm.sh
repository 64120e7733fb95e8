#!/bin/busybox sh
# parser-vm.sh: runs inside the ipvs-vm (see record-parser). For every line of
# /usr/local/share/rec/parser-cases.txt: restore the baseline, run "ipvsadm ARGS" (stdin from the
# printf format after a TAB, if any), and write its exit status, stdout, stderr and the
# table after it (ipvsadm -S -n) to $OUT/parser-cases.out, each section as "NAME LENGTH\n"
# followed by the exact bytes and a newline.
set -u
OUT=${OUT:-/out}
R=$OUT/parser-cases.out
: > "$R"
T=/tmp/pc; mkdir -p $T
section() { printf '%s %s\n' "$1" "$(wc -c < "$2" | tr -d ' ')" >> "$R"; cat "$2" >> "$R"; echo >> "$R"; }
tab=$(printf '\t')
n=0
while IFS= read -r line; do
  case "$line" in '#'*|'') continue ;; esac
  args=${line%%"$tab"*}
  input=
  [ "$args" != "$line" ] && input=${line#*"$tab"}
  ipvsadm -C; ipvsadm -R < /usr/local/share/rec/parser-baseline.txt
  if [ -n "$input" ]; then
    printf "$input" > $T/in
  else
    : > $T/in
  fi
  eval "timeout 10 ipvsadm $args" < $T/in > $T/o 2> $T/e; rc=$?
  ipvsadm -S -n > $T/s 2>&1
  printf '=== %s\n' "$line" >> "$R"
  printf 'rc %s\n' "$rc" >> "$R"
  section out $T/o; section err $T/e; section save $T/s
  n=$((n + 1))
done < /usr/local/share/rec/parser-cases.txt
echo "$n cases recorded"
