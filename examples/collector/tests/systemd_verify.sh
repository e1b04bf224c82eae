#!/bin/sh
# systemd_verify.sh UNIT ARBOR ARBORCTL -- `systemd-analyze verify` of the
# collector's unit, with its ExecStart/ExecReload programs pointed at the
# build's (verify checks that they exist), and the settings SPEC 30 asks
# for present.  Any line verify prints (an unknown key, a bad value:
# verify still exits 0 for those) fails the test.  Exit 77 (skipped)
# where systemd-analyze is missing or cannot verify even a trivial unit.
set -eu
unit=$1 arbor=$2 arborctl=$3
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze not found (Debian: systemd): skipped"
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '[Service]\nExecStart=/bin/true\n' >"$dir/probe.service"
if ! out=$(systemd-analyze verify "$dir/probe.service" 2>&1) || [ -n "$out" ]
then
  echo "systemd-analyze cannot verify units here: skipped ($out)"
  exit 77
fi
sed -e "s#/usr/local/bin/arborctl #$arborctl #" \
    -e "s#/usr/local/bin/arbor #$arbor #" "$unit" >"$dir/arbor-collector.service"
if ! out=$(systemd-analyze verify "$dir/arbor-collector.service" 2>&1) \
   || [ -n "$out" ]; then
  echo "systemd-analyze verify: $out"
  exit 1
fi
for want in Type=notify WatchdogSec=10s Restart=on-failure \
            RestartPreventExitStatus=78 KillMode=mixed NotifyAccess=main; do
  if ! grep -qx "$want" "$dir/arbor-collector.service"; then
    echo "the unit has no $want"
    exit 1
  fi
done
echo "arbor-collector.service: verified"
