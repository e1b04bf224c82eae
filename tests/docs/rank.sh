# SPDX-License-Identifier: MIT
# rank.sh -- the layers of src/, bottom up (docs/design.md, "Files and the
# rules they keep"); sourced by layers.sh and calls.sh.  rank FOLDER sets
# RANK to the folder's layer (0 is the lowest), or -1 for a folder in no
# layer.  It sets a variable rather than printing, so a caller needs no
# $(...): a subshell per call made the checks take seconds on a loaded
# machine.
rank() {
	case $1 in
	core) RANK=0 ;;
	transport) RANK=1 ;;
	registry) RANK=2 ;;
	actor) RANK=3 ;;
	supervisor) RANK=4 ;;
	node) RANK=5 ;;
	ops) RANK=6 ;;
	tools | shim) RANK=7 ;;
	*) RANK=-1 ;;
	esac
}
