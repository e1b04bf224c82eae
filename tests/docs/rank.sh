# SPDX-License-Identifier: MIT
# rank.sh -- the layers of src/, bottom up (docs/design.md, "Files and the
# rules they keep"); sourced by layers.sh and calls.sh.  rank FOLDER prints
# the folder's layer (0 is the lowest), or -1 for a folder in no layer.
rank() {
	case $1 in
	core) echo 0 ;;
	transport) echo 1 ;;
	registry) echo 2 ;;
	actor) echo 3 ;;
	supervisor) echo 4 ;;
	node) echo 5 ;;
	ops) echo 6 ;;
	tools | shim) echo 7 ;;
	*) echo -1 ;;
	esac
}
