#!/bin/sh
# An adapter that claims only the reader role for PNG: label vectors must be listed as
# "not applicable", never dropped. Answers every read with "unlabeled".
req=$(cat)
case "$req" in
  *'"op":"info"'*)
    echo '{"status":"ok","name":"reader-only","version":"0","roles":["reader"],"media":{"read":["image/png"]},"persistent":false}' ;;
  *)
    echo '{"status":"ok","labels":[],"verdict":"unlabeled"}' ;;
esac
