#!/bin/sh
# An adapter whose `info` claims are the point (tests/verdicts.rs): `nothing` declares no role and
# no media (its run must have no verdict, exit 2); `mp3` declares `audio/mp3`, an alias the suite
# refuses (the harness must suggest audio/mpeg); `bad-op` declares media for an op that does not
# exist. Every other request is answered `unsupported`.
mode=${1:-nothing}
req=$(cat)
case "$req" in
  *'"op":"info"'*)
    case "$mode" in
      nothing) echo '{"status":"ok","name":"claims-nothing","version":"0","roles":[],"media":{},"persistent":false}' ;;
      mp3) echo '{"status":"ok","name":"claims-mp3","version":"0","roles":["reader"],"media":{"read":["audio/mp3"]},"persistent":false}' ;;
      bad-op) echo '{"status":"ok","name":"claims-bad-op","version":"0","roles":["reader"],"media":{"reed":["image/png"]},"persistent":false}' ;;
    esac ;;
  *)
    echo '{"status":"unsupported","message":"claims nothing"}' ;;
esac
