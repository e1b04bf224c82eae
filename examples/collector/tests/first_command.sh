#!/bin/sh
# first_command.sh README EXAMPLE_README -- README.md's first command (its
# first ```sh block) is the collector's demo, and examples/collector's
# README shows the same command.
set -eu
first() { sed -n '/^```sh$/{n;p;q;}' "$1"; }
a=$(first "$1")
b=$(first "$2")
case "$a" in
  ".ci/deps && "*" && examples/collector/run.sh") ;;
  *) echo "README.md's first command is not the collector's: $a"; exit 1 ;;
esac
[ "$a" = "$b" ] || { echo "the two READMEs differ:"; echo "$a"; echo "$b"; exit 1; }
echo "ok: $a"
